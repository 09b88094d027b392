"""Compare: the shortlist side by side; mark one agreed candidate per SLI and take notes."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import streamlit as st

from sloview import charts
from sloview.engine import Scope
from sloview.errors import SloviewError
from sloview.simulate import Simulation, simulate
from sloview.ui import candidate, composite, shortlist, state
from sloview.ui.navigation import ensure_app
from sloview.wording import percent

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
        "These requests have no timestamps: candidates cannot be simulated. Map the time "
        "column on the Data page."
    )
    st.stop()

sims: dict[str, Simulation] = {}
for item in items:
    try:
        sims[item.slo.name] = simulate(Scope.bind(loaded.engine, item.slo))
    except SloviewError as exc:
        st.error(f"{item.slo.name}: {exc.one_line()}")

rows = []
for item in items:
    sim = sims.get(item.slo.name)
    if sim is None:
        continue
    o = sim.overall
    pages = sum(1 for f in sim.firings if f.rule.severity == "page")
    rows.append(
        {
            "agreed": item.agreed,
            "name": item.slo.name,
            "statement": sim.statement,
            "attainment": percent(o.attainment, 3),
            "95% CI": f"{percent(o.ci_low, 2)} to {percent(o.ci_high, 2)}",
            "periods met": f"{sim.periods_met} of {sim.periods_with_data}",
            "budget left": percent(sim.error_budget_remaining, 1),
            "alerts fired": len(sim.firings),
            "pages per month": round(sim.pages_per_month(), 1)
            if math.isfinite(sim.pages_per_month())
            else None,
            "violations missed": len(sim.missed_violations),
            "note": item.note,
        }
    )
frame = pd.DataFrame(rows)
edited = st.data_editor(
    frame,
    hide_index=True,
    width="stretch",
    key="compare_editor",
    disabled=[c for c in frame.columns if c not in ("agreed", "note")],
    column_config={
        "agreed": st.column_config.CheckboxColumn(help="One agreed candidate per kind of SLI"),
        "note": st.column_config.TextColumn(width="medium"),
        "statement": st.column_config.TextColumn(width="large"),
    },
)
by_name = {c.slo.name: c for c in items}
updated = []
agreed_kind: dict[str, str] = {}
changed = False
for record in edited.to_dict("records"):
    item = by_name[record["name"]]
    agreed, note = bool(record["agreed"]), str(record["note"] or "")
    if agreed:
        kind = item.slo.sli.kind
        if kind in agreed_kind:
            st.warning(
                f"Only one agreed {kind} SLO: {agreed_kind[kind]} is already agreed, so "
                f"{item.slo.name} was not marked."
            )
            agreed = False
        else:
            agreed_kind[kind] = item.slo.name
    changed |= agreed != item.agreed or note != item.note
    updated.append(replace(item, agreed=agreed, note=note))
if changed:
    shortlist.save(updated)

c1, c2 = st.columns(2)
with c1:
    pick = st.selectbox("candidate", list(by_name))
with c2:
    st.write("")
    b1, b2 = st.columns(2)
    if b1.button("Open in Design"):
        candidate.load_into_widgets(by_name[pick].slo)
        st.switch_page("pages/3_design.py")
    if b2.button("Remove from shortlist"):
        shortlist.save([c for c in shortlist.items() if c.slo.name != pick])
        st.rerun()

if sims:
    st.plotly_chart(charts.compare_budgets(sims), width="stretch")
    st.plotly_chart(charts.compare_margins(sims), width="stretch")

composite.render_compare(loaded.engine)
