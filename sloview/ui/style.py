"""The look of the app on a projector: nothing cut off, type readable from across the room.

Streamlit cuts long metric values and labels with an ellipsis ("99.84...", "budget left
(latest..."): here they wrap instead, so a figure is never half shown. Presentation mode
enlarges the type and hides the controls a room does not need while it reads the figures.
"""

from __future__ import annotations

import streamlit as st

# Always: values and labels wrap instead of being cut; tables and charts never push the page
# sideways.
BASE_CSS = """
<style>
[data-testid="stMetricValue"] > div, [data-testid="stMetricLabel"] p,
[data-testid="stMetricLabel"] div, [data-testid="stWidgetLabel"] p,
[data-testid="stMetricDelta"] div {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: break-word;
}
[data-testid="stMetricValue"] { font-size: 2rem; line-height: 1.15; }
[data-testid="stMetricValue"] p { font-size: inherit !important; }
[data-testid="stMain"] { overflow-x: hidden; }
[data-baseweb="select"] div[value], [data-baseweb="select"] span {
  text-overflow: clip !important;
}
</style>
"""

# Presentation mode: larger type for people three metres away.
PRESENTATION_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 19px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stCaptionContainer"] { font-size: 1.05rem; }
[data-testid="stMetricValue"] { font-size: 2.4rem; }
h1 { font-size: 2.4rem !important; }
h3 { font-size: 1.7rem !important; }
</style>
"""


def presentation() -> bool:
    """Whether presentation mode is on (larger type, fewer controls)."""
    return bool(st.session_state.get("presentation", False))


def apply() -> None:
    """Add the app's stylesheet (and presentation mode's, when on) to the page."""
    st.markdown(BASE_CSS, unsafe_allow_html=True)
    if presentation():
        st.markdown(PRESENTATION_CSS, unsafe_allow_html=True)
