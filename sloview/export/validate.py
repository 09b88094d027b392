"""OpenSLO v1 validation: the rules the OpenSLO Go SDK (`oslo validate`) enforces, restated.

Every violation is collected, each with the YAML path at fault (`spec.objectives[0].target`)
and, when the file holds several documents, which document (`document 2 (SLO search-slo)`).
The rules follow the SDK's validators for v1 (pkg/openslo/v1): metadata, SLO, SLI,
Service, DataSource, AlertPolicy, AlertCondition and AlertNotificationTarget. Where sloview
is stricter it says so in a comment.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sloview.export.common import DNS_LABEL, SHORTHAND
from sloview.export.yamlio import load_documents

API_VERSION = "openslo/v1"
KINDS = (
    "SLO",
    "SLI",
    "DataSource",
    "Service",
    "AlertPolicy",
    "AlertCondition",
    "AlertNotificationTarget",
)
METHODS = ("Occurrences", "Timeslices", "RatioTimeslices")
OPERATORS = ("gt", "lt", "gte", "lte")
_LABEL_KEY = re.compile(r"^[a-zA-Z0-9]([-._a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$")
_ANNOTATION_KEY_LENGTH = re.compile(r"^(.{0,253}/)?.{0,63}$")
_ANNOTATION_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*/)?"
    r"[a-zA-Z0-9]([-._a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$"
)
DNS_HINT = (
    "must be an RFC 1123 label: at most 63 lower-case letters, digits and '-', "
    "starting and ending with a letter or digit"
)
DURATION_HINT = "must be a duration <int><m|h|d|w|M|Q|Y>, e.g. 28d or 5m (m is minutes, M months)"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: the YAML path at fault and what is wrong."""

    path: str
    message: str
    document: str = ""

    @property
    def where(self) -> str:
        """`document 2 (SLO x) spec.objectives[0].op`, or just the path."""
        return " ".join(part for part in (self.document, self.path) if part)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def validate_openslo(text: str, name: str = "YAML") -> list[Violation]:
    """Every OpenSLO v1 rule the text breaks (empty when valid); unsafe YAML raises SpecError."""
    return validate_documents(load_documents(text, name))


def validate_documents(docs: list[Any]) -> list[Violation]:
    """Every OpenSLO v1 rule the parsed documents break."""
    out: list[Violation] = []
    seen: dict[tuple[str, str], int] = {}
    for i, doc in enumerate(docs):
        label = document_label(docs, i)
        found = _collect(doc)
        kind, name = _kind_name(doc)
        if kind in KINDS and name:
            if (kind, name) in seen:
                found.append(
                    (
                        "metadata.name",
                        f"another {kind} (document {seen[(kind, name)] + 1}) has the same name",
                    )
                )
            seen.setdefault((kind, name), i)
        out.extend(Violation(path, message, label) for path, message in found)
    return out


