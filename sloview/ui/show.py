"""Showing a worded table in the app: wrapped to the page's width, never a sideways scroll."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sloview.ui import tables


def table(frame: pd.DataFrame) -> None:
    """A table of formatted cells (see `sloview.ui.tables`), as wrapping HTML."""
    st.markdown(tables.html(frame), unsafe_allow_html=True)
