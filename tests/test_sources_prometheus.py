"""Prometheus source against a real Prometheus backfilled with the Alibaba GenAI histogram.

The expected figures come from the OpenMetrics file itself: the increase of every bucket
counter between consecutive samples (the first sample is the baseline, as for Prometheus),
counted in the minute that ends at the later sample. Per-day availability and attainment at
the histogram's own `le` bounds must come back exactly.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from sloview.errors import SourceError
from sloview.sources.aggregates import Aggregates
from sloview.sources.prometheus import PrometheusSource, parse_step
from tests import servers

OM = "prometheus_openmetrics_derived/alibaba_gentd26_genai_request_duration_seconds.om.txt"
METRIC = "genai_request_duration_seconds"
START, END = "2024-11-15", "2024-12-09"
DAY_S = 86_400
TOKEN = "tok-test-Hq39Zr"
_LINE = re.compile(r'^(\w+)_bucket\{status="(\w+)",le="([^"]+)"\} (\S+) (\d+)$')


@pytest.fixture(scope="session")
def aggregates(prom: servers.Prometheus) -> Aggregates:
    """The histogram read at a 15-minute step (the file's sample interval)."""
    source = PrometheusSource(
        prom.url, metric=METRIC, status_label="status", start=START, end=END, step="15m"
    )
    return source.aggregate()


@pytest.fixture(scope="session")
def expected(om_path: Path, prom: servers.Prometheus) -> dict[tuple[str, float], dict[int, float]]:
    """Per (status, le): requests per absolute UTC day, from consecutive sample differences.

    The backends differ at a series' first sample: Prometheus takes it as the baseline, while
    VictoriaMetrics counts a counter's first value as its increase (the counter started at 0),
    which is the requests that finished before the first scrape.
    """
    series: dict[tuple[str, float], list[tuple[int, float]]] = defaultdict(list)
    for line in om_path.read_text().splitlines():
        m = _LINE.match(line)
        if m:
            le = math.inf if m.group(3) == "+Inf" else float(m.group(3))
            series[(m.group(2), le)].append((int(m.group(5)), float(m.group(4))))
    out: dict[tuple[str, float], dict[int, float]] = {}
    for key, points in series.items():
        points.sort()
        per_day: dict[int, float] = defaultdict(float)
        if isinstance(prom, servers.VictoriaMetrics):
            per_day[(points[0][0] - 60) // DAY_S] += points[0][1]
        for (_, before), (stamp, after) in itertools.pairwise(points):
            # Requests of (t - step, t] are counted in the minute that ends at t.
            per_day[(stamp - 60) // DAY_S] += after - before
        out[key] = dict(per_day)
    return out


def days_of(agg: Aggregates, values: np.ndarray) -> dict[int, float]:
    days, _ = agg.day_of_bucket()
    sums = np.bincount(days, weights=values)
    first_day = agg.origin_ns // (DAY_S * 10**9)
    return {first_day + d: float(v) for d, v in enumerate(sums) if v}


def nonzero(d: dict[int, float]) -> dict[int, float]:
    return {k: v for k, v in d.items() if v}


def test_per_day_availability_and_attainment_equal_the_file(
    aggregates: Aggregates, expected: dict[tuple[str, float], dict[int, float]]
) -> None:
    agg = aggregates
    ok = expected[("SUCCEED", math.inf)]
    failed = expected[("FAILED", math.inf)]
    total = {d: ok.get(d, 0) + failed.get(d, 0) for d in set(ok) | set(failed)}
    assert days_of(agg, agg.ok) == nonzero(ok)
    assert days_of(agg, agg.total) == nonzero(total)
    assert agg.errors == 398
    # The trace has 26,790 finished requests; one finished before the first scrape, which
    # Prometheus takes as the baseline and VictoriaMetrics counts.
    assert agg.requests == sum(total.values()) in (26_789, 26_790)
    bounds = [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600]
    assert agg.edges_ms.tolist() == [0.0, *(b * 1000.0 for b in bounds), math.inf]
    for le in (10, 30, 60, 120):
        assert agg.latency.is_edge(le * 1000.0)
        good = days_of(agg, agg.good(le * 1000.0, "down"))
        assert good == nonzero(expected[("SUCCEED", float(le))])
    # Between bounds the answer snaps to them: 50 s lies between le=45 and le=60.
    assert agg.latency.snap(50_000.0) == (45_000.0, 60_000.0)
    lo, hi = agg.latency.good_bounds(50_000.0)
    assert days_of(agg, lo) == nonzero(expected[("SUCCEED", 45.0)])
    assert days_of(agg, hi) == nonzero(expected[("SUCCEED", 60.0)])
    assert "le" in agg.exactness
    assert agg.policy.startswith("Status words")


def test_chunks_respect_the_points_limit(prom: servers.Prometheus, aggregates: Aggregates) -> None:
    source = PrometheusSource(
        prom.url,
        metric=METRIC,
        status_label="status",
        start=START,
        end=END,
        step="15m",
        max_points=300,
    )
    assert len(source._chunks()) > 7
    chunked = source.aggregate()
    assert np.array_equal(chunked.total, aggregates.total)
    assert (chunked.counts != aggregates.counts).nnz == 0


def test_explicit_lists_and_whole_minute_steps(prom: servers.Prometheus) -> None:
    source = PrometheusSource(
        prom.url,
        metric=METRIC,
        status_label="status",
        good=("SUCCEED",),
        bad=("FAILED",),
        start="2024-11-20",
        end="2024-11-21",
        step="15m",
    )
    agg = source.aggregate()
    assert agg.requests > 0
    assert "Explicit lists" in agg.policy
    # A second histogram (here the same one standing in for TTFT) is read the same way.
    with_ttft = PrometheusSource(
        prom.url,
        metric=METRIC,
        ttft_metric=METRIC,
        status_label="status",
        start="2024-11-20",
        end="2024-11-21",
        step="15m",
    ).aggregate()
    assert with_ttft.ttft is not None
    assert (with_ttft.ttft.counts != with_ttft.counts).nnz == 0
    with pytest.raises(SourceError, match="whole number of minutes"):
        parse_step("90s")


# -- failures ------------------------------------------------------------------------------


def scan(*texts: str) -> None:
    for text in texts:
        for secret in (*servers.SECRETS, TOKEN):
            assert secret not in text, f"a secret leaked into: {text}"


def test_wrong_port(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    source = PrometheusSource(
        f"http://127.0.0.1:{servers.free_port()}",
        metric=METRIC,
        start=START,
        end=END,
        token=TOKEN,
    )
    with pytest.raises(SourceError, match="cannot reach Prometheus") as err:
        source.aggregate()
    assert "host and port" in str(err.value)
    scan(str(err.value), source.describe(), caplog.text)


def test_refused_auth(auth_prom: servers.Prometheus, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = PrometheusSource(
        auth_prom.url,
        metric=METRIC,
        start=START,
        end=END,
        username=servers.PROM_USER,
        password="not-" + servers.PROM_PASSWORD,
    )
    with pytest.raises(SourceError, match="refused the credentials") as err:
        wrong.aggregate()
    assert "token or user and password" in str(err.value)
    scan(str(err.value), wrong.describe(), caplog.text)
    # Right credentials (written into the URL) get through, to an empty server.
    host = auth_prom.url.removeprefix("http://")
    right = PrometheusSource(
        f"http://{servers.PROM_USER}:{servers.PROM_PASSWORD}@{host}",
        metric=METRIC,
        start=START,
        end=END,
    )
    assert right.describe() == f"Prometheus {auth_prom.url}, {METRIC}"
    with pytest.raises(SourceError, match="no series of genai_request_duration_seconds_bucket"):
        right.aggregate()
    scan(right.describe(), repr(right), caplog.text)


def test_failing_query(prom: servers.Prometheus) -> None:
    source = PrometheusSource(
        prom.url, metric=METRIC, start=START, end=END, matchers=(("status", "=~", "("),)
    )
    with pytest.raises(SourceError, match="the query failed") as err:
        source.aggregate()
    assert "label matchers" in str(err.value)


# The timeout is the client's, so one backend proves it: VictoriaMetrics on loopback can
# answer from its cache within a microsecond, which would make this a race rather than a test.
@pytest.mark.parametrize("prom", ["prometheus"], indirect=True)
def test_timeout(prom: servers.Prometheus) -> None:
    source = PrometheusSource(
        prom.url, metric=METRIC, start=START, end=END, timeout_s=1e-6, token=TOKEN
    )
    with pytest.raises(SourceError, match="did not answer within") as err:
        source.aggregate()
    scan(str(err.value))


def test_empty_results(prom: servers.Prometheus) -> None:
    missing = PrometheusSource(prom.url, metric="no_such_histogram", start=START, end=END)
    with pytest.raises(SourceError, match="no series of no_such_histogram_bucket") as err:
        missing.aggregate()
    assert "Check the metric name" in str(err.value)
    later = PrometheusSource(prom.url, metric=METRIC, start="2030-01-01", end="2030-01-02")
    with pytest.raises(SourceError, match="no series"):
        later.aggregate()
    wrong_label = PrometheusSource(
        prom.url, metric=METRIC, status_label="code", start=START, end=END, step="15m"
    )
    with pytest.raises(SourceError, match="no 'code' label"):
        wrong_label.aggregate()


def test_token_from_environment_is_sent_and_never_shown(prom: servers.Prometheus) -> None:
    env = {"SLOVIEW_METRICS_URL": prom.url, "SLOVIEW_METRICS_TOKEN": TOKEN}
    source = PrometheusSource(
        connection="metrics",
        metric=METRIC,
        status_label="status",
        start="2024-12-01",
        end="2024-12-02",
        step="15m",
        environ=env,
        secrets_path=Path("/nonexistent/secrets.toml"),
    )
    assert source._session().headers["Authorization"] == f"Bearer {TOKEN}"
    agg = source.aggregate()
    scan(source.describe(), repr(source), agg.source, *agg.notes)


def test_fast_matrix_parser_agrees_with_json() -> None:
    import json

    from sloview.sources.prometheus import _as_arrays, _parse_matrix

    body = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {"metric": {"le": "+Inf", "code": "5}]]"}, "values": [[1700000060, "3"]]},
                {"metric": {"le": "0.5"}, "values": [[1700000060.5, "1.25"], [1700000120, "0"]]},
            ],
        },
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    fast = _parse_matrix(raw)
    slow = [_as_arrays(s) for s in body["data"]["result"]]  # type: ignore[index]
    assert [s["metric"] for s in fast] == [s["metric"] for s in slow]
    for a, b in zip(fast, slow, strict=True):
        assert np.array_equal(a["t"], b["t"])
        assert np.array_equal(a["v"], b["v"])
