"""Composite SLOs in OpenSLO v1: one `SLO` document whose objectives carry their indicators.

OpenSLO v1 writes a composite SLO as an SLO whose `objectives[]` each have their own
`indicator` (or `indicatorRef`) and an optional `compositeWeight` (> 0, default 1), sharing
the SLO's `timeWindow` and its one `budgetingMethod` ("all composite objectives need to be
calculated with one type of error budget calculating method"). So:

- writing: a composite whose objectives share a budgeting method becomes one such document
  (each objective's target, op/value and time slices as for a single SLO; its queries from
  the metric source); the whole composite is also kept as JSON in the `sloview.dev/composite`
  annotation, so sloview reads back exactly what it wrote (segments, failed-request policy,
  alert rows ... that OpenSLO's objective has no place for). A composite mixing methods
  cannot be one OpenSLO document: its objectives are written as separate SLOs, with a
  warning that says so;
- reading: the annotation when present; otherwise each objective becomes an SLO of the
  composite from its own indicator, as a single SLO's would, weighted by `compositeWeight`.
"""

from __future__ import annotations

import json
from typing import Any

from sloview.composite_slo import CompositeSLO
from sloview.errors import SpecError
from sloview.export.common import dns_name
from sloview.export.openslo import (
    A,
    _display_name,
    _doc,
    _objective,
    _sli_name,
    _time_window,
    _truncate,
    service_name,
)
from sloview.export.source import MetricSource, indicator_queries, is_threshold_metric
from sloview.wording import composite_statement


def composite_doc(
    composite: CompositeSLO, src: MetricSource, service: str
) -> tuple[dict[str, Any], list[str]]:
    """The OpenSLO `SLO` document of a composite, and the writer's warnings."""
    method = composite.budgeting_method
    if method is None:
        raise SpecError(
            "OpenSLO composites share one budgeting method, and these objectives mix "
            + ", ".join(sorted({o.budgeting.method for o in composite.objectives})),
            where=f"{composite.name}: composite",
        )
    warnings: list[str] = []
    objectives = []
    for slo, weight in zip(composite.objectives, composite.weights, strict=True):
        queries = indicator_queries(slo, src)
        warnings.extend(queries.warnings)
        if is_threshold_metric(slo):
            sli_spec: dict[str, Any] = {"thresholdMetric": queries.value}
        else:
            sli_spec = {
                "ratioMetric": {"counter": True, "good": queries.good, "total": queries.total}
            }
        objective: dict[str, Any] = {
            "displayName": _truncate(f"{slo.name}: {_display_name(slo)}", 63)
        }
        objective.update(_objective(slo))
        objective["indicator"] = {
            "metadata": {"name": dns_name(slo.name, "sli"), "displayName": _sli_name(slo)},
            "spec": sli_spec,
        }
        objective["compositeWeight"] = weight
        objectives.append(objective)
    metadata: dict[str, Any] = {
        "name": composite.name,
        "displayName": _truncate(f"composite of {len(objectives)} objectives", 63),
        "annotations": {A + "composite": json.dumps(composite.to_dict(), ensure_ascii=False)},
    }
    spec = {
        "description": _truncate(composite_statement(composite), 1050),
        "service": service,
        "timeWindow": [_time_window(composite.window)],
        "budgetingMethod": method,
        "objectives": objectives,
    }
    return _doc("SLO", metadata, spec), warnings


def composite_service(composite: CompositeSLO) -> str:
    """The OpenSLO service of a composite (its own, else its first objective's)."""
    if composite.service:
        return service_name(composite.objectives[0].with_changes(service=composite.service))
    return service_name(composite.objectives[0])


def read_annotation(text: str, where: str) -> CompositeSLO:
    """The composite sloview kept in `sloview.dev/composite`."""
    try:
        data = json.loads(text)
    except ValueError:
        raise SpecError("is not valid JSON", where=where) from None
    try:
        return CompositeSLO.from_dict(data)
    except SpecError as exc:
        raise exc.relocated(f"{where} {exc.where or ''}".strip(), SpecError) from None
