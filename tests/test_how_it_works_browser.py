"""How it works in Chromium: train a small plain RNN, open the page, press Check the gradients and read the table."""

from browser import button, new_page, open_app, train_to_the_end, wait_for, wait_until_idle

SMALL_RNN = "/?cell=RNN&hidden_size=16&epochs=3"

# The grid draws on a canvas; the same cells, in full precision, are in its accessible table.
READ_TABLE = """canvas => {
  const headers = Array.from(canvas.querySelectorAll("thead th")).map(cell => cell.textContent);
  return Array.from(canvas.querySelectorAll("tbody tr")).map(row =>
    Object.fromEntries(Array.from(row.querySelectorAll("td")).map((cell, column) => [headers[column], cell.textContent])));
}"""


def test_check_the_gradients_reads_the_engine_right_and_the_notebooks_rule_wrong(server, browser):
    page = new_page(browser)
    open_app(page, server + SMALL_RNN)
    train_to_the_end(page)
    page.locator("[data-testid=stSidebarNavLink]").filter(has_text="How it works").click()
    wait_until_idle(page)
    assert page.locator("[data-testid=stCode]", has_text="def rnn_backward(d_state, saved, params, grads):").count() == 1
    assert page.locator(".katex-display", has_text="(11)").count() == 1  # the RNN's last equation, numbered

    button(page, "check_gradients_button").click()
    grid = page.locator(".st-key-gradient_table [data-testid=stDataFrame] canvas[data-testid=data-grid-canvas]")
    grid.wait_for(timeout=30_000)
    assert wait_for(lambda: grid.locator("tbody tr").count() == 5)
    rows = {row["matrix"]: row for row in grid.evaluate(READ_TABLE)}
    assert list(rows) == ["Wx0", "Wh0", "b0", "Why", "by"]
    assert rows["Wh0"]["shape"] == "8 × 8" and rows["Wx0"]["shape"] == "28 × 8"  # the rhyme's 28 characters, hidden size 16 shrunk to 8
    for name, row in rows.items():
        assert float(row["engine"]) < 1e-5, name
        assert (float(row["notebook's rule"]) > 0.1) == (name in ("Wx0", "Wh0", "b0")), name  # wrong in the recurrent layer only
    assert page.get_by_text("worst over the entries checked").count() == 1
    assert page.locator("[data-testid=stException]").count() == 0
    page.context.close()
