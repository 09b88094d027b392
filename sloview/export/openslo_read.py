"""OpenSLO v1 back into sloview SLOs (the writer is `openslo.py`).

Reading takes what sloview wrote back to an equal SLO, and reads files from other tools
with defaults: a ratio indicator is availability unless its good query counts a histogram
bucket (`le="0.3"` -> latency under 300 ms); a threshold indicator is latency in ms (or
seconds for `histogram_quantile` over a `_seconds` histogram); each objective becomes one
SLO. Files that break OpenSLO's rules are refused with the first rule's YAML path.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

from sloview.composite_slo import CompositeSLO
from sloview.errors import SpecError
from sloview.export.common import (
    SHORTHAND_SECONDS,
    dns_name,
    parse_shorthand,
    shorthand_seconds,
)
from sloview.export.openslo import CALENDAR_OF, A
from sloview.export.openslo_composite import read_annotation
from sloview.export.source import bucket_threshold_ms
from sloview.export.validate import document_label, validate_documents
from sloview.ingest.table import LATENCY, LATENCY_COLUMNS
from sloview.model import (
    SLI,
    SLI_KINDS,
    SLO,
    THROUGHPUT_UNITS,
    AlertWindow,
    Budgeting,
    Condition,
    Exclusion,
    Objective,
    TimeWindow,
    default_alerts,
)

_QUANTILE = re.compile(r"histogram_quantile\s*\(\s*([0-9.]+)")


class _Context:
    """The documents of one file, looked up by kind and name; paths name the document."""

    def __init__(self, docs: list[Any]) -> None:
        self.docs = docs
        self.by_name: dict[tuple[str, str], int] = {}
        for i, doc in enumerate(docs):
            meta = doc.get("metadata") or {}
            self.by_name.setdefault((doc["kind"], str(meta.get("name"))), i)

    def find(self, kind: str, name: str) -> tuple[int, dict[str, Any]] | None:
        i = self.by_name.get((kind, name))
        return None if i is None else (i, self.docs[i])

    def where(self, i: int, path: str) -> str:
        return " ".join(part for part in (document_label(self.docs, i), path) if part)


def from_openslo(docs: list[Any]) -> list[SLO]:
    """sloview SLOs from parsed OpenSLO v1 documents (a composite gives its objectives)."""
    out: list[SLO] = []
    for spec in from_openslo_specs(docs):
        if isinstance(spec, CompositeSLO):
            out.extend(slo for slo in spec.objectives if slo not in out)
        else:
            out.append(spec)
    return out


def from_openslo_specs(docs: list[Any]) -> list[SLO | CompositeSLO]:
    """SLOs and composite SLOs from parsed OpenSLO v1 documents; rule breaks raise SpecError."""
    violations = validate_documents(docs)
    if violations:
        first = violations[0]
        more = len(violations) - 1
        hint = (
            f"{more} more problem{'s' if more != 1 else ''}: `sloview validate FILE` lists all"
            if more
            else None
        )
        raise SpecError(first.message, where=first.where or "OpenSLO file", hint=hint)
    ctx = _Context(docs)
    specs: list[SLO | CompositeSLO] = []
    for i, doc in enumerate(docs):
        if doc["kind"] != "SLO":
            continue
        if any("indicator" in o or "indicatorRef" in o for o in doc["spec"]["objectives"]):
            specs.append(_read_composite(ctx, i, doc))
        else:
            specs.extend(_read_slo(ctx, i, doc))
    if not specs:
        raise SpecError("holds no SLO", where="OpenSLO file", hint="add a document of kind SLO")
    # A composite's objectives may repeat SLOs of the file (candidates combined): only the
    # documents' own names must differ.
    names = [s.name for s in specs]
    for name in names:
        if names.count(name) > 1:
            raise SpecError(f"two SLOs are named {name!r}", where="OpenSLO file")
    return specs


def _read_composite(ctx: _Context, i: int, doc: dict[str, Any]) -> CompositeSLO:
    """A composite SLO: sloview's own from its annotation, another tool's objective by
    objective (each from its indicator, weighted by compositeWeight)."""
    meta, spec = doc["metadata"], doc["spec"]
    ann: dict[str, str] = meta.get("annotations") or {}
    if A + "composite" in ann:
        where = ctx.where(i, f'metadata.annotations["{A}composite"]')
        return read_annotation(ann[A + "composite"], where)
    window = _window(ctx, i, spec["timeWindow"][0], ann)
    objectives = spec["objectives"]
    names = _objective_names(meta["name"], objectives)
    slos, weights = [], []
    for j, objective in enumerate(objectives):
        where = f"spec.objectives[{j}]"
        if objective.get("indicator") is not None:
            sli_spec, sli_where = objective["indicator"]["spec"], ctx.where(i, f"{where}.indicator")
        else:
            found = ctx.find("SLI", objective["indicatorRef"])
            if found is None:
                raise SpecError(
                    f"no SLI named {objective['indicatorRef']!r} in this file",
                    where=ctx.where(i, f"{where}.indicatorRef"),
                    hint="put the SLI document in the same file, or write the indicator inline",
                )
            sli_spec, sli_where = found[1]["spec"], ctx.where(found[0], "spec")
        try:
            sli, obj, budgeting = _sli_objective(
                spec["budgetingMethod"], objective, sli_spec, {}, where, sli_where
            )
            slos.append(
                SLO(
                    name=names[j],
                    service=spec["service"],
                    sli=sli,
                    objective=obj,
                    budgeting=budgeting,
                    window=window,
                )
            )
        except SpecError as exc:
            raise exc.relocated(ctx.where(i, _openslo_path(exc.where, where)), SpecError) from None
        weights.append(float(objective.get("compositeWeight", 1.0)))
    try:
        return CompositeSLO(
            name=meta["name"],
            objectives=tuple(slos),
            weights=tuple(weights),
            service=spec["service"],
        )
    except SpecError as exc:
        raise exc.relocated(ctx.where(i, "spec.objectives"), SpecError) from None


def _read_slo(ctx: _Context, i: int, doc: dict[str, Any]) -> list[SLO]:
    meta, spec = doc["metadata"], doc["spec"]
    ann: dict[str, str] = meta.get("annotations") or {}
    objectives = spec["objectives"]
    sli_spec, sli_where = _indicator(ctx, i, spec)
    window = _window(ctx, i, spec["timeWindow"][0], ann)
    alerts = _alerts(ctx, i, spec, ann, window)
    authored = A + "sli" in ann
    base: dict[str, Any] = {
        "service": ann.get(A + "service", spec["service"]),
        "description": ann.get(A + "description", "")
        if authored
        else str(spec.get("description") or "").strip(),
        "window": window,
        "alerts": alerts,
        "segment": _segment(ctx, i, ann),
        "exclusions": _exclusions(ctx, i, ann),
    }
    names = _objective_names(meta["name"], objectives)
    out = []
    for j, objective in enumerate(objectives):
        where = f"spec.objectives[{j}]"
        try:
            sli, obj, budgeting = _sli_objective(
                spec["budgetingMethod"], objective, sli_spec, ann, where, sli_where
            )
            out.append(SLO(name=names[j], sli=sli, objective=obj, budgeting=budgeting, **base))
        except SpecError as exc:
            if (exc.where or "").startswith("document "):
                raise  # already names its document (an SLI referred to by name)
            raise exc.relocated(ctx.where(i, _openslo_path(exc.where, where)), SpecError) from None
    return out


def _objective_names(name: str, objectives: list[dict[str, Any]]) -> list[str]:
    if len(objectives) == 1:
        return [name]
    names: list[str] = []
    for j, objective in enumerate(objectives):
        label = objective.get("displayName")
        candidate = dns_name(name, str(label)) if label else dns_name(name, str(j + 1))
        if candidate in names:
            candidate = dns_name(name, str(j + 1))
        names.append(candidate)
    return names


# Model field paths -> OpenSLO paths (under the objective where it applies), for errors.
_PATHS = (
    ("name", "metadata.name"),
    ("objective.target", "{o}.target"),
    ("objective.threshold", "{o}.value"),
    ("objective.op", "{o}.op"),
    ("objective", "{o}"),
    ("window.rolling", "spec.timeWindow[0].duration"),
    ("window", "spec.timeWindow[0]"),
    ("budgeting.slice_target", "{o}.timeSliceTarget"),
    ("budgeting.slice", "{o}.timeSliceWindow"),
    ("budgeting.method", "spec.budgetingMethod"),
    ("budgeting", f'metadata.annotations["{A}min-events"]'),
    ("sli.percentile", f'metadata.annotations["{A}percentile"]'),
    ("sli.metric", f'metadata.annotations["{A}metric"]'),
    ("sli", "spec.indicator"),
    ("alerts", "spec.alertPolicies"),
    ("exclusions", f'metadata.annotations["{A}exclusions"]'),
    ("segment", f'metadata.annotations["{A}segment"]'),
)


def _openslo_path(model_path: str | None, objective: str) -> str:
    path = model_path or ""
    if path.startswith(("spec.", "metadata.")):
        return path
    for prefix, target in _PATHS:
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return target.format(o=objective)
    return objective


def _indicator(ctx: _Context, i: int, spec: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The SLI spec (inline or by reference) and its path for errors."""
    if spec.get("indicator") is not None:
        return spec["indicator"]["spec"], ctx.where(i, "spec.indicator.spec")
    ref = spec["indicatorRef"]
    found = ctx.find("SLI", ref)
    if found is None:
        raise SpecError(
            f"no SLI named {ref!r} in this file",
            where=ctx.where(i, "spec.indicatorRef"),
            hint="put the SLI document in the same file, or write the indicator inline",
        )
    j, sli_doc = found
    return sli_doc["spec"], ctx.where(j, "spec")


