"""Sessions come and go: a closed tab stops its training and its model's memory is freed."""

import time

from browser import button, chromium, process_usage, streamlit_server, wait_until_idle

SETTINGS = "/?cell=LSTM&hidden_size=384&batch_size=64&seq_len=128&epochs=500&preset=Python+documentation"


def test_a_closed_tab_stops_training_and_frees_its_memory():
    with streamlit_server(options=("--server.disconnectedSessionTTL", "2"), with_process=True) as (url, server), chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + SETTINGS)
        button(page, "train_button").wait_for(timeout=30_000)
        wait_until_idle(page)
        idle_memory, _ = process_usage(server.pid)
        button(page, "train_button").click()
        button(page, "stop_button").wait_for(timeout=10_000)
        time.sleep(3)
        training_memory, cpu_before_close = process_usage(server.pid)
        assert training_memory > idle_memory + 50  # the model and its work arrays

        context.close()
        time.sleep(6)  # the slice running at the time ends, then the session outlives its 2 s TTL
        _, cpu_after_ttl = process_usage(server.pid)
        time.sleep(3)
        memory_after, cpu_later = process_usage(server.pid)
        print(f"server: idle {idle_memory:.0f} MB, training {training_memory:.0f} MB, after the tab closed {memory_after:.0f} MB; CPU in the last 3 s {cpu_later - cpu_after_ttl:.2f} s")
        assert cpu_later - cpu_after_ttl < 0.5  # nothing trains any more
        assert memory_after < training_memory - 40  # the session's arrays were freed