def _collect(doc: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    _document(doc, lambda path, message: found.append((path, message)))
    return found


def document_label(docs: list[Any], i: int) -> str:
    """`document 2 (SLO search-slo)` when there are several documents, else empty."""
    if len(docs) < 2:
        return ""
    kind, name = _kind_name(docs[i])
    what = " ".join(part for part in (kind, name) if part)
    return f"document {i + 1}" + (f" ({what})" if what else "")


def _kind_name(doc: Any) -> tuple[str, str]:
    if not isinstance(doc, dict):
        return "", ""
    kind = doc.get("kind")
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return (kind if isinstance(kind, str) else ""), (name if isinstance(name, str) else "")


Add = Callable[[str, str], None]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _present(data: dict[str, Any], key: str) -> bool:
    # Go decodes `key:` (null) as absent, so null counts as not given.
    return data.get(key) is not None


def _mapping(data: dict[str, Any], key: str, path: str, add: Add, required: bool) -> Any:
    value = data.get(key)
    if value is None:
        if required:
            add(_join(path, key), "is required")
        return None
    if not isinstance(value, dict):
        add(_join(path, key), "must be a mapping")
        return None
    return value


def _list(data: dict[str, Any], key: str, path: str, add: Add) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        add(_join(path, key), "must be a list")
        return []
    return value


def _string(
    data: dict[str, Any],
    key: str,
    path: str,
    add: Add,
    *,
    required: bool = False,
    max_len: int | None = None,
    dns: bool = False,
) -> str | None:
    value = data.get(key)
    where = _join(path, key)
    if value is None or value == "":
        if required:
            add(where, "is required")
        return None
    if not isinstance(value, str):
        add(where, f"must be text, not {value!r}")
        return None
    if max_len is not None and len(value) > max_len:
        add(where, f"must be at most {max_len} characters (has {len(value)})")
    if dns and not (DNS_LABEL.match(value) and len(value) <= 63):
        add(where, f"{value!r} {DNS_HINT}")
    return value


def _number(data: dict[str, Any], key: str, path: str, add: Add) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        add(_join(path, key), f"must be a number, not {value!r}")
        return None
    return float(value)


def _bool(data: dict[str, Any], key: str, path: str, add: Add) -> bool:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        add(_join(path, key), f"must be true or false, not {value!r}")
        return False
    return bool(value)


def _choice(
    data: dict[str, Any], key: str, options: tuple[str, ...], path: str, add: Add, required: bool
) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            add(_join(path, key), "is required")
        return None
    if value not in options:
        add(_join(path, key), f"{value!r} must be one of {', '.join(options)}")
        return None
    return str(value)


def _duration(data: dict[str, Any], key: str, path: str, add: Add, required: bool) -> None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            add(_join(path, key), "is required")
        return
    # Stricter than the SDK, which accepts 0: OpenSLO specifies a positive integer.
    match = SHORTHAND.match(value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) == 0:
        add(_join(path, key), f"{value!r} {DURATION_HINT}")


def _exactly_one(data: dict[str, Any], keys: tuple[str, str], path: str, add: Add) -> None:
    given = [k for k in keys if _present(data, k)]
    if not given:
        add(path, f"exactly one of {keys[0]} and {keys[1]} must be set; neither is")
    elif len(given) > 1:
        add(path, f"exactly one of {keys[0]} and {keys[1]} must be set; both are")


# -- documents -------------------------------------------------------------------------------


def _document(doc: Any, add: Add) -> None:
    if not isinstance(doc, dict):
        add("", "must be a mapping with apiVersion, kind, metadata and spec")
        return
    version = doc.get("apiVersion")
    if version is None:
        add("apiVersion", "is required")
    elif version != API_VERSION:
        add("apiVersion", f"{version!r} must be {API_VERSION}")
    kind = doc.get("kind")
    if kind is None:
        add("kind", "is required")
        return
    if kind not in KINDS:
        add("kind", f"{kind!r} must be one of {', '.join(KINDS)}")
        return
    _metadata(doc, "", add)
    spec = _mapping(doc, "spec", "", add, required=kind != "Service")
    if spec is None:
        return
    check = {
        "SLO": _slo_spec,
        "SLI": _sli_spec,
        "Service": _described,
        "DataSource": _data_source_spec,
        "AlertPolicy": _alert_policy_spec,
        "AlertCondition": _alert_condition_spec,
        "AlertNotificationTarget": _notification_target_spec,
    }[kind]
    check(spec, "spec", add)


def _metadata(owner: dict[str, Any], path: str, add: Add) -> None:
    meta = _mapping(owner, "metadata", path, add, required=True)
    if meta is None:
        return
    where = _join(path, "metadata")
    _string(meta, "name", where, add, required=True, dns=True)
    _string(meta, "displayName", where, add, max_len=63)
    labels = _mapping(meta, "labels", where, add, required=False) or {}
    for key, value in labels.items():
        if not isinstance(key, str) or not _LABEL_KEY.match(key):
            add(f"{where}.labels", f"{key!r} is not a valid label key")
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in values):
            add(f"{where}.labels[{key!r}]", "must be text or a list of text")
    annotations = _mapping(meta, "annotations", where, add, required=False) or {}
    for key, value in annotations.items():
        ok = isinstance(key, str) and bool(
            _ANNOTATION_KEY_LENGTH.match(key) and _ANNOTATION_KEY.match(key)
        )
        if not ok:
            add(
                f"{where}.annotations",
                f"{key!r} is not a valid annotation key (e.g. my-domain.org/my-key)",
            )
        if not isinstance(value, str):
            add(f"{where}.annotations[{key!r}]", f"must be text, not {value!r} (quote it)")


