"""The app's pages, and a guard for Streamlit's old pages/ folder mode."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

PAGE_SPECS = (
    ("pages/1_data.py", "Data", "data", ":material/upload_file:"),
    ("pages/2_explore.py", "Explore", "explore", ":material/query_stats:"),
    ("pages/3_design.py", "Design", "design", ":material/target:"),
    ("pages/4_compare.py", "Compare", "compare", ":material/compare_arrows:"),
    ("pages/5_export.py", "Export", "export", ":material/ios_share:"),
    ("pages/6_review.py", "Review", "review", ":material/fact_check:"),
)


def pages() -> list[st.Page]:
    """The pages in workshop order; Data opens first."""
    return [
        st.Page(path, title=title, url_path=url, icon=icon, default=i == 0)
        for i, (path, title, url, icon) in enumerate(PAGE_SPECS)
    ]


def ensure_app() -> None:
    """Hand over to app.py when Streamlit ran a page file on its own.

    Because a pages/ folder sits beside app.py, a fresh server runs its first request in
    Streamlit's old folder mode, executing the requested page file directly (a shared
    /design link, say) without app.py's navigation and sidebar. Declaring the navigation
    switches that mode off for the process; one rerun then goes through app.py.
    """
    if PagesManager.uses_pages_directory:
        st.navigation(pages())
        st.rerun()
