"""Composite SLOs in the app: built from the shortlist on Design, judged on Compare, exported."""

from __future__ import annotations

import pytest
import yaml

from tests.apptest import clean, navigation_like_the_server, run_app, tables

# Every rerun goes through app.py, as under the server (see tests/apptest.py).
pytestmark = pytest.mark.usefixtures(navigation_like_the_server.__name__)


def test_a_weighted_composite_from_the_shortlist_is_compared_and_exported() -> None:
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    at.text_input(key="c_name").set_value("chat-latency").run()
    at.button[0].click().run()
    at.radio(key="c_kind").set_value("availability").run()
    at.text_input(key="c_name").set_value("availability").run()
    at.button[0].click().run()
    clean(at)
    at.multiselect(key="composite_pick").set_value(["chat-latency", "availability"]).run()
    at.text_input(key="composite_name").set_value("chat-experience").run()
    at.number_input(key="composite_weight_availability").set_value(2.0).run()
    at.button(key="composite_add").click().run()
    clean(at)
    assert not at.error, [e.value for e in at.error]
    (composite,) = at.session_state["composites"]
    assert composite.weights == (1.0, 2.0)

    at.switch_page("pages/4_compare.py").run()
    clean(at)
    assert not at.error, [e.value for e in at.error]
    # The composites' worded table: the composite, its weights, periods met, its promise.
    rows = next(t for t in tables(at) if "composite" in t.columns)
    assert list(rows["composite"]) == ["chat-experience"]
    assert rows["weights"][0] == "chat-latency x1, availability x2"
    assert " of " in rows["whole periods met (weighted budget)"][0]
    assert rows["promise"][0].startswith("A composite of 2 objectives")

    at.switch_page("pages/5_export.py").run()
    clean(at)
    docs = list(yaml.safe_load_all(at.code[0].value))
    (slo_doc,) = [
        d for d in docs if d["kind"] == "SLO" and d["metadata"]["name"] == "chat-experience"
    ]
    assert [o["compositeWeight"] for o in slo_doc["spec"]["objectives"]] == [1.0, 2.0]
    assert [s.value for s in at.success] == [
        "Valid OpenSLO v1 (checked against the OpenSLO SDK's rules)."
    ]
