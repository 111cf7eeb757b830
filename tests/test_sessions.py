"""Sessions come and go: a closed tab stops its training and its model's memory is freed.

Training runs in the server's worker processes and the session keeps its trainer in the server.
"""

import time

from playground.ui.common import GARBAGE_EVERY_SECONDS

from browser import button, chromium, process_tree_usage, process_usage, streamlit_server, wait_until_idle

SETTINGS = "/?cell=LSTM&hidden_size=384&batch_size=64&seq_len=128&epochs=500&preset=Python+documentation"


def test_a_closed_tab_stops_training_and_frees_its_memory():
    with streamlit_server(options=("--server.disconnectedSessionTTL", "2"), with_process=True) as (url, server), chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + SETTINGS)
        button(page, "train_button").wait_for(timeout=30_000)
        wait_until_idle(page)
        idle_memory, _ = process_usage(server.pid)
        _, cpu_at_start = process_tree_usage(server.pid)
        button(page, "train_button").click()
        button(page, "stop_button").wait_for(timeout=10_000)
        time.sleep(3)
        training_memory, _ = process_usage(server.pid)
        _, cpu_before_close = process_tree_usage(server.pid)
        assert training_memory > idle_memory + 20  # the session's model, optimiser state and text
        assert cpu_before_close - cpu_at_start > 1.5  # the workers are counted: they have been training

        context.close()
        time.sleep(6)  # the slice running at the time ends, then the session outlives its 2 s TTL
        _, cpu_after_ttl = process_tree_usage(server.pid)
        time.sleep(3)
        _, cpu_later = process_tree_usage(server.pid)
        assert cpu_later - cpu_after_ttl < 0.5  # nothing trains any more, in the server or its workers

        # Streamlit drops an expired session when it next stores one (another tab closing), and
        # the app's next collection (at most GARBAGE_EVERY_SECONDS apart) frees its arrays.
        for _ in range(2):
            other = browser.new_context()
            other.new_page().goto(url)
            time.sleep(2)
            other.close()
            time.sleep(GARBAGE_EVERY_SECONDS)
        memory_after, _ = process_usage(server.pid)
        print(f"server: idle {idle_memory:.0f} MB, training {training_memory:.0f} MB, after the tab closed {memory_after:.0f} MB")
        assert memory_after < training_memory - 15  # the session's arrays were freed
