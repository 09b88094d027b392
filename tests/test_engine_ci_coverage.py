"""Do sloview's 95% confidence intervals cover the truth at least 93% of the time?

Synthetic replicates with a known true proportion or percentile; seeded, so the verdicts are
reproducible. Both intervals are exact/conservative constructions, so coverage should be at or
above 95%; 93% leaves room for the randomness of a finite number of replicates.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.ingest.mapping import ResolvedMapping
from sloview.ingest.table import RequestTable
from sloview.model import SLO
from sloview.simulate import simulate
from sloview.stats import clopper_pearson, percentile_ci

pytestmark = pytest.mark.slow
REPLICATES = 1000
MIN_COVERAGE = 0.93


@pytest.mark.parametrize(
    ("n", "p"), [(20, 0.5), (60, 0.9), (300, 0.99), (2000, 0.995), (10_000, 0.999)]
)
def test_clopper_pearson_covers_the_true_proportion(n: int, p: float) -> None:
    rng = np.random.default_rng(n)
    good = rng.binomial(n, p, REPLICATES)
    covered = 0
    for k in good:
        lo, hi = clopper_pearson(int(k), n)
        covered += lo <= p <= hi
    assert covered / REPLICATES >= MIN_COVERAGE


def _table(ok: np.ndarray) -> RequestTable:
    n = ok.size
    ts = pd.Timestamp("2026-05-04", tz="UTC").value + np.arange(n, dtype=np.int64) * 10**9
    frame = pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(ts.view("datetime64[ns]")).tz_localize("UTC"),
            "latency_ms": np.full(n, 10.0),
            "ok": ok,
        }
    )
    mapping = ResolvedMapping(
        source_format="memory",
        timestamp="ts",
        latency="latency_ms",
        latency_unit="ms",
        status=None,
        ok_column=None,
        policy_description="synthetic",
        ttft=None,
        ttft_unit=None,
        output_tokens=None,
        segments=(),
        where=(),
        tz="UTC",
    )
    return RequestTable(frame=frame, source_name="synthetic", mapping=mapping, rows_read=n)


def test_the_simulated_attainment_interval_covers_the_true_success_rate() -> None:
    # End to end: requests that each succeed with probability 0.98, simulated as an SLO.
    rng = np.random.default_rng(2026)
    slo = SLO.from_dict(
        {"name": "coverage", "sli": {"kind": "availability"}, "objective": {"target": 0.98}}
    )
    covered = 0
    replicates = 500
    for _ in range(replicates):
        overall = simulate(Scope.bind(Engine(_table(rng.random(400) < 0.98)), slo)).overall
        covered += overall.ci_low <= 0.98 <= overall.ci_high
    assert covered / replicates >= MIN_COVERAGE


DISTRIBUTIONS = {
    "lognormal": (lambda rng, n: rng.lognormal(5.0, 1.0, n), sps.lognorm(1.0, scale=math.exp(5))),
    "exponential": (lambda rng, n: rng.exponential(200.0, n), sps.expon(scale=200.0)),
    "uniform": (lambda rng, n: rng.uniform(0, 1000, n), sps.uniform(0, 1000)),
}


@pytest.mark.parametrize("q", [50.0, 95.0, 99.0])
@pytest.mark.parametrize("n", [1000, 4000])
@pytest.mark.parametrize("dist", list(DISTRIBUTIONS))
def test_percentile_ci_covers_the_true_percentile(dist: str, n: int, q: float) -> None:
    draw, law = DISTRIBUTIONS[dist]
    truth = float(law.ppf(q / 100))
    rng = np.random.default_rng([list(DISTRIBUTIONS).index(dist), n, int(q)])
    covered = have = 0
    for _ in range(REPLICATES):
        lo, hi = percentile_ci(np.sort(draw(rng, n)), q)
        if math.isnan(lo):
            continue
        have += 1
        covered += lo <= truth <= hi
    assert have == REPLICATES  # 1000 values are enough for a 95% interval of the p99
    assert covered / have >= MIN_COVERAGE


def test_percentile_ci_refuses_when_the_data_are_too_few() -> None:
    # 50 values: the p99 lies beyond the largest one with more than 2.5% probability.
    lo, hi = percentile_ci(np.arange(50.0), 99.0)
    assert math.isnan(lo)
    assert math.isnan(hi)