def _described(spec: dict[str, Any], path: str, add: Add) -> None:
    _string(spec, "description", path, add, max_len=1050)


def _data_source_spec(spec: dict[str, Any], path: str, add: Add) -> None:
    _described(spec, path, add)
    _string(spec, "type", path, add, required=True)
    if not _present(spec, "connectionDetails"):
        add(_join(path, "connectionDetails"), "is required")


def _notification_target_spec(spec: dict[str, Any], path: str, add: Add) -> None:
    _string(spec, "target", path, add, required=True)
    _described(spec, path, add)


# -- SLI -------------------------------------------------------------------------------------


def _sli_spec(spec: dict[str, Any], path: str, add: Add) -> None:
    _described(spec, path, add)
    _exactly_one(spec, ("thresholdMetric", "ratioMetric"), path, add)
    threshold = _mapping(spec, "thresholdMetric", path, add, required=False)
    if threshold is not None:
        _metric_spec(threshold, _join(path, "thresholdMetric"), add)
    ratio = _mapping(spec, "ratioMetric", path, add, required=False)
    if ratio is not None:
        _ratio_metric(ratio, _join(path, "ratioMetric"), add)


def _ratio_metric(ratio: dict[str, Any], path: str, add: Add) -> None:
    _bool(ratio, "counter", path, add)
    has = {k: _present(ratio, k) for k in ("good", "bad", "total", "raw")}
    if has["total"] == has["raw"]:
        add(
            path,
            "exactly one of total and raw must be set; "
            + ("both are" if has["raw"] else "neither is"),
        )
        return
    if sum(has[k] for k in ("raw", "good", "bad")) > 1:
        add(path, "at most one of raw, good and bad may be set")
        return
    if has["total"]:
        if not (has["good"] or has["bad"]):
            add(path, "one of good and bad must be set with total")
        for key in ("good", "bad", "total"):
            part = _mapping(ratio, key, path, add, required=False)
            if part is not None:
                _metric_spec(part, _join(path, key), add)
        return
    raw = _mapping(ratio, "raw", path, add, required=False)
    if raw is not None:
        _metric_spec(raw, _join(path, "raw"), add)
    _choice(ratio, "rawType", ("success", "failure"), path, add, required=True)


def _metric_spec(spec: dict[str, Any], path: str, add: Add) -> None:
    source = spec.get("metricSource")
    where = _join(path, "metricSource")
    if not isinstance(source, dict):
        add(where, "is required" if source is None else "must be a mapping")
        return
    _string(source, "metricSourceRef", where, add, dns=True)
    _string(source, "type", where, add)
    inner = source.get("spec")
    if not isinstance(inner, dict) or not inner:
        add(_join(where, "spec"), "is required: a mapping with at least one key (e.g. query)")


# -- SLO -------------------------------------------------------------------------------------


def _slo_spec(spec: dict[str, Any], path: str, add: Add) -> None:
    _described(spec, path, add)
    _string(spec, "service", path, add, required=True)
    method = _choice(spec, "budgetingMethod", METHODS, path, add, required=True)
    objectives = _list(spec, "objectives", path, add)
    composite = any(
        isinstance(o, dict) and (_present(o, "indicator") or _present(o, "indicatorRef"))
        for o in objectives
    )
    has_indicator = _present(spec, "indicator") or _present(spec, "indicatorRef")
    if not composite and not has_indicator:
        add(
            path,
            "indicator or indicatorRef must be set (or, for a composite SLO, on each "
            "objective); none is",
        )
    elif composite and has_indicator:
        add(path, "indicator/indicatorRef must be set on spec or on the objectives, not both")
    inline = _indicator(spec, path, add) if has_indicator else None
    _time_windows(spec, path, add)
    # Stricter than the SDK: an SLO without objectives promises nothing to check.
    if not objectives:
        add(_join(path, "objectives"), "is required: at least one objective")
    for i, objective in enumerate(objectives):
        where = f"{_join(path, 'objectives')}[{i}]"
        if not isinstance(objective, dict):
            add(where, "must be a mapping")
            continue
        sli = inline
        if composite:
            sli = _indicator(objective, where, add)
            weight = _number(objective, "compositeWeight", where, add)
            if weight is not None and not weight > 0:
                add(_join(where, "compositeWeight"), "must be greater than 0")
        _objective(objective, where, method, sli, add)
    for i, policy in enumerate(_list(spec, "alertPolicies", path, add)):
        _alert_policy_item(policy, f"{_join(path, 'alertPolicies')}[{i}]", add)