def _window(ctx: _Context, i: int, item: dict[str, Any], ann: dict[str, str]) -> TimeWindow:
    where = ctx.where(i, "spec.timeWindow[0].duration")
    duration = item["duration"]
    count, unit = parse_shorthand(duration, where)
    try:
        if item.get("isRolling"):
            tz = ann.get(A + "timezone", "UTC")
            return TimeWindow(rolling_s=count * SHORTHAND_SECONDS[unit], tz=tz)
        calendar = CALENDAR_OF.get(duration)
        if calendar is None:
            hint = "use 1d, 1w, 1M (a month) or 1Q (a quarter)"
            if unit == "m":
                hint = f"{duration} is {count} minute{'s' if count != 1 else ''}: a month is 1M"
            raise SpecError(
                f"{duration!r} is not a calendar period sloview can check", where=where, hint=hint
            )
        return TimeWindow(
            calendar=cast(Any, calendar), tz=item["calendar"].get("timeZone") or "UTC"
        )
    except SpecError as exc:
        if exc.where == where:
            raise
        raise exc.relocated(where, SpecError) from None


def _json_annotation(ctx: _Context, i: int, ann: dict[str, str], key: str) -> Any:
    text = ann.get(A + key)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise SpecError(
            "is not valid JSON", where=ctx.where(i, f'metadata.annotations["{A}{key}"]')
        ) from None


