"""Helpers the AppTest files share: start the app, check a run, read a metric."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def run_app(timeout: float = 180) -> AppTest:
    """app.py after its first run."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    return at


def clean(at: AppTest) -> None:
    """No exception (traceback) was shown."""
    assert not at.exception, [e.value for e in at.exception]


def metric(at: AppTest, label: str) -> str:
    """The value of the metric with this label."""
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture
def navigation_like_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run app.py on every rerun, as the server does once st.navigation has been called.

    AppTest resets Streamlit's "pages/ folder" flag before each run, so without this it would
    rerun the last page file directly (old-style multipage apps) and skip app.py's sidebar.
    """
    original = PagesManager.__init__

    def init(self: PagesManager, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
