"""OpenSLO v1 validation (each rule of the OpenSLO Go SDK has a failing case) and safe YAML."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from sloview.errors import SpecError
from sloview.export import Violation, load_documents, validate_documents, validate_openslo


def _source() -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": "up"}}}


SLO_DOC: dict[str, Any] = {
    "apiVersion": "openslo/v1",
    "kind": "SLO",
    "metadata": {"name": "search-slo", "displayName": "Searching time"},
    "spec": {
        "description": "Searches are fast.",
        "service": "web-shop",
        "indicator": {
            "metadata": {"name": "search-latency"},
            "spec": {"thresholdMetric": _source()},
        },
        "timeWindow": [{"duration": "2w", "isRolling": True}],
        "budgetingMethod": "Occurrences",
        "objectives": [{"op": "lt", "value": 500, "target": 0.99}],
    },
}
RATIO = {"ratioMetric": {"counter": True, "good": _source(), "total": _source()}}
POLICY_DOC: dict[str, Any] = {
    "apiVersion": "openslo/v1",
    "kind": "AlertPolicy",
    "metadata": {"name": "fast-burn"},
    "spec": {
        "alertWhenBreaching": True,
        "conditions": [{"conditionRef": "burn-1h"}],
        "notificationTargets": [{"targetRef": "pager"}],
    },
}
CONDITION_DOC: dict[str, Any] = {
    "apiVersion": "openslo/v1",
    "kind": "AlertCondition",
    "metadata": {"name": "burn-1h"},
    "spec": {
        "severity": "page",
        "condition": {
            "kind": "burnrate",
            "op": "gt",
            "threshold": 14.4,
            "lookbackWindow": "1h",
            "alertAfter": "5m",
        },
    },
}
OTHER_DOCS: dict[str, dict[str, Any]] = {
    "Service": {"spec": {"description": "The shop."}},
    "DataSource": {"spec": {"type": "Prometheus", "connectionDetails": {"url": "http://p"}}},
    "AlertNotificationTarget": {"spec": {"target": "pagerduty", "description": "on call"}},
    "SLI": {"spec": copy.deepcopy(RATIO)},
}


def _other(kind: str) -> dict[str, Any]:
    return {
        "apiVersion": "openslo/v1",
        "kind": kind,
        "metadata": {"name": "thing"},
        **copy.deepcopy(OTHER_DOCS[kind]),
    }


Edit = Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Edit:
    """Set (or with value ... delete) a dotted path; `[i]` indexes lists."""

    def edit(doc: dict[str, Any]) -> None:
        parts = path.replace("[", ".[").split(".")
        node: Any = doc
        for part in parts[:-1]:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        last = parts[-1]
        key: Any = int(last[1:-1]) if last.startswith("[") else last
        if value is ...:
            del node[key]
        else:
            node[key] = value

    return edit


def _ratio(doc: dict[str, Any]) -> None:
    doc["spec"]["indicator"]["spec"] = copy.deepcopy(RATIO)
    doc["spec"]["objectives"] = [{"target": 0.99}]


def _then(*edits: Edit) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        for e in edits:
            e(doc)

    return edit


IND = "spec.indicator"
SLI_SPEC = f"{IND}.spec"
OBJ = "spec.objectives[0]"

# (id, edit of the valid SLO, expected path, a piece of the message)
SLO_RULES: list[tuple[str, Edit, str, str]] = [
    ("apiVersion-required", _set("apiVersion", ...), "apiVersion", "is required"),
    ("apiVersion-v1", _set("apiVersion", "openslo/v2"), "apiVersion", "must be openslo/v1"),
    ("kind-required", _set("kind", ...), "kind", "is required"),
    ("kind-known", _set("kind", "Slo"), "kind", "must be one of SLO"),
    ("metadata-required", _set("metadata", ...), "metadata", "is required"),
    ("name-required", _set("metadata.name", ...), "metadata.name", "is required"),
    ("name-rfc1123", _set("metadata.name", "Search_SLO"), "metadata.name", "RFC 1123"),
    ("name-63", _set("metadata.name", "a" * 64), "metadata.name", "RFC 1123"),
    (
        "displayName-63",
        _set("metadata.displayName", "x" * 64),
        "metadata.displayName",
        "at most 63",
    ),
    ("label-key", _set("metadata.labels", {"-bad": "x"}), "metadata.labels", "label key"),
    (
        "annotation-key",
        _set("metadata.annotations", {"sloview.dev/": "x"}),
        "metadata.annotations",
        "annotation key",
    ),
    (
        "annotation-text",
        _set("metadata.annotations", {"sloview.dev/min-events": 5}),
        "metadata.annotations['sloview.dev/min-events']",
        "must be text",
    ),
    ("description-1050", _set("spec.description", "x" * 1051), "spec.description", "at most 1050"),
    ("service-required", _set("spec.service", ...), "spec.service", "is required"),
    ("method-required", _set("spec.budgetingMethod", ...), "spec.budgetingMethod", "is required"),
    ("method-known", _set("spec.budgetingMethod", "Weekly"), "spec.budgetingMethod", "one of"),
    ("indicator-none", _set(IND, ...), "spec", "indicator or indicatorRef must be set"),
    ("indicator-both", _set("spec.indicatorRef", "x"), "spec", "both are"),
    (
        "indicatorRef-rfc1123",
        _then(_set(IND, ...), _set("spec.indicatorRef", "Bad Ref")),
        "spec.indicatorRef",
        "RFC 1123",
    ),
    ("sli-metadata", _set(f"{IND}.metadata", ...), f"{IND}.metadata", "is required"),
    ("sli-name", _set(f"{IND}.metadata.name", "X"), f"{IND}.metadata.name", "RFC 1123"),
    ("sli-metric-none", _set(f"{SLI_SPEC}.thresholdMetric", ...), SLI_SPEC, "neither is"),
    (
        "sli-metric-both",
        _set(f"{SLI_SPEC}.ratioMetric", RATIO["ratioMetric"]),
        SLI_SPEC,
        "both are",
    ),
    (
        "metricSource-required",
        _set(f"{SLI_SPEC}.thresholdMetric.metricSource", ...),
        f"{SLI_SPEC}.thresholdMetric.metricSource",
        "is required",
    ),
    (
        "metricSource-spec-key",
        _set(f"{SLI_SPEC}.thresholdMetric.metricSource.spec", {}),
        f"{SLI_SPEC}.thresholdMetric.metricSource.spec",
        "at least one key",
    ),
    (
        "metricSourceRef-rfc1123",
        _set(f"{SLI_SPEC}.thresholdMetric.metricSource.metricSourceRef", "My Prom"),
        f"{SLI_SPEC}.thresholdMetric.metricSource.metricSourceRef",
        "RFC 1123",
    ),
    (
        "ratio-total-or-raw",
        _then(_ratio, _set(f"{SLI_SPEC}.ratioMetric.total", ...)),
        f"{SLI_SPEC}.ratioMetric",
        "exactly one of total and raw",
    ),
    (
        "ratio-good-and-bad",
        _then(_ratio, _set(f"{SLI_SPEC}.ratioMetric.bad", _source())),
        f"{SLI_SPEC}.ratioMetric",
        "at most one of raw, good and bad",
    ),
    (
        "ratio-good-or-bad",
        _then(_ratio, _set(f"{SLI_SPEC}.ratioMetric.good", ...)),
        f"{SLI_SPEC}.ratioMetric",
        "one of good and bad must be set",
    ),
    (
        "ratio-rawType",
        _then(
            _ratio,
            _set(f"{SLI_SPEC}.ratioMetric", {"counter": False, "raw": _source()}),
        ),
        f"{SLI_SPEC}.ratioMetric.rawType",
        "is required",
    ),
    (
        "ratio-rawType-known",
        _then(
            _ratio,
            _set(f"{SLI_SPEC}.ratioMetric", {"raw": _source(), "rawType": "good"}),
        ),
        f"{SLI_SPEC}.ratioMetric.rawType",
        "one of success, failure",
    ),
    (
        "ratio-counter-bool",
        _then(_ratio, _set(f"{SLI_SPEC}.ratioMetric.counter", "yes")),
        f"{SLI_SPEC}.ratioMetric.counter",
        "true or false",
    ),
    ("timeWindow-required", _set("spec.timeWindow", ...), "spec.timeWindow", "exactly one item"),
    (
        "timeWindow-one",
        _set("spec.timeWindow", [{"duration": "1d", "isRolling": True}] * 2),
        "spec.timeWindow",
        "exactly one item (has 2)",
    ),
    (
        "duration-required",
        _set("spec.timeWindow[0].duration", ...),
        "spec.timeWindow[0].duration",
        "is required",
    ),
    (
        "duration-seconds",
        _set("spec.timeWindow[0].duration", "30s"),
        "spec.timeWindow[0].duration",
        "<int><m|h|d|w|M|Q|Y>",
    ),
    (
        "duration-words",
        _set("spec.timeWindow[0].duration", "28 days"),
        "spec.timeWindow[0].duration",
        "<int><m|h|d|w|M|Q|Y>",
    ),
    (
        "duration-zero",
        _set("spec.timeWindow[0].duration", "0d"),
        "spec.timeWindow[0].duration",
        "<int><m|h|d|w|M|Q|Y>",
    ),
    (
        "calendar-forbidden-when-rolling",
        _set(
            "spec.timeWindow[0].calendar",
            {"startTime": "2024-01-01 00:00:00", "timeZone": "UTC"},
        ),
        "spec.timeWindow[0].calendar",
        "cannot be set when isRolling is true",
    ),
    (
        "calendar-required-when-not-rolling",
        _set("spec.timeWindow[0].isRolling", False),
        "spec.timeWindow[0].calendar",
        "must be set when isRolling is false",
    ),
    (
        "startTime-format",
        _set(
            "spec.timeWindow[0]",
            {
                "duration": "1M",
                "isRolling": False,
                "calendar": {"startTime": "2024-01-01T00:00:00Z", "timeZone": "UTC"},
            },
        ),
        "spec.timeWindow[0].calendar.startTime",
        "YYYY-MM-DD HH:MM:SS",
    ),
    (
        "timeZone-iana",
        _set(
            "spec.timeWindow[0]",
            {
                "duration": "1M",
                "isRolling": False,
                "calendar": {"startTime": "2024-01-01 00:00:00", "timeZone": "Mars/Olympus"},
            },
        ),
        "spec.timeWindow[0].calendar.timeZone",
        "IANA time zone",
    ),
    ("objectives-required", _set("spec.objectives", []), "spec.objectives", "at least one"),
    ("target-or-percent", _set(f"{OBJ}.target", ...), OBJ, "neither is"),
    ("target-and-percent", _set(f"{OBJ}.targetPercent", 99.0), OBJ, "both are"),
    ("target-below-1", _set(f"{OBJ}.target", 1.0), f"{OBJ}.target", "must be in [0, 1)"),
    ("target-not-negative", _set(f"{OBJ}.target", -0.1), f"{OBJ}.target", "must be in [0, 1)"),
    ("target-number", _set(f"{OBJ}.target", "99%"), f"{OBJ}.target", "must be a number"),
    (
        "targetPercent-range",
        _then(_set(f"{OBJ}.target", ...), _set(f"{OBJ}.targetPercent", 100)),
        f"{OBJ}.targetPercent",
        "must be in [0, 100)",
    ),
    ("op-known", _set(f"{OBJ}.op", "eq"), f"{OBJ}.op", "must be one of gt, lt, gte, lte"),
    ("threshold-needs-op", _set(f"{OBJ}.op", ...), f"{OBJ}.op", "is required"),
    ("threshold-needs-value", _set(f"{OBJ}.value", ...), f"{OBJ}.value", "is required"),
    (
        "ratio-forbids-op",
        _then(_ratio, _set(f"{OBJ}.op", "gt")),
        f"{OBJ}.op",
        "must not be set with an inline ratioMetric",
    ),
    (
        "ratio-forbids-value",
        _then(_ratio, _set(f"{OBJ}.value", 1)),
        f"{OBJ}.value",
        "must not be set with an inline ratioMetric",
    ),
    (
        "timeslices-needs-slice-target",
        _then(_set("spec.budgetingMethod", "Timeslices"), _set(f"{OBJ}.timeSliceWindow", "5m")),
        f"{OBJ}.timeSliceTarget",
        "is required with budgetingMethod Timeslices",
    ),
    (
        "timeslices-slice-target-above-0",
        _then(
            _set("spec.budgetingMethod", "Timeslices"),
            _set(f"{OBJ}.timeSliceWindow", "5m"),
            _set(f"{OBJ}.timeSliceTarget", 0),
        ),
        f"{OBJ}.timeSliceTarget",
        "must be in (0, 1]",
    ),
    (
        "timeslices-slice-target-at-most-1",
        _then(
            _set("spec.budgetingMethod", "Timeslices"),
            _set(f"{OBJ}.timeSliceWindow", "5m"),
            _set(f"{OBJ}.timeSliceTarget", 1.5),
        ),
        f"{OBJ}.timeSliceTarget",
        "must be in (0, 1]",
    ),
    (
        "timeslices-needs-window",
        _then(_set("spec.budgetingMethod", "Timeslices"), _set(f"{OBJ}.timeSliceTarget", 0.9)),
        f"{OBJ}.timeSliceWindow",
        "is required with budgetingMethod Timeslices",
    ),
    (
        "ratio-timeslices-needs-window",
        _set("spec.budgetingMethod", "RatioTimeslices"),
        f"{OBJ}.timeSliceWindow",
        "is required with budgetingMethod RatioTimeslices",
    ),
    (
        "timeSliceWindow-shorthand",
        _then(
            _set("spec.budgetingMethod", "RatioTimeslices"), _set(f"{OBJ}.timeSliceWindow", "5s")
        ),
        f"{OBJ}.timeSliceWindow",
        "<int><m|h|d|w|M|Q|Y>",
    ),
    (
        "composite-and-indicator",
        _set(f"{OBJ}.indicatorRef", "other"),
        "spec",
        "on spec or on the objectives, not both",
    ),
    (
        "composite-weight",
        _then(
            _set(IND, ...), _set(f"{OBJ}.indicatorRef", "other"), _set(f"{OBJ}.compositeWeight", 0)
        ),
        f"{OBJ}.compositeWeight",
        "greater than 0",
    ),
    (
        "alertPolicy-ref-or-inline",
        _set("spec.alertPolicies", [{}]),
        "spec.alertPolicies[0]",
        "exactly one of alertPolicyRef and an inline AlertPolicy",
    ),
    (
        "alertPolicyRef-rfc1123",
        _set("spec.alertPolicies", [{"alertPolicyRef": "Fast Burn"}]),
        "spec.alertPolicies[0].alertPolicyRef",
        "RFC 1123",
    ),
    (
        "inline-alertPolicy-kind",
        _set(
            "spec.alertPolicies",
            [{"kind": "Policy", "metadata": {"name": "p"}, "spec": POLICY_DOC["spec"]}],
        ),
        "spec.alertPolicies[0].kind",
        "must be AlertPolicy",
    ),
    ("spec-required", _set("spec", ...), "spec", "is required"),
]


@pytest.mark.parametrize(
    ("edit", "path", "message"),
    [pytest.param(e, p, m, id=i) for i, e, p, m in SLO_RULES],
)
def test_each_slo_rule_reports_its_path(edit: Edit, path: str, message: str) -> None:
    doc = copy.deepcopy(SLO_DOC)
    edit(doc)
    violations = validate_documents([doc])
    assert any(v.path == path and message in v.message for v in violations), violations


# (id, kind, edit, path, message) for the other kinds
OTHER_RULES: list[tuple[str, str, Edit, str, str]] = [
    (
        "policy-one-condition",
        "AlertPolicy",
        _set("spec.conditions", [{"conditionRef": "a"}, {"conditionRef": "b"}]),
        "spec.conditions",
        "exactly one condition (has 2)",
    ),
    (
        "policy-no-condition",
        "AlertPolicy",
        _set("spec.conditions", ...),
        "spec.conditions",
        "exactly one condition (has 0)",
    ),
    (
        "policy-targets",
        "AlertPolicy",
        _set("spec.notificationTargets", []),
        "spec.notificationTargets",
        "at least one target",
    ),
    (
        "policy-condition-form",
        "AlertPolicy",
        _set("spec.conditions", [{"severity": "x"}]),
        "spec.conditions[0]",
        "exactly one of conditionRef and an inline AlertCondition",
    ),
    (
        "policy-inline-condition-kind",
        "AlertPolicy",
        _set(
            "spec.conditions",
            [{"kind": "Condition", "metadata": {"name": "c"}, "spec": CONDITION_DOC["spec"]}],
        ),
        "spec.conditions[0].kind",
        "must be AlertCondition",
    ),
    (
        "policy-inline-condition-rules",
        "AlertPolicy",
        _set(
            "spec.conditions",
            [
                {
                    "kind": "AlertCondition",
                    "metadata": {"name": "c"},
                    "spec": {"condition": CONDITION_DOC["spec"]["condition"]},
                }
            ],
        ),
        "spec.conditions[0].spec.severity",
        "is required",
    ),
    (
        "policy-target-ref",
        "AlertPolicy",
        _set("spec.notificationTargets", [{"targetRef": "On Call"}]),
        "spec.notificationTargets[0].targetRef",
        "RFC 1123",
    ),
    (
        "policy-bool",
        "AlertPolicy",
        _set("spec.alertWhenNoData", "yes"),
        "spec.alertWhenNoData",
        "true or false",
    ),
    (
        "policy-description",
        "AlertPolicy",
        _set("spec.description", "x" * 1051),
        "spec.description",
        "at most 1050",
    ),
    (
        "condition-severity",
        "AlertCondition",
        _set("spec.severity", ...),
        "spec.severity",
        "is required",
    ),
    (
        "condition-required",
        "AlertCondition",
        _set("spec.condition", ...),
        "spec.condition",
        "is required",
    ),
    (
        "condition-kind",
        "AlertCondition",
        _set("spec.condition.kind", "threshold"),
        "spec.condition.kind",
        "must be one of burnrate",
    ),
    (
        "condition-op",
        "AlertCondition",
        _set("spec.condition.op", ...),
        "spec.condition.op",
        "is required",
    ),
    (
        "condition-threshold",
        "AlertCondition",
        _set("spec.condition.threshold", ...),
        "spec.condition.threshold",
        "is required",
    ),
    (
        "condition-threshold-number",
        "AlertCondition",
        _set("spec.condition.threshold", "high"),
        "spec.condition.threshold",
        "must be a number",
    ),
    (
        "condition-lookback",
        "AlertCondition",
        _set("spec.condition.lookbackWindow", ...),
        "spec.condition.lookbackWindow",
        "is required",
    ),
    (
        "condition-lookback-shorthand",
        "AlertCondition",
        _set("spec.condition.lookbackWindow", "1 hour"),
        "spec.condition.lookbackWindow",
        "<int><m|h|d|w|M|Q|Y>",
    ),
    (
        "condition-alertAfter-shorthand",
        "AlertCondition",
        _set("spec.condition.alertAfter", "30s"),
        "spec.condition.alertAfter",
        "<int><m|h|d|w|M|Q|Y>",
    ),
    (
        "service-description",
        "Service",
        _set("spec.description", "x" * 1051),
        "spec.description",
        "at most 1050",
    ),
    ("datasource-type", "DataSource", _set("spec.type", ...), "spec.type", "is required"),
    (
        "datasource-connection",
        "DataSource",
        _set("spec.connectionDetails", ...),
        "spec.connectionDetails",
        "is required",
    ),
    (
        "target-target",
        "AlertNotificationTarget",
        _set("spec.target", ...),
        "spec.target",
        "is required",
    ),
    (
        "target-description",
        "AlertNotificationTarget",
        _set("spec.description", "x" * 1051),
        "spec.description",
        "at most 1050",
    ),
    ("sli-kind-metric", "SLI", _set("spec.ratioMetric", ...), "spec", "neither is"),
    (
        "sli-description",
        "SLI",
        _set("spec.description", "x" * 1051),
        "spec.description",
        "at most 1050",
    ),
]


def _valid(kind: str) -> dict[str, Any]:
    if kind == "AlertPolicy":
        return copy.deepcopy(POLICY_DOC)
    if kind == "AlertCondition":
        return copy.deepcopy(CONDITION_DOC)
    return _other(kind)


@pytest.mark.parametrize(
    ("kind", "edit", "path", "message"),
    [pytest.param(k, e, p, m, id=i) for i, k, e, p, m in OTHER_RULES],
)
def test_each_rule_of_the_other_kinds_reports_its_path(
    kind: str, edit: Edit, path: str, message: str
) -> None:
    doc = _valid(kind)
    assert validate_documents([copy.deepcopy(doc)]) == []
    edit(doc)
    violations = validate_documents([doc])
    assert any(v.path == path and message in v.message for v in violations), violations


def test_valid_documents_of_every_kind_pass() -> None:
    docs = [SLO_DOC, POLICY_DOC, CONDITION_DOC, *(_other(k) for k in OTHER_DOCS)]
    assert validate_openslo(yaml.safe_dump_all(docs)) == []


def test_all_violations_are_collected_with_the_document_named() -> None:
    bad = copy.deepcopy(SLO_DOC)
    _ratio(bad)
    bad["spec"]["objectives"] = [{"op": "gt", "target": 1.2}]
    bad["spec"]["timeWindow"] = []
    text = yaml.safe_dump_all([_other("Service"), bad, _other("Service")])
    violations = validate_openslo(text)
    assert [str(v) for v in violations] == [
        "document 2 (SLO search-slo) spec.timeWindow: must hold exactly one item (has 0)",
        "document 2 (SLO search-slo) spec.objectives[0].target: 1.2 must be in [0, 1)",
        "document 2 (SLO search-slo) spec.objectives[0].op: must not be set with an inline "
        "ratioMetric indicator (a ratio objective has only a target: remove op and value)",
        "document 3 (Service thing) metadata.name: another Service (document 1) has the same name",
    ]
    assert violations[1] == Violation(
        "spec.objectives[0].target", "1.2 must be in [0, 1)", "document 2 (SLO search-slo)"
    )


def test_a_single_document_has_plain_paths_and_non_mappings_are_named() -> None:
    (violation,) = validate_documents([["not", "a", "mapping"]])
    assert str(violation) == "must be a mapping with apiVersion, kind, metadata and spec"
    (violation,) = validate_openslo("apiVersion: openslo/v1\nkind: Service\nmetadata: {name: A}\n")
    assert str(violation).startswith("metadata.name: 'A' must be an RFC 1123 label")


def test_unquoted_start_time_is_judged_as_written() -> None:
    # YAML 1.2 (Go) has no timestamps: the unquoted text is what the SDK checks.
    text = yaml.safe_dump(SLO_DOC).replace(
        "  - duration: 2w\n    isRolling: true\n",
        "  - duration: 1w\n    isRolling: false\n    calendar:\n"
        "      startTime: 2022-01-01 12:00:00\n      timeZone: America/New_York\n",
    )
    assert "startTime: 2022-01-01 12:00:00" in text
    assert validate_openslo(text) == []
    assert load_documents(text)[0]["spec"]["timeWindow"][0]["calendar"]["startTime"] == (
        "2022-01-01 12:00:00"
    )


# -- unsafe YAML -----------------------------------------------------------------------------

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{b}: &{b} [{', '.join(['*' + a] * 9)}]"
            for a, b in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BILLION_LAUGHS, "expands to more than 200,000 values through YAML aliases"),
        ("a: &a [*a]\n", "alias that refers to itself"),
        ("kind: !!python/object/apply:os.system ['echo pwned']\n", "unsupported YAML tag"),
        ("kind: !!python/name:os.system\n", "unsupported YAML tag '!!python/name:os.system'"),
        ("x: !Ref other\n", "unsupported YAML tag '!Ref'"),
        ("x: !!binary aGk=\n", "unsupported YAML tag '!!binary'"),
        ("a: 1\na: 2\n", "duplicate key 'a'"),
        ("a: [1, 2\n", "not valid YAML"),
        ("[" * 5000 + "]" * 5000, "nested more than 64 levels deep"),
    ],
    ids=[
        "billion-laughs",
        "recursive",
        "python-apply",
        "python-name",
        "local-tag",
        "binary",
        "duplicate-key",
        "broken",
        "deep",
    ],
)
def test_unsafe_yaml_is_refused_quickly_with_one_line(text: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(SpecError, match=message) as info:
        validate_openslo(text, "slo.yaml")
    assert time.perf_counter() - started < 1.0
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("slo.yaml")


def test_aliases_within_the_limit_and_merge_keys_still_work() -> None:
    text = "base: &b {service: shop, x: 1}\nslo:\n  <<: *b\n  x: 2\nother: *b\n"
    (doc,) = load_documents(text)
    assert doc["slo"] == {"service": "shop", "x": 2}
    assert doc["other"] == {"service": "shop", "x": 1}
