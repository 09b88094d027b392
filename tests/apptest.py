"""Helpers the AppTest files share: start the app, check a run, read a metric."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
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


class _TableParser(HTMLParser):
    """The rows of the `sv-table` HTML tables the pages draw (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None
        self.row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and "sv-table" in (dict(attrs).get("class") or ""):
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[-1].append(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def tables(at: AppTest) -> list[pd.DataFrame]:
    """Every worded table on the page, as text frames (columns as the room reads them)."""
    found = []
    for m in at.markdown:
        if "sv-table" not in m.value:
            continue
        parser = _TableParser()
        parser.feed(m.value)
        for rows in parser.tables:
            found.append(pd.DataFrame(rows[1:], columns=rows[0]))
    return found
