import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The run store of the tests' own training service (AppTest), never the app's .data/
os.environ["CHAR_RNN_DATA_DIR"] = tempfile.mkdtemp(prefix="char-rnn-tests-")

from browser import chromium, new_page, streamlit_server  # noqa: E402
from streamlit.runtime.pages_manager import PagesManager  # noqa: E402
from streamlit.testing.v1 import app_test  # noqa: E402


class _NavigatingPagesManager(PagesManager):
    """AppTest, on every run, lets Streamlit guess from the pages/ folder that this is an app of
    the old kind, and then runs a page without the entry script (streamlit_app.main: the lesson
    panel, the room, the sidebar's progress). The server's lifespan says it is not; so does this."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


app_test.PagesManager = _NavigatingPagesManager


@pytest.fixture(scope="module")
def server():
    """The app served by `streamlit run` on a free loopback port, for one test module."""
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    """A page in a fresh browser context, closed after the test."""
    page = new_page(browser)
    yield page
    page.context.close()
