"""The shortlist of candidates the room compares, with notes and decisions."""

from __future__ import annotations

import streamlit as st

from sloview.model import SLO
from sloview.session import Candidate


def items() -> list[Candidate]:
    """The shortlisted candidates, in the order they were added."""
    value = st.session_state.get("shortlist")
    return list(value) if isinstance(value, list) else []


def save(candidates: list[Candidate]) -> None:
    """Replace the shortlist."""
    st.session_state["shortlist"] = candidates


def add(slo: SLO) -> None:
    """Add a candidate (a candidate with the same name is replaced)."""
    current = [c for c in items() if c.slo.name != slo.name]
    save([*current, Candidate(slo=slo)])
