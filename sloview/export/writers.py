"""Every export format in one table: the CLI's `--format` choices and the Export page's."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sloview.export.common import Export
from sloview.export.grafana import to_grafana
from sloview.export.openslo import to_openslo
from sloview.export.prometheus_rules import to_prometheus_rules
from sloview.export.sloth import to_sloth
from sloview.export.source import MetricSource
from sloview.model import SLO

Writer = Callable[[Sequence[SLO], MetricSource | None], Export]
# format -> (writer, what it is, default file name)
WRITERS: dict[str, tuple[Writer, str, str]] = {
    "openslo": (to_openslo, "OpenSLO v1", "openslo.yaml"),
    "sloth": (to_sloth, "Sloth prometheus/v1", "sloth.yaml"),
    "prometheus-rules": (to_prometheus_rules, "Prometheus rules", "slo-rules.yml"),
    "grafana": (to_grafana, "a Grafana dashboard", "slo-dashboard.json"),
}
# Formats whose queries are PromQL over the rules (a Prometheus source is required).
PROMETHEUS_FORMATS = ("sloth", "prometheus-rules", "grafana")


def write_export(fmt: str, slos: Sequence[SLO], source: MetricSource | None) -> Export:
    """The SLOs in one of `WRITERS`' formats."""
    return WRITERS[fmt][0](slos, source)