def _segment(ctx: _Context, i: int, ann: dict[str, str]) -> tuple[tuple[str, str], ...]:
    data = _json_annotation(ctx, i, ann, "segment")
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise SpecError(
            'must be a JSON object of column: value, e.g. {"endpoint": "chat"}',
            where=ctx.where(i, f'metadata.annotations["{A}segment"]'),
        )
    return tuple((str(k), str(v)) for k, v in data.items())


def _exclusions(ctx: _Context, i: int, ann: dict[str, str]) -> tuple[Exclusion, ...]:
    data = _json_annotation(ctx, i, ann, "exclusions")
    where = ctx.where(i, f'metadata.annotations["{A}exclusions"]')
    if data is None:
        return ()
    if not isinstance(data, list):
        raise SpecError("must be a JSON list of {start, end, reason}", where=where)
    try:
        return tuple(Exclusion.from_dict(e, f"[{k}]") for k, e in enumerate(data))
    except SpecError as exc:
        raise exc.relocated(f"{where}{exc.where}", SpecError) from None


def _alerts(
    ctx: _Context, i: int, spec: dict[str, Any], ann: dict[str, str], window: TimeWindow
) -> tuple[AlertWindow, ...] | None:
    marker = ann.get(A + "alerts")
    items = spec.get("alertPolicies") or []
    if not items:
        return () if marker == "none" else None
    rows = []
    for k, item in enumerate(items):
        at = f"spec.alertPolicies[{k}]"
        if "alertPolicyRef" in item:
            found = ctx.find("AlertPolicy", item["alertPolicyRef"])
            if found is None:
                raise SpecError(
                    f"no AlertPolicy named {item['alertPolicyRef']!r} in this file",
                    where=ctx.where(i, f"{at}.alertPolicyRef"),
                    hint="put the AlertPolicy and its AlertCondition in the same file, or "
                    "remove alertPolicies to backtest the SRE Workbook alerts",
                )
            pi, policy, ppath = found[0], found[1]["spec"], "spec"
        else:
            pi, policy, ppath = i, item["spec"], f"{at}.spec"
        cond_item = policy["conditions"][0]
        cpath = f"{ppath}.conditions[0]"
        if "conditionRef" in cond_item:
            found = ctx.find("AlertCondition", cond_item["conditionRef"])
            if found is None:
                raise SpecError(
                    f"no AlertCondition named {cond_item['conditionRef']!r} in this file",
                    where=ctx.where(pi, f"{cpath}.conditionRef"),
                    hint="put the AlertCondition in the same file",
                )
            ci, condition, cpath = found[0], found[1]["spec"], "spec"
        else:
            ci, condition, cpath = pi, cond_item["spec"], f"{cpath}.spec"
        rows.append(_alert_row(condition, ctx.where(ci, cpath)))
    result = tuple(rows)
    if marker == "workbook" and result == default_alerts(window):
        return None
    return result


