"""The shortlist of candidates the room compares, with notes and decisions.

A shortlist belongs to one data set (its fingerprint: the bundled sample, an upload's digest,
a connected source): loading other data starts a fresh shortlist and says so, and going back
to the first data set brings its shortlist back.
"""

from __future__ import annotations

import streamlit as st

from sloview.model import SLO
from sloview.session import Candidate
from sloview.ui import state


def _all() -> dict[str, list[Candidate]]:
    value = st.session_state.get("shortlists")
    if not isinstance(value, dict):
        value = {}
        st.session_state["shortlists"] = value
    return value


def items() -> list[Candidate]:
    """The shortlisted candidates of the current data set, in the order they were added."""
    return list(_all().get(state.dataset_key(), []))


def save(candidates: list[Candidate]) -> None:
    """Replace the current data set's shortlist."""
    _all()[state.dataset_key()] = list(candidates)


def add(slo: SLO) -> None:
    """Add a candidate (a candidate with the same name is replaced)."""
    current = [c for c in items() if c.slo.name != slo.name]
    save([*current, Candidate(slo=slo)])


def announce_change() -> None:
    """Say once, after other data were loaded, that the shortlist started afresh."""
    key = state.dataset_key()
    seen = st.session_state.get("shortlist_dataset")
    st.session_state["shortlist_dataset"] = key
    if seen is None or seen == key:
        return
    left = len(_all().get(seen, []))
    if left:
        kept = "its" if left == 1 else "their"
        st.info(
            f"Other data are loaded, so the shortlist starts fresh here; the {left} "
            f"candidate{'s' if left != 1 else ''} shortlisted on the previous data keep {kept} "
            "notes and decisions and come back when those data are loaded again.",
            icon=":material/swap_horiz:",
        )