def _indicator(owner: dict[str, Any], path: str, add: Add) -> str | None:
    """Validate indicator/indicatorRef; return `threshold`/`ratio` for an inline SLI."""
    if _present(owner, "indicator") and _present(owner, "indicatorRef"):
        add(path, "exactly one of indicator and indicatorRef must be set; both are")
        return None
    _string(owner, "indicatorRef", path, add, dns=True)
    indicator = _mapping(owner, "indicator", path, add, required=False)
    if indicator is None:
        return None
    where = _join(path, "indicator")
    _metadata(indicator, where, add)
    spec = _mapping(indicator, "spec", where, add, required=True)
    if spec is None:
        return None
    _sli_spec(spec, _join(where, "spec"), add)
    if _present(spec, "thresholdMetric") and not _present(spec, "ratioMetric"):
        return "threshold"
    if _present(spec, "ratioMetric") and not _present(spec, "thresholdMetric"):
        return "ratio"
    return None


def _time_windows(spec: dict[str, Any], path: str, add: Add) -> None:
    windows = _list(spec, "timeWindow", path, add)
    where = _join(path, "timeWindow")
    if len(windows) != 1:
        add(where, f"must hold exactly one item (has {len(windows)})")
    for i, window in enumerate(windows):
        at = f"{where}[{i}]"
        if not isinstance(window, dict):
            add(at, "must be a mapping")
            continue
        _duration(window, "duration", at, add, required=True)
        rolling = _bool(window, "isRolling", at, add)
        calendar = window.get("calendar")
        if rolling and calendar is not None:
            add(_join(at, "calendar"), "cannot be set when isRolling is true")
        if not rolling and calendar is None:
            add(_join(at, "calendar"), "must be set when isRolling is false")
        if calendar is not None:
            _calendar(calendar, _join(at, "calendar"), add)


