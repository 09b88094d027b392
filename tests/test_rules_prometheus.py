"""The exported rules, evaluated by a real Prometheus over real history, equal sloview's backtest.

See `tests/rule_backtest.py` for how: the Alibaba GenAI serving trace scraped every minute
(checked against the shared 15-minute file point by point), the rule file of
`sloview export --format prometheus-rules`, its recordings evaluated by Prometheus at every
minute and backfilled, its alert expressions range-queried verbatim.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import servers
from tests.conftest import require
from tests.rule_backtest import Comparison, compare


@pytest.fixture(scope="module")
def comparison(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    try:
        servers.prometheus_bins()
    except servers.ServerMissingError as exc:
        require(False, str(exc))
    return compare(realdata, tmp_path_factory.mktemp("rules-vs-backtest"))


def test_the_minute_encoding_holds_the_shared_files_counts(comparison: Comparison) -> None:
    # Every _count point of prometheus_openmetrics_derived/ (2 statuses x 2,212 points).
    assert comparison.derived_points_checked == 4424


def test_every_recording_equals_sloviews_sli_over_the_same_window(comparison: Comparison) -> None:
    windows = {(w.slo, w.window): w for w in comparison.windows}
    assert {w for _, w in windows} == {"5m", "30m", "1h", "2h", "6h", "1d", "3d", "28d"}
    for figure in comparison.windows:
        assert figure.compared > 10_000, figure
        assert figure.missing_in_prometheus == 0, figure
        assert figure.extra_in_prometheus == 0, figure
        assert figure.max_abs_diff <= 0.001, figure  # 0.1% absolute, as the issue asks


def test_prometheus_fires_the_alerts_the_backtest_showed(comparison: Comparison) -> None:
    by = {(a.slo, a.alert): a for a in comparison.alerts}
    # The real trace trips pages and tickets of the availability SLO: the check has teeth.
    assert by[("image-availability", "page alert")].sloview >= 5
    assert by[("image-availability", "ticket alert")].sloview >= 5
    for figure in comparison.alerts:
        assert figure.unmatched_sloview == [], figure
        assert figure.unmatched_prometheus == [], figure
        assert figure.matched == figure.sloview == figure.prometheus, figure
        assert all(abs(o) <= 60 for o in figure.offsets_s), figure  # one evaluation step
