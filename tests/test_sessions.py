"""Sessions come and go, runs stay: a closed tab's run trains on for the session TTL, then is saved and paused.

Training runs in the server's worker processes; the run belongs to the browser (its owner cookie).
"""

import time

from browser import button, process_tree_usage, streamlit_server, wait_for, wait_until_idle

SETTINGS = "/?cell=LSTM&hidden_size=256&batch_size=32&seq_len=64&epochs=500&preset=Python+documentation"


def test_a_closed_tab_trains_on_for_the_ttl_then_its_run_is_paused_and_waits_for_its_owner(browser):
    with streamlit_server(options=("--server.disconnectedSessionTTL", "3"), with_process=True) as (url, server):
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + SETTINGS)
        button(page, "train_button").wait_for(timeout=30_000)
        wait_until_idle(page)
        button(page, "train_button").click()
        button(page, "stop_button").wait_for(timeout=10_000)
        time.sleep(2)
        page.close()  # the tab goes; the browser (and its cookie) stays
        _, cpu_at_close = process_tree_usage(server.pid)
        time.sleep(1.5)
        _, cpu_soon_after = process_tree_usage(server.pid)
        assert cpu_soon_after - cpu_at_close > 0.5  # within the TTL it still trains, as for a short disconnection
        time.sleep(6)  # past the TTL: saved and paused
        _, cpu_paused = process_tree_usage(server.pid)
        time.sleep(3)
        _, cpu_later = process_tree_usage(server.pid)
        assert cpu_later - cpu_paused < 0.5  # nothing trains any more, in the server or its workers

        back = context.new_page()
        back.goto(url)
        button(back, "resume_button").wait_for(timeout=30_000)
        assert "Paused" in back.locator("[data-testid=stMain]").inner_text()
        epoch_text = back.locator("[data-testid=stProgress]").inner_text()
        button(back, "resume_button").click()  # one click and it goes on
        button(back, "stop_button").wait_for(timeout=10_000)
        # the page then moves up (the note that the link's settings differ from the run's goes):
        # until its run ends the old progress bar stands beside the new one
        wait_until_idle(back)
        assert wait_for(lambda: back.locator("[data-testid=stProgress]").inner_text() != epoch_text, timeout=20)
        button(back, "stop_button").click()
        context.close()
