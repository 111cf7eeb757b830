"""What the network has learnt, in Chromium: baselines on the chart, each point's learning rate
(a cosine schedule with warm-up and dropout, from the link), the softmax step by step, copied
stretches marked, what a prediction looks back at, and the maps."""

from urllib.parse import urlencode

from browser import button, generate, new_page, open_app, train_to_the_end, wait_for, wait_until_idle

RHYME = {"epochs": 40, "hidden_size": 32, "lr_schedule": "Cosine decay", "warmup": 10, "dropout": 0.1}


def go_to(page, title):
    page.locator("[data-testid=stSidebarNavLink]").filter(has_text=title).click()
    wait_until_idle(page)


def test_what_it_learnt_shows_on_every_page(server, browser):
    page = new_page(browser)
    open_app(page, f"{server}/?{urlencode(RHYME)}")
    train_to_the_end(page)
    chart = page.locator(".js-plotly-plot").first
    rates = page.evaluate("() => Array.from(document.querySelector('.js-plotly-plot')._fullData[0].customdata)")
    assert rates[-1] < rates[len(rates) // 2] < max(rates)  # the learning rate of each point, decaying
    for name in ("uniform guess", "letter counts", "pair counts"):
        assert chart.locator("text", has_text=name).count() == 1, name
    sample = page.locator(".sample-text").last
    assert sample.inner_text() and page.get_by_text("% new").count() >= 1

    go_to(page, "Generate")
    generate(page, "Twinkle")
    assert page.locator(".sample-text").first.inner_text().startswith("Twinkle")
    page.get_by_text("Step through it: the softmax in numbers").click()
    table = page.locator("[data-testid=stExpander] [data-testid=stDataFrame]")
    table.wait_for(timeout=10_000)
    first_reading = page.locator("[data-testid=stMarkdownContainer]", has_text="Drawn with these options").inner_text()
    assert "random number u =" in first_reading
    steps_chart = page.locator("[data-testid=stExpander] .js-plotly-plot")
    assert wait_for(lambda: steps_chart.locator(".bars path").count() >= 2)

    go_to(page, "Inspect")
    shading = page.locator(".attribution")
    shading.wait_for(timeout=10_000)
    assert shading.locator("span").count() >= 2
    page.locator(".st-key-attribution_log label").click()
    wait_until_idle(page)
    for key in ("embedding_map", "hidden_map"):
        plot = page.locator(f".st-key-{key} .js-plotly-plot")
        plot.wait_for(timeout=10_000)
        assert wait_for(lambda: plot.locator(".point").count() > 5), key
    page.context.close()
