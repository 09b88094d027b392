"""Compare: the shortlist side by side; mark one agreed candidate per SLI and take notes."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from sloview import charts
from sloview.engine import Scope
from sloview.errors import SloviewError
from sloview.session import agreement_conflicts
from sloview.simulate import Simulation, simulate
from sloview.ui import candidate, composite, registry_view, shortlist, state, tables
from sloview.ui.navigation import ensure_app

ensure_app()
st.title("Compare")
loaded = state.load()
items = shortlist.items()
if not items:
    st.info("The shortlist is empty. Add candidates with **Add to shortlist** on the Design page.")
    st.page_link("pages/3_design.py", label="Go to Design", icon=":material/target:")
    st.stop()
if not loaded.engine.has_time:
    st.error(
        "These requests have no timestamps: candidates cannot be simulated over time. Map the "
        "time column on the Data page."
    )
    st.stop()

sims: dict[str, Simulation] = {}
for item in items:
    try:
        sims[item.slo.name] = simulate(Scope.bind(loaded.engine, item.slo))
    except SloviewError as exc:
        st.error(f"{item.slo.name}: {exc.one_line()}")

# What changes how to read a row (thin data, no whole period), and decisions that contradict
# each other, stand above the table until they are resolved.
for text in dict.fromkeys(f"{name}: {w}" for name, sim in sims.items() for w in sim.warnings):
    st.warning(text, icon=":material/warning:")
for text in agreement_conflicts(items):
    st.error(text, icon=":material/rule:")

st.markdown(tables.decision_table(items, sims, share=0.9), unsafe_allow_html=True)
st.caption(
    "Attainment over the whole history (95% CI); whole periods met counts only periods the "
    "data cover whole; budget left is for the latest whole period; alerts would have fired on "
    "this history (pages wake someone up, tickets wait for working hours)."
)

st.subheader("Decisions and notes")
updated = []
changed = False
for item in items:
    c1, c2, c3 = st.columns([2, 5, 2], vertical_alignment="bottom")
    agreed = c1.checkbox("agreed", value=item.agreed, key=f"agree_{item.slo.name}")
    c1.caption(item.slo.name)
    note = c2.text_input(
        f"note on {item.slo.name}",
        value=item.note,
        key=f"note_{item.slo.name}",
        placeholder="why this one, or why not",
    )
    b1, b2 = c3.columns(2)
    if b1.button("Design", key=f"open_{item.slo.name}", help="Open it in the editor"):
        candidate.load_into_widgets(item.slo)
        st.switch_page("pages/3_design.py")
    if b2.button("Remove", key=f"remove_{item.slo.name}", help="Take it off the shortlist"):
        shortlist.save([c for c in items if c.slo.name != item.slo.name])
        st.rerun()
    changed |= agreed != item.agreed or note != item.note
    updated.append(replace(item, agreed=agreed, note=note))
if changed:
    shortlist.save(updated)
    st.rerun()

registry_view.record_agreed(items, sims)

if sims:
    st.plotly_chart(charts.compare_budgets(sims), width="stretch")
    st.plotly_chart(charts.compare_margins(sims), width="stretch")

composite.render_compare(loaded.engine)
