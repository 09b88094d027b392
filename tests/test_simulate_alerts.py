"""Alert backtest on constructed incidents whose firing times are worked out by hand.

Every table here has constant traffic: N = 50 requests at the start of every minute for 40 days
(2026-01-05 00:00 UTC, a Monday, to 2026-02-14), no errors except in the constructed incident.
The SLO is availability 99.9% over a rolling 30 days with the SRE Workbook alerts for 30 days:

    page   1h/5m  x14.4   (fires after 2% of a 30-day budget at a steady burn)
    page   6h/30m x6      (5%)
    ticket 1d/2h  x3      (10%)
    ticket 3d/6h  x1      (10%)

The rules the engine applies (sloview/simulate/), restated:

- burn over a window = (bad / valid in the window) / (1 - target); budget 1 - 0.999 = 0.001;
- a rule is evaluated at the end of every minute and fires while BOTH its windows burn strictly
  faster than its factor;
- a rule is not evaluated before the data cover its long window;
- a firing interval runs from the first minute-end at which the rule fires to the LAST minute-end
  at which it still fires (the rule resolves at the next evaluation, one minute later);
- two firings of one rule separated by at most one short window of silence are one firing.

Incident minutes carry k failing requests of N. With k = 1 the error rate is 2% and the burn is
0.02 / 0.001 = 20. Over a window of W minutes holding m incident minutes the burn is 20 m / W.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.ingest.mapping import ResolvedMapping
from sloview.ingest.table import RequestTable
from sloview.model import SLO, AlertWindow
from sloview.simulate import Simulation, simulate

N = 50
DAYS = 40
START = pd.Timestamp("2026-01-05 00:00", tz="UTC")
MINUTES = DAYS * 1440
# The budget of a full rolling 30 days: 0.001 x 30 days x 1440 minutes x 50 requests.
BUDGET_30D = 0.001 * 30 * 1440 * N  # = 2160 failed requests
# The incident starts on day 35 at 10:00, well after the data cover the 30-day window.
INCIDENT_OFFSET = 35 * 1440 + 10 * 60
INCIDENT = START + pd.Timedelta(minutes=INCIDENT_OFFSET)

PAGE_1H, PAGE_6H, TICKET_1D, TICKET_3D = (
    "page 1h/5m x14.4",
    "page 6h/30m x6",
    "ticket 1d/2h x3",
    "ticket 3d/6h x1",
)


def minutes(n: int) -> pd.Timedelta:
    return pd.Timedelta(minutes=n)


def minute_table(bad: np.ndarray, per_minute: int = N) -> RequestTable:
    """`per_minute` requests spread over every minute from START; the first bad[i] of minute i
    fail. Built directly in canonical form (ts, latency_ms, ok)."""
    n_min = bad.size
    offsets = np.arange(per_minute, dtype=np.int64) * (60 * 10**9 // per_minute)
    ts = (START.value + np.arange(n_min, dtype=np.int64)[:, None] * 60 * 10**9 + offsets).ravel()
    ok = (np.arange(per_minute)[None, :] >= bad[:, None]).ravel()
    frame = pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(ts.view("datetime64[ns]")).tz_localize("UTC"),
            "latency_ms": np.full(ts.size, 100.0),
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
        policy_description="constructed",
        ttft=None,
        ttft_unit=None,
        output_tokens=None,
        segments=(),
        where=(),
        tz="UTC",
    )
    return RequestTable(frame=frame, source_name="constructed", mapping=mapping, rows_read=ts.size)


def availability_slo(alerts: tuple[AlertWindow, ...] | None = None, target: float = 0.999) -> SLO:
    return SLO.from_dict(
        {
            "name": "availability",
            "sli": {"kind": "availability"},
            "objective": {"target": target},
            "window": {"rolling": "30d"},
        }
    ).with_changes(alerts=alerts)


def run(bad: np.ndarray, slo: SLO | None = None, per_minute: int = N) -> Simulation:
    return simulate(Scope.bind(Engine(minute_table(bad, per_minute)), slo or availability_slo()))


def firings_of(sim: Simulation, label: str) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    return [(f.start, f.end) for f in sim.firings if f.rule.label() == label]


def test_the_default_alerts_for_30_days_are_the_workbook_table() -> None:
    rows = availability_slo().alert_windows
    assert [r.label() for r in rows] == [PAGE_1H, PAGE_6H, TICKET_1D, TICKET_3D]
    # Budget spent by the time a steady burn trips each row: 2%, 5%, 10%, 10% of 720 hours.
    spent = [r.budget_spent_when_firing(720) for r in rows]
    assert spent == pytest.approx([0.02, 0.05, 0.10, 0.10])


# -- a 4-hour incident at 2% errors (burn 20) ---------------------------------------------------

INCIDENT_MINUTES = 240
INCIDENT_END = INCIDENT + minutes(INCIDENT_MINUTES)


@pytest.fixture(scope="module")
def incident() -> Simulation:
    bad = np.zeros(MINUTES, dtype=np.int64)
    bad[INCIDENT_OFFSET : INCIDENT_OFFSET + INCIDENT_MINUTES] = 1
    return run(bad)


# Worked out by hand. m = incident minutes seen so far, j = minutes since the incident ended.
#
# page 1h/5m x14.4: long 20 m/60 > 14.4  <=>  m > 43.2  <=>  m >= 44 (the short window is at
#   20 by then): first fires at the end of incident minute 44.  After the end the 5-minute
#   window holds 5 - j incident minutes: 20 (5 - j)/5 > 14.4  <=>  j <= 1.
# page 6h/30m x6: 20 m/360 > 6  <=>  m > 108 (at m = 108 the burn is exactly 6: not greater)
#   => m >= 109.  After: 20 (30 - j)/30 > 6  <=>  30 - j > 9  <=>  j <= 20 (the 6h window
#   still burns 20 x 240/360 = 13.3).
# ticket 1d/2h x3: 20 m/1440 > 3  <=>  m > 216  =>  m >= 217.  After: the 2h window holds
#   120 - j incident minutes: 20 (120 - j)/120 > 3  <=>  120 - j > 18  <=>  j <= 101 (the 1d
#   window burns 20 x 240/1440 = 3.33 > 3 all the while).
# ticket 3d/6h x1: 20 m/4320 > 1  <=>  m > 216  =>  m >= 217 (the same minute: both tickets are
#   designed to fire at 10% of the budget).  After: the 6h window holds all 240 incident minutes
#   until j = 120, then 360 - j: 20 (360 - j)/360 > 1  <=>  360 - j > 18  <=>  j <= 341.
EXPECTED_INCIDENT = {
    PAGE_1H: (INCIDENT + minutes(44), INCIDENT_END + minutes(1), 44),
    PAGE_6H: (INCIDENT + minutes(109), INCIDENT_END + minutes(20), 109),
    TICKET_1D: (INCIDENT + minutes(217), INCIDENT_END + minutes(101), 217),
    TICKET_3D: (INCIDENT + minutes(217), INCIDENT_END + minutes(341), 217),
}


@pytest.mark.parametrize("label", list(EXPECTED_INCIDENT))
def test_each_rule_fires_once_at_the_minute_worked_out_by_hand(
    incident: Simulation, label: str
) -> None:
    start, end, _ = EXPECTED_INCIDENT[label]
    assert firings_of(incident, label) == [(start, end)]


@pytest.mark.parametrize("label", list(EXPECTED_INCIDENT))
def test_budget_spent_when_each_rule_fires(incident: Simulation, label: str) -> None:
    # By the first firing, m requests have failed (one per incident minute) out of a rolling
    # 30 days whose budget is 2160 failures: 44/2160 = 2.04%, 109/2160 = 5.05%, 217/2160 = 10.05%.
    _, _, failed = EXPECTED_INCIDENT[label]
    (firing,) = [f for f in incident.firings if f.rule.label() == label]
    assert firing.budget_spent == pytest.approx(failed / BUDGET_30D, rel=1e-9)


def test_detection_delay_of_each_rule(incident: Simulation) -> None:
    delays = {f.rule.label(): f.delay_s for f in incident.firings}
    assert delays == {label: m * 60.0 for label, (_, _, m) in EXPECTED_INCIDENT.items()}


def test_the_incident_is_one_violation_caught_by_every_rule(incident: Simulation) -> None:
    (violation,) = incident.violations
    assert violation.start == INCIDENT
    assert violation.end == INCIDENT_END
    # 240 failed requests of a 2160-failure budget; the burn in every 5 minutes is 20.
    assert violation.budget_spent == pytest.approx(240 / BUDGET_30D, rel=1e-9)
    assert violation.peak_burn == pytest.approx(20.0, rel=1e-9)
    assert set(violation.caught_by) == set(EXPECTED_INCIDENT)
    # The fastest rule, the 1h page, fires 44 minutes in.
    assert violation.detection_delay_s == 44 * 60.0
    assert incident.missed_violations == ()
    assert incident.false_alerts == ()
    assert all(f.violation == 0 for f in incident.firings)


def test_burn_rate_series_at_the_first_page(incident: Simulation) -> None:
    series = {s.name: s for s in incident.burn}
    at = INCIDENT + minutes(44)
    long = series[f"{PAGE_1H} long"]
    short = series[f"{PAGE_1H} short"]
    i = int(np.searchsorted(long.times_ns, at.value))
    assert long.times_ns[i] == at.value
    # 44 of the last 60 minutes had 1 failure in 50: burn 20 x 44/60; the last 5 minutes: 20.
    assert long.values[i] == pytest.approx(20 * 44 / 60, rel=1e-9)
    assert short.values[i] == pytest.approx(20.0, rel=1e-9)
    assert long.values[i - 1] == pytest.approx(20 * 43 / 60, rel=1e-9)  # 14.33: not yet


def test_the_period_with_the_incident_still_meets_the_slo(incident: Simulation) -> None:
    # 240 failures in 30 days are 11% of the budget: every period met, budget left 1 - 240/2160
    # in each window that contains the incident.
    last = incident.periods[-1]
    assert last.met is True
    assert last.budget_remaining == pytest.approx(1 - 240 / BUDGET_30D, rel=1e-9)
    assert incident.error_budget_remaining == pytest.approx(1 - 240 / BUDGET_30D, rel=1e-9)


# -- a slow burn only the ticket rules catch ------------------------------------------------------

SLOW_MINUTES = 30 * 60
SLOW_END = INCIDENT + minutes(SLOW_MINUTES)


@pytest.fixture(scope="module")
def slow_burn() -> Simulation:
    # One failure in the first minute of every 5: 1 in 250 requests, 0.4% errors, burn 4, for
    # 30 hours (360 failures).
    bad = np.zeros(MINUTES, dtype=np.int64)
    bad[INCIDENT_OFFSET : INCIDENT_OFFSET + SLOW_MINUTES : 5] = 1
    return run(bad)


# The 1d window holds 72,000 requests and fires above 3 x 0.001 x 72,000 = 216 failures; the 3d
# window holds 216,000 requests and fires above 1 x 0.001 x 216,000 = 216 failures: both at the
# 217th failure, which is in minute 5 x 216 = 1080 (0-based) of the burn, so at its end: +1081.
# Their short windows burn 4 > 3 and 4 > 1 throughout (24 failures in every 2h, 72 in every 6h).
# After the burn ends, k minutes later the 2h window holds 24 - ceil(k/5) failures and needs
# more than 0.003 x 6000 = 18: k <= 25; the 6h window holds 72 - ceil(k/5) and needs more than
# 0.001 x 18,000 = 18: k <= 265.
# The pages never fire: a 5-minute window holds at most 1 failure of 250 and needs more than
# 14.4 x 0.25 = 3.6; a 30-minute window holds 6 of 1500 and needs more than 6 x 1.5 = 9.


def test_slow_burn_is_caught_by_both_tickets_and_no_page(slow_burn: Simulation) -> None:
    assert firings_of(slow_burn, TICKET_1D) == [(INCIDENT + minutes(1081), SLOW_END + minutes(25))]
    assert firings_of(slow_burn, TICKET_3D) == [(INCIDENT + minutes(1081), SLOW_END + minutes(265))]
    assert [f for f in slow_burn.firings if f.rule.severity == "page"] == []
    for firing in slow_burn.firings:
        assert firing.budget_spent == pytest.approx(217 / BUDGET_30D, rel=1e-9)
        assert firing.delay_s == 1081 * 60.0


def test_slow_burn_violation(slow_burn: Simulation) -> None:
    (violation,) = slow_burn.violations
    assert (violation.start, violation.end) == (INCIDENT, SLOW_END)
    assert violation.budget_spent == pytest.approx(360 / BUDGET_30D, rel=1e-9)
    assert violation.peak_burn == pytest.approx(4.0, rel=1e-9)
    assert set(violation.caught_by) == {TICKET_1D, TICKET_3D}
    assert violation.detection_delay_s == 1081 * 60.0


# -- no alert ---------------------------------------------------------------------------------


def test_a_short_blip_fires_nothing_and_is_no_violation() -> None:
    # 10 minutes at burn 20: the fastest rule needs 44 such minutes in its hour.
    bad = np.zeros(MINUTES, dtype=np.int64)
    bad[INCIDENT_OFFSET : INCIDENT_OFFSET + 10] = 1
    sim = run(bad)
    assert sim.firings == ()
    # 10 failures are 0.5% of a period's budget: below the 2% that makes a violation.
    assert sim.violations == ()


def test_a_moderate_burn_no_rule_catches_is_a_missed_violation() -> None:
    # One failure every 4 minutes (0.5% errors, burn 5) for 8 hours: 120 failures, 5.6% of the
    # budget. Too slow for the pages (a 30-minute window holds at most 8 failures and needs more
    # than 9) and too short for the tickets (which need 217 failures in their long window).
    bad = np.zeros(MINUTES, dtype=np.int64)
    bad[INCIDENT_OFFSET : INCIDENT_OFFSET + 480 : 4] = 1
    sim = run(bad)
    assert sim.firings == ()
    (violation,) = sim.violations
    assert (violation.start, violation.end) == (INCIDENT, INCIDENT + minutes(480))
    assert violation.budget_spent == pytest.approx(120 / BUDGET_30D, rel=1e-9)
    assert violation.caught_by == ()
    assert violation.detection_delay_s is None
    assert sim.missed_violations == (violation,)


# -- evaluation rules ---------------------------------------------------------------------------


def test_alerts_wait_until_the_data_cover_the_long_window() -> None:
    # The data open with 2 hours at burn 20. Counted over the few minutes available, the 1h page
    # would burn 20 from the first minute; it is first evaluated at the end of minute 60, when
    # the hour holds 60 failing minutes (burn 20). It stops one minute after the outage, as above.
    # The 6h page is first evaluated at the end of minute 360: its 6h window burns
    # 20 x 120/360 = 6.7 > 6 but its 30-minute window has been clean for 4 hours, so it never
    # fires; neither do the tickets (first evaluated after 1 and 3 days).
    bad = np.zeros(MINUTES, dtype=np.int64)
    bad[:120] = 1
    sim = run(bad)
    assert [(f.rule.label(), f.start, f.end) for f in sim.firings] == [
        (PAGE_1H, START + minutes(60), START + minutes(121))
    ]


@pytest.mark.parametrize(
    ("gap", "expected"),
    [
        # Burst 1: 120 minutes at burn 20, silence of `gap` minutes, burst 2: 60 minutes.
        # The 1h page fires from +44 until one minute after burst 1 (the end of minute 120,
        # i.e. +121), then needs 4 failing minutes of burst 2 in its 5-minute window (with
        # gap 3: the end of minute 126; gap 4: minute 127). Silent evaluations in between:
        # 126 - 121 = 5 minutes (one short window: merged) or 6 (two firings). Burst 2 ends
        # at minute 120 + gap + 60 and the page one minute after it.
        (3, [(INCIDENT + minutes(44), INCIDENT + minutes(184))]),
        (
            4,
            [
                (INCIDENT + minutes(44), INCIDENT + minutes(121)),
                (INCIDENT + minutes(128), INCIDENT + minutes(185)),
            ],
        ),
    ],
)
def test_refires_within_one_short_window_merge(
    gap: int, expected: list[tuple[pd.Timestamp, pd.Timestamp]]
) -> None:
    bad = np.zeros(MINUTES, dtype=np.int64)
    bad[INCIDENT_OFFSET : INCIDENT_OFFSET + 120] = 1
    second = INCIDENT_OFFSET + 120 + gap
    bad[second : second + 60] = 1
    assert firings_of(run(bad), PAGE_1H) == expected


def test_a_burn_exactly_at_the_factor_does_not_fire() -> None:
    # Target 0.5 makes the arithmetic exact in binary: 3 failures of 4 requests a minute are a
    # 75% error rate, burn 0.75/0.5 = 1.5 in every window. A 1.5 factor is not exceeded; a
    # factor just below it is, from the first evaluation (the end of minute 10).
    bad = np.full(3 * 1440, 3, dtype=np.int64)
    exact = AlertWindow(severity="page", long_s=600, short_s=120, burn_rate=1.5)
    below = AlertWindow(severity="ticket", long_s=600, short_s=120, burn_rate=1.4999)
    sim = run(bad, availability_slo((exact, below), target=0.5), per_minute=4)
    assert [(f.rule, f.start, f.end) for f in sim.firings] == [
        (below, START + minutes(10), START + minutes(3 * 1440))
    ]
