"""OpenSLO v1 out of sloview SLOs and back.

Writing, per SLO: a `Service` (one per service), an `SLO` with an inline indicator, and
per alert row an `AlertCondition` and an `AlertPolicy` that the SLO refers to, plus one
`AlertNotificationTarget` per service and severity (a placeholder to point at a pager or a
channel). Mapping decisions:

- Indicator: per-slice values (a latency percentile, throughput) are a `thresholdMetric`
  whose objective carries `op`/`value` (ms, or requests or tokens per second); everything
  else is a `ratioMetric` with `counter: true` and good/total queries (OpenSLO forbids
  op/value there, so the latency threshold lives in the good query and in an annotation).
- Alerts: one multiwindow row becomes one AlertCondition: `lookbackWindow` is the long
  window, `alertAfter` the short one, `threshold` the burn factor, `op: gt`. OpenSLO
  conditions have a single burn-rate window; `alertAfter` is the nearest field for the
  short, confirming window, and sloview reads the pair back exactly.
- Calendar windows: 1d, 1w, 1M, 1Q starting `2024-01-01 00:00:00` (a Monday, 1 January:
  the start of a day, week, month and quarter) in the SLO's timezone; rolling: `<days>d`.
- Joint SLIs (several latency conditions on the same request) are a `ratioMetric`; goodput
  throughput a `thresholdMetric` (good requests per second). SQL and request-file sources
  state the conditions exactly; PromQL cannot (separate histograms lose which request met
  all conditions at once), so the Prometheus good query is a comment describing what to
  count, the writer warns, and the SLO's description says it in words.
- What OpenSLO cannot carry goes in `metadata.annotations` under `sloview.dev/`: the SLI
  kind and metric column, the conditions of joint SLIs and goodput (JSON), the threshold of
  ratio latency SLIs, the failed-request policy,
  percentile, throughput unit, min events, empty slices, timezone of rolling windows,
  segment and exclusions (JSON), the SLO's own description, the service as typed when
  it is not an RFC 1123 name, and whether the alert rows are the Workbook default.

Reading is in `openslo_read.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from sloview import formatting as fmt
from sloview.composite_slo import CompositeSLO
from sloview.errors import SpecError
from sloview.export.common import (
    DEFAULT_SERVICE,
    DNS_LABEL,
    Export,
    dns_name,
    format_shorthand,
    num_text,
    yaml_number,
)
from sloview.export.source import (
    MetricSource,
    data_source_name,
    indicator_queries,
    is_threshold_metric,
)
from sloview.export.validate import API_VERSION
from sloview.export.yamlio import dump_documents
from sloview.model import (
    SLO,
    AlertWindow,
    TimeWindow,
)
from sloview.wording import METRIC_NOUNS, conditions_short, statement, subject

A = "sloview.dev/"
CALENDAR_DURATION = {"day": "1d", "week": "1w", "month": "1M", "quarter": "1Q"}
CALENDAR_OF = {v: k for k, v in CALENDAR_DURATION.items()}
CALENDAR_START = "2024-01-01 00:00:00"
HEADER = "# OpenSLO v1 written by sloview; check it with `sloview validate FILE`.\n"
_SYMBOL = {"lte": "<=", "lt": "<", "gte": ">=", "gt": ">"}
_QUANTILE = re.compile(r"histogram_quantile\s*\(\s*([0-9.]+)")


# -- writing ---------------------------------------------------------------------------------


def to_openslo(slos: Sequence[SLO | CompositeSLO], source: MetricSource | None = None) -> Export:
    """OpenSLO v1 documents (one YAML stream) for SLOs and composite SLOs."""
    from sloview.export.openslo_composite import composite_doc, composite_service

    if not slos:
        raise SpecError("there is no SLO to export", where="slos")
    src = source or MetricSource()
    warnings: list[str] = []
    # A composite whose objectives mix budgeting methods is no OpenSLO composite: its
    # objectives go out as separate SLOs, and the reader is told.
    items: list[SLO | CompositeSLO] = []
    for item in slos:
        if isinstance(item, CompositeSLO) and item.budgeting_method is None:
            warnings.append(
                f"{item.name}: OpenSLO composites share one budgeting method and these "
                "objectives mix them, so they are written as separate SLOs"
            )
            items.extend(item.objectives)
        else:
            items.append(item)
    names = [s.name for s in items]
    for name in names:
        if names.count(name) > 1:
            raise SpecError(f"two SLOs are named {name!r}", where="name", hint="rename one")
    if src.kind == "file" and not src.path:
        warnings.append(
            "no data source given: the metric sources name sloview columns only; pass "
            "--source FILE, --prometheus-histogram METRIC or --sql-table TABLE for queries"
        )
    docs: list[dict[str, Any]] = []
    if src.url:
        docs.append(_data_source_doc(src))
    by_service: dict[str, list[SLO | CompositeSLO]] = {}
    for item in items:
        key = composite_service(item) if isinstance(item, CompositeSLO) else service_name(item)
        by_service.setdefault(key, []).append(item)
    for service, members in by_service.items():
        plain = [m for m in members if isinstance(m, SLO)]
        inner = [o for m in members if isinstance(m, CompositeSLO) for o in m.objectives]
        docs.append(_service_doc(service, plain or inner))
        targets: dict[str, str] = {}
        for slo in plain:
            for row in slo.alert_windows:
                targets.setdefault(_target_name(service, row.severity), row.severity)
        docs.extend(_target_doc(service, sev) for sev in targets.values())
        for item in members:
            if isinstance(item, CompositeSLO):
                doc, notes = composite_doc(item, src, service)
                docs.append(doc)
                warnings.extend(notes)
                continue
            slo_doc, alert_docs, notes = _slo_docs(item, src, service)
            docs.append(slo_doc)
            docs.extend(alert_docs)
            warnings.extend(notes)
    return Export(format="openslo", text=dump_documents(docs, HEADER), warnings=tuple(warnings))


def service_name(slo: SLO) -> str:
    """The OpenSLO service of an SLO: its service as an RFC 1123 name, or `sloview`."""
    if not slo.service:
        return DEFAULT_SERVICE
    return slo.service if _is_dns(slo.service) else dns_name(slo.service)


def _is_dns(text: str) -> bool:
    return bool(DNS_LABEL.match(text)) and len(text) <= 63


def _doc(kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def _data_source_doc(src: MetricSource) -> dict[str, Any]:
    return _doc(
        "DataSource",
        {"name": data_source_name(src)},
        {
            "description": "Connection without credentials: add them where the tool keeps secrets.",
            "type": src.type_name,
            "connectionDetails": {"url": src.url},
        },
    )


def _service_doc(service: str, slos: list[SLO]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": service}
    typed = slos[0].service
    if typed and typed != service and len(typed) <= 63:
        metadata["displayName"] = typed
    count = f"{len(slos)} SLO{'s' if len(slos) != 1 else ''}"
    return _doc(
        "Service",
        metadata,
        {"description": f"{count} agreed with sloview from request samples."},
    )


def _target_name(service: str, severity: str) -> str:
    return dns_name(service, severity)


def _target_doc(service: str, severity: str) -> dict[str, Any]:
    return _doc(
        "AlertNotificationTarget",
        {"name": _target_name(service, severity)},
        {
            "description": f"Where {severity} alerts of {service} go: replace the target "
            "with your pager, channel or queue.",
            "target": severity,
        },
    )


def _slo_docs(
    slo: SLO, src: MetricSource, service: str
) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    queries = indicator_queries(slo, src)
    if is_threshold_metric(slo):
        sli_spec: dict[str, Any] = {"thresholdMetric": queries.value}
    else:
        sli_spec = {"ratioMetric": {"counter": True, "good": queries.good, "total": queries.total}}
    metadata: dict[str, Any] = {"name": slo.name, "displayName": _display_name(slo)}
    annotations = _annotations(slo)
    if annotations:
        metadata["annotations"] = annotations
    description = statement(slo)
    if slo.sli.uses_conditions and src.kind == "prometheus":
        description += (
            " PromQL cannot tell which requests met every condition at once (each histogram "
            "counts one condition), so the query only describes the requests to count; the "
            "conditions are in the sloview.dev/conditions annotation."
        )
    spec: dict[str, Any] = {
        "description": _truncate(description, 1050),
        "service": service,
        "indicator": {
            "metadata": {"name": dns_name(slo.name, "sli"), "displayName": _sli_name(slo)},
            "spec": sli_spec,
        },
        "timeWindow": [_time_window(slo.window)],
        "budgetingMethod": slo.budgeting.method,
        "objectives": [_objective(slo)],
    }
    alert_docs: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    used: set[str] = set()
    for i, row in enumerate(slo.alert_windows):
        name = dns_name(
            slo.name, row.severity, format_shorthand(row.long_s), format_shorthand(row.short_s)
        )
        if name in used:
            name = dns_name(name, str(i + 1))
        used.add(name)
        alert_docs.extend(_alert_docs(slo, row, name, _target_name(service, row.severity)))
        refs.append({"alertPolicyRef": name})
    if refs:
        spec["alertPolicies"] = refs
    return _doc("SLO", metadata, spec), alert_docs, list(queries.warnings)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _display_name(slo: SLO) -> str:
    """A short label (OpenSLO allows 63 characters): `chat: 95% latency <= 8 s`."""
    sli, obj, b = slo.sli, slo.objective, slo.budgeting
    head = ", ".join(v for _, v in slo.segment)
    head = f"{head}: " if head else ""
    slices = f"{fmt.percent(obj.target)} of {format_shorthand(int(b.slice_s or 60))} slices"
    noun = METRIC_NOUNS.get(sli.metric, "latency")
    limit = f"{_SYMBOL[obj.op]} {fmt.ms(obj.threshold or 0)}"
    if sli.kind == "throughput":
        unit = {"requests": "requests/s", "output_tokens": "output tokens/s"}.get(sli.unit, "")
        if sli.unit == "goodput":
            unit = f"good/s ({conditions_short(sli.conditions)})"
        body = f"{_SYMBOL[obj.op]} {obj.threshold:g} {unit} in {slices}"
    elif sli.is_percentile:
        body = f"p{sli.percentile:g} {noun} {limit} in {slices}"
    else:
        what = "succeed" if sli.kind == "availability" else f"{noun} {limit}"
        if sli.kind == "joint":
            what = f"succeed, {conditions_short(sli.conditions)}"
        if b.method == "Timeslices":
            body = f"{fmt.percent(b.slice_target or 1)} {what} in {slices}"
        elif b.method == "RatioTimeslices":
            body = f"{fmt.percent(obj.target)} {what}, mean of slices"
        else:
            body = f"{fmt.percent(obj.target)} {what}"
    return _truncate(head + body, 63)


def _sli_name(slo: SLO) -> str:
    what = "success" if slo.sli.kind == "availability" else "throughput"
    if slo.sli.kind == "latency":
        what = METRIC_NOUNS.get(slo.sli.metric, "latency")
    if slo.sli.kind == "joint":
        what = "success and " + conditions_short(slo.sli.conditions)
    if slo.sli.unit == "goodput":
        what = "goodput"
    return _truncate(f"{what} of {subject(slo)}", 63)


def _annotations(slo: SLO) -> dict[str, str]:
    sli, b = slo.sli, slo.budgeting
    out: dict[str, str] = {A + "sli": sli.kind}
    if sli.kind == "latency":
        out[A + "metric"] = sli.metric
        if sli.percentile is not None:
            out[A + "percentile"] = num_text(sli.percentile)
        else:
            out[A + "threshold-ms"] = num_text(float(slo.objective.threshold or 0))
            out[A + "op"] = slo.objective.op
        out[A + "failed-requests"] = sli.failed_requests
    if sli.kind == "throughput":
        out[A + "throughput-unit"] = sli.unit
    if sli.uses_conditions:
        out[A + "conditions"] = json.dumps([c.to_dict() for c in sli.conditions])
    if b.min_events:
        out[A + "min-events"] = str(b.min_events)
    if b.empty_slices != "skip":
        out[A + "empty-slices"] = b.empty_slices
    if slo.window.is_rolling and slo.window.tz != "UTC":
        out[A + "timezone"] = slo.window.tz
    if slo.segment:
        out[A + "segment"] = json.dumps(dict(slo.segment), ensure_ascii=False)
    if slo.exclusions:
        out[A + "exclusions"] = json.dumps(
            [e.to_dict() for e in slo.exclusions], ensure_ascii=False
        )
    if slo.alerts is None:
        out[A + "alerts"] = "workbook"
    elif not slo.alerts:
        out[A + "alerts"] = "none"
    if service_name(slo) != slo.service:
        # Includes "no service": spec.service then says `sloview`, and this keeps it empty.
        out[A + "service"] = slo.service
    if slo.description:
        out[A + "description"] = slo.description
    return out


def _time_window(window: TimeWindow) -> dict[str, Any]:
    if window.rolling_s is not None:
        return {"duration": f"{window.rolling_s // 86400}d", "isRolling": True}
    return {
        "duration": CALENDAR_DURATION[str(window.calendar)],
        "isRolling": False,
        "calendar": {"startTime": CALENDAR_START, "timeZone": window.tz},
    }


def _objective(slo: SLO) -> dict[str, Any]:
    b = slo.budgeting
    out: dict[str, Any] = {}
    if is_threshold_metric(slo):
        out["op"] = slo.objective.op
        out["value"] = yaml_number(float(slo.objective.threshold or 0))
    out["target"] = slo.objective.target
    if b.method == "Timeslices":
        # A percentile or a rate is one value per slice: the slice is good when it meets the
        # objective, i.e. a slice target of 1.
        out["timeSliceTarget"] = yaml_number(b.slice_target if b.slice_target is not None else 1)
    if b.method != "Occurrences":
        out["timeSliceWindow"] = format_shorthand(int(b.slice_s or 60))
    return out


def _alert_docs(slo: SLO, row: AlertWindow, name: str, target: str) -> list[dict[str, Any]]:
    long_w, short_w = format_shorthand(row.long_s), format_shorthand(row.short_s)
    spent = fmt.percent(row.budget_spent_when_firing(slo.window.period_hours), 2)
    condition = _doc(
        "AlertCondition",
        {"name": name},
        {
            "description": f"Burn rate above {row.burn_rate:g} over {long_w} (lookbackWindow) "
            f"and over the last {short_w} (alertAfter, the short window): {spent} of the "
            "error budget is spent when it fires.",
            "severity": row.severity,
            "condition": {
                "kind": "burnrate",
                "op": "gt",
                "threshold": yaml_number(row.burn_rate),
                "lookbackWindow": long_w,
                "alertAfter": short_w,
            },
        },
    )
    policy = _doc(
        "AlertPolicy",
        {"name": name},
        {
            "description": f"{row.severity} {slo.name} when its error budget burns too fast "
            f"({row.label()}).",
            "alertWhenNoData": False,
            "alertWhenResolved": False,
            "alertWhenBreaching": True,
            "conditions": [{"conditionRef": name}],
            "notificationTargets": [{"targetRef": target}],
        },
    )
    return [condition, policy]
