"""Prometheus rules for agreed SLOs: the SLI recordings and the burn-rate alerts sloview backtested.

The rule names and labels are Sloth's (`slo:sli_error:ratio_rate5m` ... with `sloth_id`,
`sloth_service`, `sloth_slo`, `sloth_window`; `slo:objective:ratio`, `slo:error_budget:ratio`,
`slo:period_error_budget_remaining:ratio`, `sloth_slo_info` ...; alerts labelled
`sloth_severity`), so the public Sloth Grafana dashboards work on them unchanged. What
differs from Sloth, and why:

- the alert rows are the SLO's own (`SLO.alert_windows`: the Workbook set fitted to its
  period, or the rows the room edited), with the windows, factors and severities the
  backtest used, so the alerts Prometheus fires are the ones sloview showed;
- the SLO-window recording is the true error ratio over the window (rate over 28d), not
  Sloth's mean of 5-minute ratios, which weighs a quiet 5 minutes like a busy one and so is
  not the SLI.

Per SLO three groups, as Sloth writes them: `sloth-slo-sli-recordings-ID` (the error ratio
over 5m, 30m, 1h, 2h, 6h, 1d, 3d, every alert window and the SLO window, each computed from
the raw counters so that any of them can be backfilled on its own), `sloth-slo-meta-
recordings-ID` and `sloth-slo-alerts-ID` (one alert per severity: page, ticket; an alert
fires while any of its rows has both windows burning faster than the row's factor).
Which SLOs can be rules at all is decided in `events.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sloview import __version__
from sloview.errors import SpecError
from sloview.export.common import (
    DEFAULT_SERVICE,
    Export,
    camel,
    format_shorthand,
    num_text,
    to_percent,
)
from sloview.export.events import event_queries
from sloview.export.source import MetricSource, promql_string
from sloview.export.yamlio import dump_documents
from sloview.model import SLO, AlertWindow
from sloview.wording import statement

# The windows Sloth records for every SLO (the Workbook's alert windows).
RULE_WINDOWS_S = (300, 1800, 3600, 7200, 6 * 3600, 86400, 3 * 86400)
ERROR_RATIO = "slo:sli_error:ratio_rate"
# Alert labels a pager routes on, per severity (as the Sloth export writes them).
SEVERITY_LABEL = {"page": "critical", "ticket": "warning"}
HEADER = (
    "# Prometheus rules written by sloview (rule names and labels as Sloth's); check them with\n"
    "# `promtool check rules FILE`. The alerts are the ones sloview backtested.\n"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class SloRules:
    """The rules of one SLO: its Sloth labels, recorded windows and alert expressions."""

    slo: SLO
    service: str
    error: str
    total: str
    windows: tuple[int, ...]
    alerts: tuple[tuple[str, tuple[AlertWindow, ...]], ...]

    @property
    def sloth_id(self) -> str:
        """`service-slo`, as Sloth builds it."""
        return f"{self.service}-{self.slo.name}"

    @property
    def labels(self) -> dict[str, str]:
        """The labels that identify this SLO's series: sloth_id, sloth_service, sloth_slo."""
        return {
            "sloth_id": self.sloth_id,
            "sloth_service": self.service,
            "sloth_slo": self.slo.name,
        }

    @property
    def alert_name(self) -> str:
        """`GenaiApiChatLatencyBudgetBurn` (the same name as in the Sloth export)."""
        return camel(self.service, self.slo.name, "budget", "burn")

    def selector(self, record: str) -> str:
        """`slo:sli_error:ratio_rate5m{sloth_id="...", ...}`."""
        inner = ", ".join(f"{k}={promql_string(v)}" for k, v in self.labels.items())
        return f"{record}{{{inner}}}"

    def ratio_expr(self, window_s: int) -> str:
        """The error ratio over a window, from the raw counters."""
        error, total = (
            q.replace("{{.window}}", window_text(window_s)) for q in (self.error, self.total)
        )
        return f"({error})\n/\n({total})"

    def row_expr(self, row: AlertWindow) -> str:
        """One multiwindow row: both windows burn faster than its factor."""
        budget = num_text(1 - self.slo.objective.target)
        factor = num_text(row.burn_rate)
        parts = [
            f"max({self.selector(ERROR_RATIO + window_text(w))} > ({factor} * {budget})) "
            "without (sloth_window)"
            for w in (row.short_s, row.long_s)
        ]
        return f"{parts[0]}\nand\n{parts[1]}"

    def alert_expr(self, rows: tuple[AlertWindow, ...]) -> str:
        """An alert over several rows: it fires while any row does."""
        return "\nor\n".join(f"(\n{self.row_expr(row)}\n)" for row in rows)


def window_text(seconds: int) -> str:
    """A Prometheus duration in the largest exact unit: 300 -> `5m`, 86400 -> `1d`."""
    return format_shorthand(seconds)


def period_s(slo: SLO) -> int:
    """The SLO window in seconds (a calendar period at its nominal length: a month is 30d)."""
    return int(slo.window.rolling_s or round(slo.window.period_hours * 3600))


def slo_rules(slo: SLO, source: MetricSource, service: str = "") -> SloRules:
    """What the rule file holds for one SLO (refusals and errors name the SLO)."""
    queries = event_queries(slo, source, target="a Prometheus rule file", strict=True)
    windows = {*RULE_WINDOWS_S, period_s(slo)}
    by_severity: dict[str, list[AlertWindow]] = {}
    for row in slo.alert_windows:
        windows.update((row.short_s, row.long_s))
        by_severity.setdefault(row.severity, []).append(row)
    return SloRules(
        slo=slo,
        service=service or slo.service or DEFAULT_SERVICE,
        error=queries.error,
        total=queries.total,
        windows=tuple(sorted(windows)),
        alerts=tuple((sev, tuple(rows)) for sev, rows in by_severity.items()),
    )