def _alert_row(spec: dict[str, Any], at: str) -> AlertWindow:
    cond = spec["condition"]
    if cond["op"] not in ("gt", "gte"):
        raise SpecError(
            f"{cond['op']!r} is not how burn-rate alerts fire",
            where=f"{at}.condition.op",
            hint="use gt: the alert fires while the burn rate is above the threshold",
        )
    long_s = shorthand_seconds(cond["lookbackWindow"], f"{at}.condition.lookbackWindow")
    if cond.get("alertAfter"):
        short_s = shorthand_seconds(cond["alertAfter"], f"{at}.condition.alertAfter")
    else:
        # The Workbook's short window is 1/12 of the long one.
        short_s = max(60, round(long_s / 12 / 60) * 60)
    try:
        return AlertWindow(
            severity=str(spec["severity"]),
            long_s=long_s,
            short_s=short_s,
            burn_rate=float(cond["threshold"]),
        )
    except SpecError as exc:
        raise exc.relocated(f"{at}.condition", SpecError) from None


def _sources_text(sli_spec: dict[str, Any], *keys: str) -> str:
    """All text inside the metric sources under the given keys (queries, for inference)."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for key in keys:
        walk(sli_spec.get(key))
    return "\n".join(parts)


def _sli_objective(
    method: str,
    objective: dict[str, Any],
    sli_spec: dict[str, Any],
    ann: dict[str, str],
    where: str,
    sli_where: str,
) -> tuple[SLI, Objective, Budgeting]:
    target = objective.get("target")
    if target is None:
        target = objective["targetPercent"] / 100
    threshold_metric = "thresholdMetric" in sli_spec
    op = objective.get("op")
    value = objective.get("value")
    kind = ann.get(A + "sli")
    percentile: float | None = None
    metric = ann.get(A + "metric", LATENCY)
    if metric not in LATENCY_COLUMNS:
        raise SpecError(
            f"{metric!r} is not a latency column",
            where=f'metadata.annotations["{A}metric"]',
            hint=f"use one of {', '.join(LATENCY_COLUMNS)}",
        )
    if A + "percentile" in ann:
        percentile = _float_annotation(ann, "percentile")
    if kind is None:
        kind, percentile, op, value = _infer(method, threshold_metric, sli_spec, op, value, where)
    if kind not in SLI_KINDS:
        raise SpecError(
            f"{kind!r} is not an SLI kind",
            where=f'metadata.annotations["{A}sli"]',
            hint=f"use one of {', '.join(SLI_KINDS)}",
        )
    if kind == "latency" and not threshold_metric:
        if A + "threshold-ms" in ann:
            value = _float_annotation(ann, "threshold-ms")
            op = ann.get(A + "op", "lte")
        elif value is None:
            _, _, op, value = _infer(method, False, sli_spec, None, None, where)
        if value is None:
            raise SpecError(
                "a latency SLO needs a threshold, and this ratio indicator names none",
                where=sli_where + ".ratioMetric.good",
                hint=f'add the annotation {A}threshold-ms: "300" to the SLO\'s metadata, '
                'or count a histogram bucket in the good query (le="0.3")',
            )
    if kind in ("availability", "joint"):
        op, value = None, None
    _check_choice(ann, "failed-requests", ("exclude", "bad"))
    _check_choice(ann, "throughput-unit", THROUGHPUT_UNITS)
    unit = ann.get(A + "throughput-unit", "requests")
    uses_conditions = kind == "joint" or (kind == "throughput" and unit == "goodput")
    sli = SLI(
        kind=cast(Any, kind),
        metric=metric,
        percentile=percentile if kind == "latency" else None,
        failed_requests=cast(Any, ann.get(A + "failed-requests", "exclude")),
        unit=cast(Any, unit),
        conditions=_conditions(ann) if uses_conditions else (),
    )
    obj = Objective(
        target=float(target),
        threshold=None if value is None else float(value),
        op=op or ("gte" if kind == "throughput" else "lte"),
    )
    return sli, obj, _budgeting(method, objective, sli, ann)


def _infer(
    method: str,
    threshold_metric: bool,
    sli_spec: dict[str, Any],
    op: Any,
    value: Any,
    where: str,
) -> tuple[str, float | None, Any, Any]:
    """(kind, percentile, op, value) of an indicator written by another tool."""
    if not threshold_metric:
        text = _sources_text(sli_spec.get("ratioMetric") or {}, "good", "bad", "total", "raw")
        ms = bucket_threshold_ms(text)
        if ms is None:
            return "availability", None, None, None
        return "latency", None, "lte", ms
    text = _sources_text(sli_spec, "thresholdMetric")
    if op in ("gt", "gte"):
        if method != "Timeslices":
            raise SpecError(
                f"op {op} on a threshold metric reads as throughput, which is judged per time "
                "slice",
                where=f"{where}.op",
                hint=f'use budgetingMethod Timeslices, or add the annotation {A}sli: "latency" '
                "and op lte",
            )
        return "throughput", None, op, value
    percentile = None
    quantile = _QUANTILE.search(text)
    if quantile is not None and method == "Timeslices":
        percentile = float(quantile.group(1)) * 100
    seconds = quantile is not None and "_seconds" in text and "1000" not in text
    return "latency", percentile, op, float(value) * 1000 if seconds else value


def _conditions(ann: dict[str, str]) -> tuple[Condition, ...]:
    """The conditions of a joint SLI or goodput, from their JSON annotation."""
    where = f'metadata.annotations["{A}conditions"]'
    text = ann.get(A + "conditions")
    if text is None:
        raise SpecError(
            "is required for a joint SLI or goodput",
            where=where,
            hint='a JSON list, e.g. [{"metric": "ttft_ms", "op": "lte", "threshold": 500}]',
        )
    try:
        data = json.loads(text)
    except ValueError:
        raise SpecError("is not valid JSON", where=where) from None
    if not isinstance(data, list):
        raise SpecError("must be a JSON list of conditions", where=where)
    try:
        return tuple(Condition.from_dict(c, f"[{k}]") for k, c in enumerate(data))
    except SpecError as exc:
        raise exc.relocated(f"{where}{exc.where}", SpecError) from None


def _float_annotation(ann: dict[str, str], key: str) -> float:
    try:
        return float(ann[A + key])
    except ValueError:
        raise SpecError(
            f"{ann[A + key]!r} is not a number", where=f'metadata.annotations["{A}{key}"]'
        ) from None


def _check_choice(ann: dict[str, str], key: str, options: tuple[str, ...]) -> None:
    value = ann.get(A + key)
    if value is not None and value not in options:
        raise SpecError(
            f"{value!r} is not allowed",
            where=f'metadata.annotations["{A}{key}"]',
            hint=f"use one of {', '.join(options)}",
        )


def _budgeting(method: str, objective: dict[str, Any], sli: SLI, ann: dict[str, str]) -> Budgeting:
    min_events = 0
    if A + "min-events" in ann:
        text = ann[A + "min-events"]
        if not text.isdigit():
            raise SpecError(
                f"{text!r} is not a whole number", where=f'metadata.annotations["{A}min-events"]'
            )
        min_events = int(text)
    empty = ann.get(A + "empty-slices", "skip")
    _check_choice(ann, "empty-slices", ("skip", "good", "bad"))
    if method == "Occurrences":
        return Budgeting(method="Occurrences", min_events=min_events, empty_slices=cast(Any, empty))
    slice_s = shorthand_seconds(objective["timeSliceWindow"], "budgeting.slice")
    slice_target = objective.get("timeSliceTarget") if method == "Timeslices" else None
    if slice_target is not None and (sli.is_percentile or sli.kind == "throughput"):
        # One value per slice: a slice target of 1 is how sloview writes "the slice meets it".
        slice_target = None if float(slice_target) == 1.0 else slice_target
    return Budgeting(
        method=cast(Any, method),
        slice_s=slice_s,
        slice_target=None if slice_target is None else float(slice_target),
        min_events=min_events,
        empty_slices=cast(Any, empty),
    )


def is_openslo(doc: Any) -> bool:
    """Whether a parsed document declares an OpenSLO apiVersion."""
    return isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith(
        ("openslo/", "openslo.com/")
    )
