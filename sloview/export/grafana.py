"""A Grafana dashboard over the exported Prometheus rules, built with grafana-foundation-sdk.

One row per SLO, every query reading the recording rules of `prometheus_rules.py` (so the
dashboard shows what Prometheus evaluates, not a second computation):

- SLI: the good share over 5 minutes and over the SLO window, the target as a threshold;
- attainment over the SLO window (stat, red under the target);
- error budget remaining over the window (stat) and its burndown over time;
- burn rates over each alert row's long and short windows, with the row's factor drawn;
- alert state: the page and ticket alerts firing (Prometheus's `ALERTS` series).

The dashboard has a `datasource` variable (any Prometheus-API data source: Prometheus,
VictoriaMetrics, Mimir, Thanos ...). The JSON is built by Grafana's own dashboards-as-code
library (`grafana-foundation-sdk`, generated from Grafana's dashboard schema), never by hand.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import (
    dashboard,
    prometheus,
    stat,
    statetimeline,
    timeseries,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from sloview.errors import SpecError
from sloview.export.common import Export, dns_name, num_text
from sloview.export.prometheus_rules import (
    ERROR_RATIO,
    SloRules,
    period_s,
    slo_rules,
    window_text,
)
from sloview.export.source import MetricSource
from sloview.model import SLO
from sloview.wording import statement

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
# Panel heights and widths on Grafana's 24-column grid.
STAT_W, WIDE_W, HEIGHT = 4, 8, 8


def to_grafana(slos: Sequence[SLO], source: MetricSource | None) -> Export:
    """A dashboard (Grafana JSON) over the rules `--format prometheus-rules` writes."""
    if source is None or source.kind != "prometheus":
        raise SpecError(
            "the dashboard reads Prometheus rules: a Prometheus source is needed",
            where="source",
            hint="give the same --prometheus-histogram and --status-label as for the rules",
        )
    if not slos:
        raise SpecError("there is no SLO to export", where="slos")
    rules = [slo_rules(slo, source) for slo in slos]
    services = sorted({r.service for r in rules})
    title = f"SLOs of {', '.join(services)}"
    board = (
        dashboard.Dashboard(title)
        .uid(dns_name("sloview", *services)[:40])
        .description(
            "Written by sloview over the recording rules of `sloview export --format "
            "prometheus-rules` (Sloth's names): the SLIs, budgets, burn rates and alerts the "
            "workshop agreed and backtested."
        )
        .tags(["sloview", "slo", *services])
        .time("now-7d", "now")
        .refresh("1m")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .with_variable(
            dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")
        )
    )
    for r in rules:
        board = _slo_row(board, r)
    encoded = JSONEncoder(sort_keys=True, indent=2).encode(board.build())
    # Round-trip through json so the text is plain, stable JSON with a final newline.
    return Export(format="grafana", text=json.dumps(json.loads(encoded), indent=2) + "\n")


def _query(expr: str, legend: str, ref: str) -> prometheus.Dataquery:
    return (
        prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DATASOURCE)
    )


def _thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=v, color=c) for v, c in steps])
    )


def _slo_row(board: dashboard.Dashboard, rules: SloRules) -> dashboard.Dashboard:
    slo = rules.slo
    target = slo.objective.target
    period = window_text(period_s(slo))
    ratio_5m = rules.selector(ERROR_RATIO + "5m")
    ratio_period = rules.selector(ERROR_RATIO + period)
    remaining = rules.selector("slo:period_error_budget_remaining:ratio")
    board = board.with_row(dashboard.Row(f"{slo.name}: {statement(slo)}"[:120]))
    board = board.with_panel(
        timeseries.Panel()
        .title("SLI: share of good events")
        .description(f"Good events over 5 minutes and over the SLO window ({period}).")
        .datasource(DATASOURCE)
        .unit("percentunit")
        .max(1)
        .with_target(_query(f"1 - {ratio_5m}", "5m", "A"))
        .with_target(_query(f"1 - {ratio_period}", period, "B"))
        .thresholds(_thresholds((None, "red"), (target, "green")))
        .thresholds_style(_threshold_line())
        .height(HEIGHT)
        .span(WIDE_W)
    )
    board = board.with_panel(
        stat.Panel()
        .title(f"Attainment ({period})")
        .description(f"Good events over the last {period}; the target is {num_text(target)}.")
        .datasource(DATASOURCE)
        .unit("percentunit")
        .decimals(3)
        .with_target(_query(f"1 - {ratio_period}", "attainment", "A"))
        .thresholds(_thresholds((None, "red"), (target, "green")))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .height(HEIGHT)
        .span(STAT_W)
    )
    board = board.with_panel(
        stat.Panel()
        .title("Error budget remaining")
        .description(f"1 - (bad share over {period}) / (1 - target); negative when overspent.")
        .datasource(DATASOURCE)
        .unit("percentunit")
        .decimals(1)
        .with_target(_query(remaining, "remaining", "A"))
        .thresholds(_thresholds((None, "red"), (0.0, "orange"), (0.25, "green")))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .height(HEIGHT)
        .span(STAT_W)
    )
    board = board.with_panel(
        timeseries.Panel()
        .title("Error budget burndown")
        .description(f"Budget remaining over the rolling {period}, evaluated every minute.")
        .datasource(DATASOURCE)
        .unit("percentunit")
        .with_target(_query(remaining, "budget remaining", "A"))
        .thresholds(_thresholds((None, "red"), (0.0, "green")))
        .thresholds_style(_threshold_line())
        .height(HEIGHT)
        .span(WIDE_W)
    )
    budget = num_text(1 - target)
    burn = (
        timeseries.Panel()
        .title("Burn rates")
        .description(
            "Error ratio over each alert window divided by the error budget (1 - target); "
            "an alert row fires while both its windows are above its factor."
        )
        .datasource(DATASOURCE)
        .unit("x")
        .height(HEIGHT)
        .span(16)
    )
    refs = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    windows = sorted({w for _, rows in rules.alerts for r in rows for w in (r.short_s, r.long_s)})
    for w in windows:
        ratio = rules.selector(ERROR_RATIO + window_text(w))
        burn = burn.with_target(_query(f"{ratio} / {budget}", window_text(w), next(refs)))
    factors = sorted({r.burn_rate for _, rows in rules.alerts for r in rows})
    for factor in factors:
        text = num_text(factor)
        burn = burn.with_target(_query(f"vector({text})", f"factor {text}", next(refs)))
    board = board.with_panel(burn)
    labels = ", ".join(f'{k}="{v}"' for k, v in rules.labels.items())
    return board.with_panel(
        statetimeline.Panel()
        .title("Alerts firing")
        .description("Prometheus's ALERTS series of this SLO's page and ticket alerts.")
        .datasource(DATASOURCE)
        .with_target(
            _query(
                f'max by (sloth_severity) (ALERTS{{{labels}, alertstate="firing"}})',
                "{{sloth_severity}}",
                "A",
            )
        )
        .thresholds(_thresholds((None, "green"), (1.0, "red")))
        .height(HEIGHT)
        .span(8)
    )


def _threshold_line() -> common_builders.GraphThresholdsStyleConfig:
    """Draw thresholds as a line on time series."""
    return common_builders.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.LINE)