def to_prometheus_rules(slos: Sequence[SLO], source: MetricSource | None) -> Export:
    """One Prometheus rule file (three groups per SLO) for Occurrences SLOs on Prometheus."""
    if source is None or source.kind != "prometheus":
        raise SpecError(
            "Prometheus rules are PromQL: a Prometheus source is needed",
            where="source",
            hint="give --prometheus-histogram METRIC (a latency histogram in seconds) and "
            "--status-label for availability",
        )
    if not slos:
        raise SpecError("there is no SLO to export", where="slos")
    ids = [f"{s.service or DEFAULT_SERVICE}-{s.name}" for s in slos]
    for sloth_id in ids:
        if ids.count(sloth_id) > 1:
            raise SpecError(f"two SLOs have the id {sloth_id!r}", where="name", hint="rename one")
    groups: list[dict[str, Any]] = []
    warnings: list[str] = []
    for slo in slos:
        rules = slo_rules(slo, source)
        groups.extend(rule_groups(rules))
        warnings.extend(_lost(slo))
    return Export(
        format="prometheus-rules",
        text=dump_documents([{"groups": groups}], HEADER, blocks=True),
        warnings=tuple(warnings),
    )


def rule_groups(rules: SloRules) -> list[dict[str, Any]]:
    """The three rule groups of one SLO, named as Sloth names them."""
    slo, ids = rules.slo, rules.labels
    recordings = [
        {
            "record": ERROR_RATIO + window_text(w),
            "expr": rules.ratio_expr(w),
            "labels": {**ids, "sloth_window": window_text(w)},
        }
        for w in rules.windows
    ]
    target = slo.objective.target
    period = window_text(period_s(slo))
    where = "{" + ", ".join(f"{k}={promql_string(v)}" for k, v in ids.items()) + "}"
    on = " / on(sloth_id, sloth_slo, sloth_service) group_left\n"
    meta = [
        ("slo:objective:ratio", f"vector({num_text(target)})"),
        ("slo:error_budget:ratio", f"vector(1-{num_text(target)})"),
        ("slo:time_period:days", f"vector({num_text(period_s(slo) / 86400)})"),
        (
            "slo:current_burn_rate:ratio",
            f"{ERROR_RATIO}5m{where}\n{on}slo:error_budget:ratio{where}",
        ),
        (
            "slo:period_burn_rate:ratio",
            f"{ERROR_RATIO}{period}{where}\n{on}slo:error_budget:ratio{where}",
        ),
        ("slo:period_error_budget_remaining:ratio", f"1 - slo:period_burn_rate:ratio{where}"),
    ]
    meta_rules: list[dict[str, Any]] = [
        {"record": name, "expr": expr, "labels": dict(ids)} for name, expr in meta
    ]
    meta_rules.append(
        {
            "record": "sloth_slo_info",
            "expr": "vector(1)",
            "labels": {
                **ids,
                "sloth_mode": "sloview",
                "sloth_objective": num_text(to_percent(target)),
                "sloth_spec": "prometheus/v1",
                "sloth_version": f"sloview-{__version__}",
            },
        }
    )
    groups: list[dict[str, Any]] = [
        {"name": f"sloth-slo-sli-recordings-{rules.sloth_id}", "rules": recordings},
        {"name": f"sloth-slo-meta-recordings-{rules.sloth_id}", "rules": meta_rules},
    ]
    alerts = [alert_rule(rules, severity, rows) for severity, rows in rules.alerts]
    if alerts:
        groups.append({"name": f"sloth-slo-alerts-{rules.sloth_id}", "rules": alerts})
    return groups


def alert_rule(rules: SloRules, severity: str, rows: tuple[AlertWindow, ...]) -> dict[str, Any]:
    """The alert of one severity (its labels and annotations as Sloth writes them)."""
    labels = alert_labels(rules, severity)
    return {
        "alert": rules.alert_name,
        "expr": rules.alert_expr(rows),
        "labels": labels,
        "annotations": alert_annotations(rules, severity, rows),
    }


def alert_labels(rules: SloRules, severity: str) -> dict[str, str]:
    """The labels an alert rule adds to its series."""
    return {
        "category": rules.slo.sli.kind,
        "severity": SEVERITY_LABEL.get(severity, severity),
        "sloth_severity": severity,
    }


def alert_annotations(
    rules: SloRules, severity: str, rows: tuple[AlertWindow, ...], expand: bool = False
) -> dict[str, str]:
    """Summary (the SLO in words) and title (as Sloth's); `expand` fills in the labels."""
    service = rules.service if expand else "{{$labels.sloth_service}}"
    slo = rules.slo.name if expand else "{{$labels.sloth_slo}}"
    windows = ", ".join(r.label() for r in rows)
    return {
        "summary": statement(rules.slo),
        "title": f"({severity}) {service} {slo} SLO error budget burn rate is too fast.",
        "windows": windows,
    }


def _lost(slo: SLO) -> list[str]:
    """What the rules cannot carry, said once per SLO."""
    out = []
    if slo.window.calendar is not None:
        out.append(
            f"{slo.name}: Prometheus rules look back over rolling windows; the calendar "
            f"{slo.window.calendar} is recorded as a rolling {window_text(period_s(slo))} "
            "(the alerts do not depend on it)"
        )
    if slo.exclusions:
        out.append(
            f"{slo.name}: rules cannot skip maintenance; {len(slo.exclusions)} excluded time "
            "ranges count in Prometheus (silence the alerts in Alertmanager for them)"
        )
    if slo.alerts is not None and not slo.alerts:
        out.append(f"{slo.name}: this SLO has no alert rows, so the rule file has no alerts")
    return out
