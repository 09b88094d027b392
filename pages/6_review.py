"""Review: the agreed SLOs from the registry checked against the loaded data, with the trend
across past reviews, a suggestion, and the decisions to record."""

from __future__ import annotations

import streamlit as st

from sloview.errors import SloviewError
from sloview.review import Review, review
from sloview.ui import registry_view, state
from sloview.ui.navigation import ensure_app

ensure_app()
st.title("Review")
st.caption(
    "Check the SLOs agreed earlier against the data loaded now (a new month, say): met or "
    "missed, the trend across reviews, and whether to keep, tighten or loosen them. The same "
    "review runs unattended with `sloview review`."
)
loaded = state.load()
registry = registry_view.open_registry()
if registry is None:
    st.stop()
names = registry.names()
if not names:
    st.info(
        "No SLO is agreed yet. Tick **agreed** on the Compare page and record it, or run "
        "`sloview registry add FILE --by NAME`."
    )
    st.page_link("pages/4_compare.py", label="Go to Compare", icon=":material/compare_arrows:")
    st.stop()
if not loaded.engine.has_time:
    st.error(
        "These requests have no timestamps: a review needs the period they cover. Map the time "
        "column on the Data page."
    )
    st.stop()

c1, c2 = st.columns([3, 2])
picked = c1.multiselect("agreed SLOs to review", names, default=names, key="review_names")
reviewer = c2.text_input("reviewed by", key="reviewer", placeholder="your name")
st.caption(f"Registry: {registry.describe()}; data: {loaded.source_name}.")

reviews: list[Review] = []
for name in picked:
    agreed = registry.latest(name)
    try:
        reviews.append(review(loaded.engine, agreed, previous=tuple(registry.reviews(name))))
    except SloviewError as exc:
        st.error(exc.one_line())

for r in reviews:
    registry_view.review_panel(registry, r, reviewer)

if reviews:
    registry_view.review_report(loaded, registry, reviews)
