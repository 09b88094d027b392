"""Goodput (requests/s that were good in every way) and latency against output length.

The goodput case is small enough to count by hand: five one-minute slices of chat and
embedding requests, judged by TTFT <= 500 ms AND TPOT <= 50 ms. TPOT is (latency - TTFT) /
(output tokens - 1), so each row below states its TPOT.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sloview import charts
from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.generative import goodput_by_segment, goodput_over_time, length_trend
from sloview.ingest import load_requests
from sloview.model import SLO, parse_condition
from sloview.simulate import simulate

CONDITIONS = (parse_condition("ttft_ms<=500"), parse_condition("tpot_ms<=50"))

# (second of the day, endpoint, status, latency ms, ttft ms, output tokens): why good or not
ROWS = [
    # minute 0: 6 requests, 2 good
    (0, "chat", 200, 600.0, 100.0, 11),  # TPOT 50: good (both limits are inclusive)
    (10, "chat", 200, 1100.0, 600.0, 11),  # TTFT 600 > 500
    (20, "chat", 200, 1200.0, 200.0, 11),  # TPOT 100 > 50
    (30, "chat", 500, 30000.0, None, None),  # failed
    (40, "chat", 200, 700.0, 300.0, 21),  # TPOT 20: good
    (50, "embeddings", 200, 40.0, None, 0),  # no TTFT: never goodput
    # minute 1: 3 requests, 3 good
    (60, "chat", 200, 300.0, 100.0, 11),  # TPOT 20
    (70, "chat", 200, 550.0, 500.0, 2),  # TTFT 500, TPOT 50
    (80, "chat", 200, 400.0, 400.0, 1),  # one token: no TPOT, so not judged -- see below
    # minute 2: 4 requests, 1 good
    (120, "chat", 200, 250.0, 50.0, 11),  # TPOT 20: good
    (130, "chat", 200, 1505.0, 500.0, 21),  # TPOT 50.25 > 50
    (140, "chat", 429, 3.0, None, None),  # rate limited: failed
    (150, "chat", 200, 900.0, 500.5, 11),  # TTFT 500.5 > 500
    # minute 3: no requests
    # minute 4: 2 requests, 2 good
    (240, "chat", 200, 150.0, 50.0, 11),  # TPOT 10
    (250, "chat", 200, 150.0, 50.0, 11),  # TPOT 10
]
# The one-token answer in minute 1 has no TPOT: it is not good (goodput counts good requests
# only), so minute 1 has 2 good of 3 requests.
REQUESTS = [6, 3, 4, 0, 2]
GOOD = [2, 2, 1, 0, 2]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    start = pd.Timestamp("2026-03-02", tz="UTC")
    frame = pd.DataFrame(
        {
            "timestamp": [
                (start + pd.Timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ") for s, *_ in ROWS
            ],
            "endpoint": [r[1] for r in ROWS],
            "status": [r[2] for r in ROWS],
            "latency_ms": [r[3] for r in ROWS],
            "ttft_ms": [r[4] for r in ROWS],
            "output_tokens": pd.array([r[5] for r in ROWS], dtype="Int32"),
        }
    )
    path = tmp_path_factory.mktemp("goodput") / "requests.csv"
    frame.to_csv(path, index=False)
    table = load_requests(path)
    assert table.rows == len(ROWS)
    assert "tpot_ms" in table.frame.columns
    return Engine(table)


AVAILABILITY = {"name": "up", "sli": {"kind": "availability"}, "objective": {"target": 0.99}}


def goodput_scope(engine: Engine) -> Scope:
    """The candidate whose goodput is drawn: a joint SLI on CONDITIONS over all requests."""
    sli = {"kind": "joint", "conditions": [c.to_dict() for c in CONDITIONS]}
    slo = SLO.from_dict({"name": "good", "sli": sli, "objective": {"target": 0.9}})
    return Scope.bind(engine, slo)


def test_goodput_over_time_per_minute_by_hand(engine: Engine) -> None:
    frame = goodput_over_time(goodput_scope(engine), 60)
    assert frame["start"].tolist() == list(
        pd.date_range("2026-03-02", periods=5, freq="min", tz="UTC")
    )
    assert frame["requests"].tolist() == REQUESTS
    assert frame["good"].tolist() == GOOD
    np.testing.assert_array_equal(frame["requests_per_s"], np.array(REQUESTS) / 60)
    np.testing.assert_array_equal(frame["goodput_per_s"], np.array(GOOD) / 60)
    share = frame["good_share"].tolist()
    assert share[:3] == [2 / 6, 2 / 3, 1 / 4]
    assert math.isnan(share[3])
    assert share[4] == 1.0


def test_goodput_over_two_minute_slices(engine: Engine) -> None:
    frame = goodput_over_time(goodput_scope(engine), 120)
    assert frame["requests"].tolist() == [9, 4, 2]
    assert frame["good"].tolist() == [4, 1, 2]
    assert frame["goodput_per_s"].tolist() == [4 / 120, 1 / 120, 2 / 120]


def test_goodput_per_segment_by_hand(engine: Engine) -> None:
    frame = goodput_by_segment(goodput_scope(engine), "endpoint").set_index("endpoint")
    assert frame.loc["chat", "requests"] == 14
    assert frame.loc["chat", "good"] == 7
    assert frame.loc["embeddings", "good"] == 0
    span_s = 250  # the measured span: from the first request to the last
    assert frame.loc["chat", "goodput_per_s"] == 7 / span_s
    assert frame.loc["chat", "requests_per_s"] == 14 / span_s
    assert frame.loc["chat", "good_share"] == 0.5


def goodput_slo(min_rate: float, **budgeting: object) -> SLO:
    return SLO.from_dict(
        {
            "name": "goodput",
            "sli": {
                "kind": "throughput",
                "unit": "goodput",
                "conditions": ["ttft_ms<=500", "tpot_ms<=50"],
            },
            "objective": {"target": 0.7, "threshold": min_rate, "op": "gte"},
            "window": {"calendar": "day"},
            "budgeting": {"method": "Timeslices", "slice": "1m", **budgeting},
        }
    )


def test_a_goodput_slo_simulates_per_slice_by_hand(engine: Engine) -> None:
    # At least 2 good requests a minute: minutes 0, 1 and 4 meet it, minute 2 does not, and
    # minute 3 has no requests (counted neither way, as for any throughput SLO by default).
    sim = simulate(Scope.bind(engine, goodput_slo(2 / 60)))
    assert (sim.overall.good, sim.overall.total) == (3, 4)
    assert sim.statement.startswith(
        "Goodput of requests (requests that succeed, get their first token within 500 ms and "
        "stream each token within 50 ms) is at least 0.0333333 requests/s in 70% of 1m slices"
    )
    # A slightly higher bar (more than 2 a minute) is met by no minute.
    assert simulate(Scope.bind(engine, goodput_slo(2.01 / 60))).overall.good == 0
    # Empty minutes counted bad: 3 of 5.
    bad_empty = simulate(Scope.bind(engine, goodput_slo(2 / 60, empty_slices="bad")))
    assert (bad_empty.overall.good, bad_empty.overall.total) == (3, 5)
    # Plain throughput of the same minutes is higher than goodput: every minute with
    # requests has at least 2.
    plain = simulate(
        Scope.bind(
            engine,
            SLO.from_dict(
                {
                    "name": "throughput",
                    "sli": {"kind": "throughput"},
                    "objective": {"target": 0.7, "threshold": 2 / 60, "op": "gte"},
                    "window": {"calendar": "day"},
                    "budgeting": {"method": "Timeslices", "slice": "1m"},
                }
            ),
        ),
    )
    assert (plain.overall.good, plain.overall.total) == (4, 4)


def test_a_joint_slo_on_the_same_requests_by_hand(engine: Engine) -> None:
    slo = SLO.from_dict(
        {
            "name": "joint",
            "sli": {"kind": "joint", "conditions": ["ttft_ms<=500", "tpot_ms<=50"]},
            "objective": {"target": 0.5},
            "window": {"calendar": "day"},
        }
    )
    sim = simulate(Scope.bind(engine, slo))
    # Valid: 15 requests - 1 embedding without TTFT - 1 one-token answer without TPOT.
    assert (sim.overall.good, sim.overall.total) == (7, 13)
    notes = " ".join(sim.notes)
    assert "1 successful request without a time to first token" in notes
    assert "1 successful request without a time per output token" in notes


def test_goodput_needs_conditions(engine: Engine) -> None:
    with pytest.raises(SpecError, match="at least one condition"):
        goodput_over_time(Scope.bind(engine, SLO.from_dict(AVAILABILITY)), 60)
    with pytest.raises(SpecError, match="whole number of minutes"):
        goodput_over_time(goodput_scope(engine), 90)


def test_goodput_chart(engine: Engine) -> None:
    frame = goodput_over_time(goodput_scope(engine), 60)
    fig = charts.goodput(frame, min_rate=2 / 60)
    names = [t.name for t in fig.data]
    assert names == ["throughput (all requests)", "goodput (good in every way)"]
    np.testing.assert_array_equal(fig.data[1].y, np.array(GOOD) / 60)
    assert fig.layout.shapes[0].y0 == 2 / 60


# -- latency against output length ----------------------------------------------------------


def test_length_trend_by_hand(tmp_path: Path) -> None:
    # Fitted rows: tokens 1..4 with latencies 110, 125, 125, 140. By hand: mean x 2.5, mean y
    # 125; Sxy = 45, Sxx = 5, Syy = 450: slope 9 ms/token, intercept 102.5 ms, R² = 0.9.
    # A failed request and a zero-token answer are left out of the fit.
    frame = pd.DataFrame(
        {
            "timestamp": [f"2026-03-02T00:00:0{i}Z" for i in range(6)],
            "latency_ms": [110.0, 125.0, 125.0, 140.0, 5000.0, 30.0],
            "ttft_ms": [10.0, 10.0, 10.0, 10.0, None, None],
            "output_tokens": pd.array([1, 2, 3, 4, 3, 0], dtype="Int32"),
            "status": [200, 200, 200, 200, 500, 200],
        }
    )
    path = tmp_path / "lengths.csv"
    frame.to_csv(path, index=False)
    trend = length_trend(Engine(load_requests(path)))
    assert trend.requests == 4
    assert trend.ms_per_token == pytest.approx(9.0, rel=1e-12)
    assert trend.intercept_ms == pytest.approx(102.5, rel=1e-12)
    assert trend.r_squared == pytest.approx(0.9, rel=1e-12)
    assert trend.left_out == {"failed": 1, "no output token count": 0, "no output tokens": 1}
    band = trend.bands.set_index("band")
    assert band.loc["<=256", "requests"] == 4
    assert band.loc["<=256", "latency_p50_ms"] == 125.0
    assert band.loc["<=256", "latency_p95_ms"] == pytest.approx(140 - 0.15 * 15, rel=1e-12)
    assert band.loc[">1024", "requests"] == 0
    np.testing.assert_array_equal(trend.predict([0, 10]), [102.5, 192.5])


def test_length_trend_on_the_sample_matches_numpy_and_pandas(sample_path: Path) -> None:
    table = load_requests(sample_path)
    engine = Engine(table)
    trend = length_trend(engine.view((("endpoint", "chat"),)))
    f = table.frame
    chat = f[(f["endpoint"] == "chat") & f["ok"]]
    x = chat["output_tokens"].astype("float64")
    y = chat["latency_ms"]
    keep = x >= 1
    slope, intercept = np.polyfit(x[keep], y[keep], 1)
    assert trend.ms_per_token == pytest.approx(slope, rel=1e-9)
    assert trend.intercept_ms == pytest.approx(intercept, rel=1e-9)
    assert trend.r_squared == pytest.approx(np.corrcoef(x[keep], y[keep])[0, 1] ** 2, rel=1e-9)
    assert 15 < trend.ms_per_token < 40  # atlas models stream at ~9-24 ms per token
    bands = trend.bands.set_index("band")
    for label, lo, hi in (("<=256", 0, 256), ("257-1024", 257, 1024)):
        inside = keep & (x >= lo) & (x <= hi)
        assert bands.loc[label, "requests"] == inside.sum()
        assert bands.loc[label, "latency_p50_ms"] == pytest.approx(y[inside].quantile(0.5))
        assert bands.loc[label, "latency_p95_ms"] == pytest.approx(y[inside].quantile(0.95))
    # Chat answers are capped at 1,024 tokens.
    assert bands.loc[">1024", "requests"] == 0
    # A deterministic sample: the same rows every time.
    again = length_trend(engine.view((("endpoint", "chat"),)))
    pd.testing.assert_frame_equal(trend.sample, again.sample)
    assert len(trend.sample) == 4000

    fig = charts.latency_vs_tokens(trend)
    assert fig.data[0].type == "scattergl"
    assert len(fig.data[0].x) == 4000
    fit = fig.data[1]
    np.testing.assert_allclose(fit.y, trend.predict(np.asarray(fit.x)))
    assert fig.data[2].name == "band median"


def test_length_trend_needs_token_counts(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    pd.DataFrame(
        {"timestamp": ["2026-01-01T00:00:00Z"], "latency_ms": [10], "status": [200]}
    ).to_csv(path, index=False)
    with pytest.raises(SpecError, match="no output token counts"):
        length_trend(Engine(load_requests(path)))


def test_a_latency_slo_per_output_length_band_is_a_segment_slo(sample_path: Path) -> None:
    # Length-aware latency SLOs need nothing new in the engine: the `output_length` segment
    # (bands of output tokens) names the requests, and the band limits agree with
    # `length_trend`'s.
    table = load_requests(sample_path)
    engine = Engine(table)
    f = table.frame
    tokens = f["output_tokens"].astype("float64")
    chat = (f["endpoint"] == "chat") & f["ok"]
    trend = length_trend(engine.view((("endpoint", "chat"),))).bands.set_index("band")
    for band, lo, hi, threshold in (("<=256", 0, 256, 6000.0), ("257-1024", 257, 1024, 20000.0)):
        slo = SLO.from_dict(
            {
                "name": "by-length",
                "sli": {"kind": "latency"},
                "objective": {"target": 0.95, "threshold": threshold},
                "segment": {"endpoint": "chat", "output_length": band},
            }
        )
        sim = simulate(Scope.bind(engine, slo))
        inside = chat & (tokens >= lo) & (tokens <= hi)
        good = inside & (f["latency_ms"] <= threshold)
        assert (sim.overall.good, sim.overall.total) == (good.sum(), inside.sum())
        assert trend.loc[band, "requests"] == inside.sum()