def _calendar(calendar: Any, path: str, add: Add) -> None:
    if not isinstance(calendar, dict):
        add(path, "must be a mapping with startTime and timeZone")
        return
    start = calendar.get("startTime")
    if start is not None:
        try:
            if not isinstance(start, str) or len(start) != 19:
                raise ValueError
            dt.datetime.strptime(start, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            add(
                _join(path, "startTime"),
                f"{start!r} must be a date and time written YYYY-MM-DD HH:MM:SS (quote it)",
            )
    zone = calendar.get("timeZone")
    if zone is not None and not _is_zone(zone):
        add(_join(path, "timeZone"), f"{zone!r} must be an IANA time zone, e.g. UTC")


def _is_zone(zone: Any) -> bool:
    if not isinstance(zone, str) or not zone:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _objective(
    objective: dict[str, Any], path: str, method: str | None, sli: str | None, add: Add
) -> None:
    _string(objective, "displayName", path, add)
    _exactly_one(objective, ("target", "targetPercent"), path, add)
    target = _number(objective, "target", path, add)
    if target is not None and not 0 <= target < 1:
        add(_join(path, "target"), f"{target:g} must be in [0, 1)")
    percent = _number(objective, "targetPercent", path, add)
    if percent is not None and not 0 <= percent < 100:
        add(_join(path, "targetPercent"), f"{percent:g} must be in [0, 100)")
    _choice(objective, "op", OPERATORS, path, add, required=sli == "threshold")
    value = _number(objective, "value", path, add)
    if sli == "threshold" and value is None and objective.get("value") is None:
        add(_join(path, "value"), "is required with an inline thresholdMetric indicator")
    if sli == "ratio":
        for key in ("op", "value"):
            if _present(objective, key):
                add(
                    _join(path, key),
                    "must not be set with an inline ratioMetric indicator "
                    "(a ratio objective has only a target: remove op and value)",
                )
    if method == "Timeslices":
        slice_target = _number(objective, "timeSliceTarget", path, add)
        if objective.get("timeSliceTarget") is None:
            add(_join(path, "timeSliceTarget"), "is required with budgetingMethod Timeslices")
        elif slice_target is not None and not 0 < slice_target <= 1:
            add(_join(path, "timeSliceTarget"), f"{slice_target:g} must be in (0, 1]")
    if method in ("Timeslices", "RatioTimeslices"):
        if objective.get("timeSliceWindow") is None:
            add(_join(path, "timeSliceWindow"), f"is required with budgetingMethod {method}")
        else:
            _duration(objective, "timeSliceWindow", path, add, required=True)


# -- alerts ----------------------------------------------------------------------------------


def _inline_or_ref(
    item: Any, ref_key: str, kind: str, path: str, add: Add
) -> dict[str, Any] | None:
    """Check an item that is either `{ref_key: name}` or an inline object; return its spec."""
    if not isinstance(item, dict):
        add(path, "must be a mapping")
        return None
    has_ref = _present(item, ref_key)
    has_inline = any(_present(item, k) for k in ("kind", "metadata", "spec"))
    if has_ref == has_inline:
        add(
            path,
            f"exactly one of {ref_key} and an inline {kind} (kind, metadata, spec) "
            "must be set; " + ("both are" if has_ref else "neither is"),
        )
        return None
    if has_ref:
        _string(item, ref_key, path, add, required=True, dns=True)
        return None
    if item.get("kind") != kind:
        add(_join(path, "kind"), "is required" if item.get("kind") is None else f"must be {kind}")
    _metadata(item, path, add)
    return _mapping(item, "spec", path, add, required=True)


def _alert_policy_item(item: Any, path: str, add: Add) -> None:
    spec = _inline_or_ref(item, "alertPolicyRef", "AlertPolicy", path, add)
    if spec is not None:
        _alert_policy_spec(spec, _join(path, "spec"), add)


def _alert_policy_spec(spec: dict[str, Any], path: str, add: Add) -> None:
    _described(spec, path, add)
    for key in ("alertWhenNoData", "alertWhenResolved", "alertWhenBreaching"):
        _bool(spec, key, path, add)
    conditions = _list(spec, "conditions", path, add)
    if len(conditions) != 1:
        add(_join(path, "conditions"), f"must hold exactly one condition (has {len(conditions)})")
    for i, item in enumerate(conditions):
        at = f"{_join(path, 'conditions')}[{i}]"
        inner = _inline_or_ref(item, "conditionRef", "AlertCondition", at, add)
        if inner is not None:
            _alert_condition_spec(inner, _join(at, "spec"), add)
    targets = _list(spec, "notificationTargets", path, add)
    if not targets:
        add(_join(path, "notificationTargets"), "must hold at least one target")
    for i, item in enumerate(targets):
        at = f"{_join(path, 'notificationTargets')}[{i}]"
        inner = _inline_or_ref(item, "targetRef", "AlertNotificationTarget", at, add)
        if inner is not None:
            _notification_target_spec(inner, _join(at, "spec"), add)


def _alert_condition_spec(spec: dict[str, Any], path: str, add: Add) -> None:
    _described(spec, path, add)
    _string(spec, "severity", path, add, required=True)
    condition = _mapping(spec, "condition", path, add, required=True)
    if condition is None:
        return
    where = _join(path, "condition")
    kind = _choice(condition, "kind", ("burnrate",), where, add, required=True)
    if kind != "burnrate":
        return
    _choice(condition, "op", OPERATORS, where, add, required=True)
    if condition.get("threshold") is None:
        add(_join(where, "threshold"), "is required")
    else:
        _number(condition, "threshold", where, add)
    _duration(condition, "lookbackWindow", where, add, required=True)
    _duration(condition, "alertAfter", where, add, required=False)
