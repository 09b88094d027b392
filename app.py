"""sloview: the workshop app. Run with `make run` (bundled sample data opens first)."""

from __future__ import annotations

import streamlit as st

from sloview.errors import SloviewError
from sloview.ui import navigation, sidebar, state, style

app_navigation = st.navigation(navigation.pages())
# After st.navigation, which sets the page's own title: the layout must stay wide.
st.set_page_config(page_title="sloview", page_icon=":material/target:", layout="wide")
style.apply()
try:
    sidebar.render(state.load())
except SloviewError as exc:  # only the bundled sample can fail here, and it should not
    st.error(exc.one_line(app=True))
    st.stop()
try:
    app_navigation.run()
except SloviewError as exc:
    st.error(exc.one_line(app=True))
except Exception as exc:  # a bug: say so plainly, keep the room going, no traceback
    st.error(
        f"Something went wrong on this page ({type(exc).__name__}: {exc}). Your data and "
        "candidates are kept; try another setting, and please report this."
    )
