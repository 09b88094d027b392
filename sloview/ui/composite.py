"""Composite SLOs in the app: built from shortlisted candidates on Design, judged on Compare,
exported as OpenSLO composites. The pages call the three `render_*` functions only.

A composite lives in the session beside the shortlist (`composites`), so the shortlist and
its candidates stay as they are; its verdict is OpenSLO's (sloview.simulate.composite).
"""

from __future__ import annotations

import streamlit as st

from sloview import charts
from sloview.composite_slo import CompositeSLO
from sloview.engine import Engine
from sloview.errors import SloviewError
from sloview.simulate import CompositeSimulation, simulate_composite
from sloview.ui import shortlist, show, tables

KEY = "composites"


def items() -> list[CompositeSLO]:
    """The composites built in this session, in the order they were added."""
    value = st.session_state.get(KEY)
    return list(value) if isinstance(value, list) else []


def save(composites: list[CompositeSLO]) -> None:
    """Replace the composites."""
    st.session_state[KEY] = composites


def render_editor() -> None:
    """Design page: combine shortlisted candidates (same window) into a weighted composite."""
    candidates = {c.slo.name: c.slo for c in shortlist.items()}
    with st.expander("Composite SLO: combine shortlisted candidates (OpenSLO composite)"):
        st.caption(
            "The composite's error budget burns at the weighted sum of its objectives' burn "
            "rates, as OpenSLO v1 defines composites: a period is met while that sum stays "
            "within the budget. Objectives share one window."
        )
        if len(candidates) < 2:
            st.info("Shortlist at least two candidates to combine them.")
            return
        picked = st.multiselect("objectives", list(candidates), key="composite_pick")
        name = st.text_input("composite name", "experience", key="composite_name")
        weights = []
        columns = st.columns(max(1, len(picked)))
        for column, objective in zip(columns, picked, strict=False):
            weights.append(
                column.number_input(
                    f"weight of {objective}",
                    min_value=0.01,
                    value=1.0,
                    step=0.25,
                    key=f"composite_weight_{objective}",
                )
            )
        if st.button("Add composite", key="composite_add", disabled=len(picked) < 2):
            try:
                composite = CompositeSLO(
                    name=name.strip(),
                    objectives=tuple(candidates[p] for p in picked),
                    weights=tuple(float(w) for w in weights),
                )
            except SloviewError as exc:
                st.error(exc.one_line())
            else:
                save([*(c for c in items() if c.name != composite.name), composite])
                st.toast(f"{composite.name} added: compare it on the Compare page")


def simulations(engine: Engine) -> dict[str, CompositeSimulation]:
    """Every composite simulated on the loaded data (errors shown, not raised)."""
    out = {}
    for composite in items():
        try:
            out[composite.name] = simulate_composite(engine, composite)
        except SloviewError as exc:
            st.error(f"{composite.name}: {exc.one_line()}")
    return out


def render_compare(engine: Engine) -> None:
    """Compare page: the composites side by side, like the candidates above them."""
    sims = simulations(engine)
    if not sims:
        return
    st.subheader("Composite SLOs")
    show.table(tables.composites(sims))
    remove = st.selectbox("composite", list(sims), key="composite_remove_pick")
    if st.button("Remove composite", key="composite_remove"):
        save([c for c in items() if c.name != remove])
        st.rerun()
    st.plotly_chart(
        charts.budget_lines(
            {name: sim.budget for name, sim in sims.items()},
            "Composite error budget remaining (weighted sum of the objectives' burn)",
        ),
        width="stretch",
    )
