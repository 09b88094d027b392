"""Sloth `prometheus/v1` specs out of sloview SLOs and back.

Sloth judges events over rolling windows from PromQL, so only Occurrences SLOs of
availability or latency are representable: latency as total requests minus the histogram
bucket at the threshold (`le` in seconds), availability as requests with a failed status
over all requests. Time slices (Timeslices, RatioTimeslices, percentiles, throughput) are
refused: Sloth has none (slok/sloth#301). Joint SLIs and goodput are refused too: PromQL
over separate histograms cannot tell which requests met several conditions at once.

Sloth has no place for sloview's other settings except SLO labels, which Sloth copies
onto its recording rules; `sloview_*` labels carry what must survive a round trip (the
latency column, failed-request policy, `lt`, the window when it is not Sloth's 30-day
default, the segment). The period itself is chosen when running `sloth generate`, and
alert windows come from Sloth's AlertWindows files: the writer returns warnings for both
instead of silently dropping them, and for maintenance exclusions, which Sloth lacks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from sloview.errors import PROMETHEUS_APP_HINT, SpecError
from sloview.export.common import (
    DEFAULT_SERVICE,
    DNS_LABEL,
    Export,
    camel,
    dns_name,
    from_percent,
    to_percent,
    yaml_number,
)
from sloview.export.events import event_queries
from sloview.export.source import MetricSource, bucket_threshold_ms
from sloview.export.yamlio import dump_documents
from sloview.ingest.table import LATENCY, LATENCY_COLUMNS
from sloview.model import CALENDARS, SLI, SLO, Objective, TimeWindow
from sloview.units import parse_duration
from sloview.wording import statement

VERSION = "prometheus/v1"
SLOTH_PERIOD_S = 30 * 86400
HEADER = (
    "# Sloth prometheus/v1 spec written by sloview; generate rules with `sloth generate -i FILE`.\n"
)
L = "sloview_"


# -- writing ---------------------------------------------------------------------------------


def to_sloth(slos: Sequence[SLO], source: MetricSource | None) -> Export:
    """Sloth specs (one document per service) for Occurrences SLOs on Prometheus."""
    if source is None or source.kind != "prometheus":
        raise SpecError(
            "Sloth queries are PromQL: a Prometheus source is needed",
            where="source",
            hint="give --prometheus-histogram METRIC (a latency histogram in seconds)",
            app_hint=PROMETHEUS_APP_HINT,
        )
    if not slos:
        raise SpecError("there is no SLO to export", where="slos")
    names = [s.name for s in slos]
    for name in names:
        if names.count(name) > 1:
            raise SpecError(f"two SLOs are named {name!r}", where="name", hint="rename one")
    by_service: dict[str, list[SLO]] = {}
    for slo in slos:
        by_service.setdefault(slo.service or DEFAULT_SERVICE, []).append(slo)
    warnings: list[str] = []
    docs = []
    for service, members in by_service.items():
        entries = []
        for slo in members:
            entry, notes = _slo_entry(slo, source, service)
            entries.append(entry)
            warnings.extend(notes)
        docs.append({"version": VERSION, "service": service, "slos": entries})
    return Export(format="sloth", text=dump_documents(docs, HEADER), warnings=tuple(warnings))


def _slo_entry(slo: SLO, source: MetricSource, service: str) -> tuple[dict[str, Any], list[str]]:
    queries = event_queries(slo, source)
    warnings: list[str] = list(queries.warnings)
    labels: dict[str, str] = {"category": slo.sli.kind}
    labels.update(_sloview_labels(slo))
    error, total = queries.at("{{.window}}")
    warnings.extend(_lost(slo))
    entry: dict[str, Any] = {
        "name": slo.name,
        "objective": yaml_number(to_percent(slo.objective.target)),
        # Sloth's description is where the statement goes; the reader recognises it and
        # keeps the SLO's own description empty.
        "description": slo.description or statement(slo),
        "labels": labels,
        "sli": {"events": {"error_query": error, "total_query": total}},
        "alerting": _alerting(slo, service),
    }
    return entry, warnings


def _sloview_labels(slo: SLO) -> dict[str, str]:
    out: dict[str, str] = {}
    if slo.sli.kind == "latency":
        if slo.sli.metric != LATENCY:
            out[L + "metric"] = slo.sli.metric
        if slo.sli.failed_requests != "exclude":
            out[L + "failed_requests"] = slo.sli.failed_requests
        if slo.objective.op != "lte":
            out[L + "op"] = slo.objective.op
    window = slo.window
    if window.rolling_s != SLOTH_PERIOD_S:
        out[L + "window"] = (
            f"{window.rolling_s // 86400}d" if window.rolling_s else str(window.calendar)
        )
    if window.tz != "UTC":
        out[L + "window_tz"] = window.tz
    if slo.segment:
        out[L + "segment"] = json.dumps(dict(slo.segment), ensure_ascii=False)
    return out


def _lost(slo: SLO) -> list[str]:
    """What Sloth cannot carry, said once per SLO."""
    out = []
    window = slo.window
    if window.calendar is not None:
        out.append(
            f"{slo.name}: Sloth has rolling periods only; this calendar {window.calendar} "
            "SLO is kept in the sloview_window label, and Sloth will use its own period"
        )
    elif window.rolling_s != SLOTH_PERIOD_S:
        out.append(
            f"{slo.name}: run `sloth generate --default-slo-period="
            f"{int(window.rolling_s or 0) // 86400}d`: Sloth's period is 30d unless told"
        )
    if slo.alerts:
        out.append(
            f"{slo.name}: Sloth takes alert windows from an AlertWindows file (`sloth generate "
            f"--slo-period-windows-path`); the {len(slo.alerts)} custom alert rows are not "
            "in the spec"
        )
    if slo.exclusions:
        out.append(
            f"{slo.name}: Sloth has no maintenance exclusions; {len(slo.exclusions)} "
            "excluded time ranges are not in the spec"
        )
    return out


def _alerting(slo: SLO, service: str) -> dict[str, Any]:
    disabled = slo.alerts is not None and not slo.alerts
    page: dict[str, Any] = {"disable": True} if disabled else {"labels": {"severity": "critical"}}
    ticket: dict[str, Any] = {"disable": True} if disabled else {"labels": {"severity": "warning"}}
    return {
        "name": camel(service, slo.name, "budget", "burn"),
        "labels": {"category": slo.sli.kind},
        "annotations": {"summary": statement(slo)},
        "page_alert": page,
        "ticket_alert": ticket,
    }


# -- reading ---------------------------------------------------------------------------------


def is_sloth(doc: Any) -> bool:
    """Whether a parsed document is a Sloth SLO spec (plain or the Kubernetes resource)."""
    if not isinstance(doc, dict):
        return False
    if doc.get("version") == VERSION:
        return True
    return (
        str(doc.get("apiVersion", "")).startswith("sloth.slok.dev/")
        and doc.get("kind") == "PrometheusServiceLevel"
    )


def from_sloth(docs: list[Any]) -> list[SLO]:
    """sloview SLOs from parsed Sloth `prometheus/v1` documents."""
    slos: list[SLO] = []
    for d, doc in enumerate(docs):
        prefix = f"document {d + 1} " if len(docs) > 1 else ""
        if not is_sloth(doc):
            raise SpecError(
                'is not a Sloth spec (version: "prometheus/v1")',
                where=f"{prefix}".strip() or "YAML",
            )
        spec, root = (doc, "") if doc.get("version") == VERSION else (doc.get("spec"), "spec.")
        if not isinstance(spec, dict):
            raise SpecError("must be a mapping", where=f"{prefix}{root}".strip(" ."))
        service = spec.get("service")
        if not isinstance(service, str) or not service:
            raise SpecError("is required", where=f"{prefix}{root}service")
        items = spec.get("slos")
        if not isinstance(items, list) or not items:
            raise SpecError("must be a non-empty list of SLOs", where=f"{prefix}{root}slos")
        for k, item in enumerate(items):
            slos.append(_read_entry(item, service, f"{prefix}{root}slos[{k}]"))
    names = [s.name for s in slos]
    for name in names:
        if names.count(name) > 1:
            raise SpecError(f"two SLOs are named {name!r}", where="Sloth file")
    return slos


def _read_entry(item: Any, service: str, where: str) -> SLO:
    if not isinstance(item, dict):
        raise SpecError("must be a mapping", where=where)
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise SpecError("is required", where=f"{where}.name")
    objective = item.get("objective")
    if isinstance(objective, bool) or not isinstance(objective, int | float):
        raise SpecError("must be a percentage, e.g. 99.9", where=f"{where}.objective")
    labels = item.get("labels") or {}
    if not isinstance(labels, dict):
        raise SpecError("must be a mapping", where=f"{where}.labels")
    labels = {str(k): str(v) for k, v in labels.items()}
    error_query = _events(item, where)
    threshold = bucket_threshold_ms(error_query)
    try:
        objective_obj = Objective(
            target=from_percent(float(objective)),
            threshold=threshold,
            op=cast(Any, labels.get(L + "op", "lte")) if threshold is not None else "lte",
        )
    except SpecError as exc:
        raise exc.relocated(f"{where}.objective", SpecError) from None
    try:
        slo = SLO(
            name=name if _valid_name(name) else dns_name(name),
            service=service,
            sli=_sli(labels, threshold is not None),
            objective=objective_obj,
            window=_window(labels),
            segment=_segment(labels, where),
            alerts=() if _alerts_disabled(item) else None,
        )
    except SpecError as exc:
        raise exc.relocated(_sloth_path(where, exc.where), SpecError) from None
    description = item.get("description")
    if isinstance(description, str) and description and description != statement(slo):
        slo = slo.with_changes(description=description)
    return slo


def _valid_name(name: str) -> bool:
    return bool(DNS_LABEL.match(name)) and len(name) <= 63


def _sloth_path(where: str, model_path: str | None) -> str:
    """A model field path as the Sloth path it came from."""
    path = model_path or ""
    if path.startswith(("objective", "sli.percentile")):
        return f"{where}.objective"
    if path.startswith("window"):
        return f"{where}.labels.{L}window"
    if path.startswith("labels."):
        return f"{where}.{path}"
    return f"{where}.{path}" if path else where


def _events(item: dict[str, Any], where: str) -> str:
    sli = item.get("sli")
    if not isinstance(sli, dict):
        raise SpecError("is required", where=f"{where}.sli")
    if "raw" in sli:
        raise SpecError(
            "a raw error-ratio query cannot be recomputed from request samples",
            where=f"{where}.sli.raw",
            hint="write the SLI as events: an error_query and a total_query counting requests",
        )
    if "plugin" in sli:
        raise SpecError(
            "SLI plugins cannot be recomputed from request samples",
            where=f"{where}.sli.plugin",
            hint="write the SLI as events: an error_query and a total_query",
        )
    events = sli.get("events")
    if not isinstance(events, dict):
        raise SpecError(
            "is required", where=f"{where}.sli.events", hint="give error_query and total_query"
        )
    for key in ("error_query", "total_query"):
        if not isinstance(events.get(key), str) or not events[key].strip():
            raise SpecError("is required", where=f"{where}.sli.events.{key}")
    return str(events["error_query"])


def _sli(labels: dict[str, str], latency: bool) -> SLI:
    if not latency:
        return SLI(kind="availability")
    metric = labels.get(L + "metric", LATENCY)
    if metric not in LATENCY_COLUMNS:
        raise SpecError(f"{metric!r} is not a latency column", where=f"labels.{L}metric")
    failed = labels.get(L + "failed_requests", "exclude")
    if failed not in ("exclude", "bad"):
        raise SpecError(f"{failed!r} is not allowed", where=f"labels.{L}failed_requests")
    return SLI(kind="latency", metric=metric, failed_requests=cast(Any, failed))


def _window(labels: dict[str, str]) -> TimeWindow:
    text = labels.get(L + "window")
    tz = labels.get(L + "window_tz", "UTC")
    if text is None:
        return TimeWindow(rolling_s=SLOTH_PERIOD_S, tz=tz)
    if text in CALENDARS:
        return TimeWindow(calendar=cast(Any, text), tz=tz)
    return TimeWindow(rolling_s=parse_duration(text, f"labels.{L}window"), tz=tz)


def _segment(labels: dict[str, str], where: str) -> tuple[tuple[str, str], ...]:
    text = labels.get(L + "segment")
    if text is None:
        return ()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SpecError(
            'must be a JSON object of column: value, e.g. {"endpoint": "chat"}',
            where=f"{where}.labels.{L}segment",
        )
    return tuple((str(k), str(v)) for k, v in data.items())


def _alerts_disabled(item: dict[str, Any]) -> bool:
    alerting = item.get("alerting")
    if not isinstance(alerting, dict):
        return False
    return all(
        isinstance(alerting.get(key), dict) and alerting[key].get("disable") is True
        for key in ("page_alert", "ticket_alert")
    )
