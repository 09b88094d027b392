"""A `promtool test rules` file for exported rules: Prometheus must agree with sloview's backtest.

Per SLO the file feeds synthetic counters to the rules (1,009 requests a minute; after a
warm-up as long as the longest alert window, a 2-hour incident burning the budget 20 times
too fast, then a day at 3.5 times), and expects:

- at three moments, every `slo:sli_error:ratio_rate*` recording equal to sloview's error
  ratio over the same window, and the period's budget remaining as sloview computes it;
- around every firing of sloview's alert backtest on the same traffic (one minute before
  it starts, when it starts, its last minute and the minute after), exactly the alerts
  the backtest had firing then.

The expected values are sloview's counts divided the way Prometheus divides them (each
rate is its increase over the window's seconds), so equal means bit-equal: the test file
states sloview's figures, and `promtool test rules` proves Prometheus computes the same.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sloview.engine.aggregated import AggregateEngine
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.export.common import Export
from sloview.export.prometheus_rules import (
    ERROR_RATIO,
    SloRules,
    alert_annotations,
    alert_labels,
    period_s,
    slo_rules,
    window_text,
)
from sloview.export.source import MetricSource
from sloview.export.yamlio import dump_documents
from sloview.model import SLO
from sloview.simulate import simulate
from sloview.simulate.budget import trailing_events
from sloview.sources.aggregates import BUCKET_NS, build_aggregates

# A prime number of requests a minute: error ratios over whole windows then never equal a
# factor x budget exactly (ties round either way in binary, in Prometheus as in Python).
PER_MINUTE = 1009
# Burn rates of the two incidents: a fast one the pages are for, a slow one for tickets.
FAST_BURN, SLOW_BURN = 20.0, 3.5
HEADER = (
    "# promtool unit tests written by sloview: the expected ratios and alerts are sloview's\n"
    "# backtest of the synthetic traffic below. Run `promtool test rules FILE`.\n"
)
_FAILED_VALUES = ("500", "503", "429", "FAILED", "failed", "error", "ERROR", "1", "true")
_OK_VALUES = ("200", "SUCCEED", "success", "ok", "OK", "0", "false", "")


@dataclass(frozen=True)
class Traffic:
    """Per-minute synthetic counts: requests, failed ones, and slow successful ones."""

    minutes: int
    ok: np.ndarray
    failed: np.ndarray
    slow: np.ndarray
    incidents: tuple[tuple[int, int], ...]


def scenario(rules: SloRules) -> Traffic:
    """Steady traffic, then a fast and a slow burn, after every alert window has warmed up."""
    slo = rules.slo
    longest = max([3 * 86400, *(r.long_s for _, rows in rules.alerts for r in rows)])
    warm = longest // 60
    fast = (warm + 60, warm + 180)
    slow = (warm + 360, warm + 360 + 1440)
    minutes = slow[1] + 120
    budget = 1 - slo.objective.target
    bad = np.zeros(minutes, dtype=np.int64)
    for (start, end), burn in ((fast, FAST_BURN), (slow, SLOW_BURN)):
        bad[start:end] = round(PER_MINUTE * min(1.0, burn * budget))
    if slo.sli.kind == "availability":
        ok = PER_MINUTE - bad
        return Traffic(minutes, ok, bad, np.zeros_like(bad), (fast, slow))
    # Latency: every minute one failed request (fast, as failures often are), which the
    # failed-request policy leaves out or counts as bad.
    failed = np.ones(minutes, dtype=np.int64)
    return Traffic(minutes, np.full(minutes, PER_MINUTE), failed, bad, (fast, slow))


def _status_values(source: MetricSource) -> tuple[str, str]:
    """An ok and a failed value of the status label (as its error regex reads them)."""
    pattern = re.compile(source.error_codes)
    failed = next((v for v in _FAILED_VALUES if pattern.fullmatch(v)), None)
    ok = next((v for v in _OK_VALUES if not pattern.fullmatch(v)), None)
    if failed is None or ok is None:
        raise SpecError(
            f"cannot write test traffic for the error codes {source.error_codes!r}",
            where="--error-codes",
            hint="use a regex that matches failed statuses such as 5..|429 or FAILED",
        )
    return ok, failed


def _values(per_minute: np.ndarray) -> str:
    """promtool's expanding notation for a counter growing by `per_minute` each minute."""
    parts: list[str] = []
    value, i, n = 0, 0, per_minute.size
    while i < n:
        j = i
        while j + 1 < n and per_minute[j + 1] == per_minute[i]:
            j += 1
        step = int(per_minute[i])
        count = j - i + 1
        if not parts:
            parts.append(f"{value}+{step}x{count}")
        else:
            parts.append(f"{value + step}+{step}x{count - 1}" if count > 1 else f"{value + step}")
        value += step * count
        i = j + 1
    return " ".join(parts)


def _series(rules: SloRules, source: MetricSource, traffic: Traffic) -> list[dict[str, str]]:
    slo = rules.slo
    base = dict(source.matchers) | dict(slo.segment)
    ok_v, failed_v = _status_values(source) if source.status_label else ("", "")

    def one(metric: str, labels: dict[str, str], per_minute: np.ndarray) -> dict[str, str]:
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
        return {"series": f"{metric}{{{inner}}}", "values": _values(per_minute)}

    def status(value: str) -> dict[str, str]:
        return {**base, source.status_label: value} if source.status_label else dict(base)

    if slo.sli.kind == "availability":
        counter = source.requests()
        return [
            one(counter, status(ok_v), traffic.ok),
            one(counter, status(failed_v), traffic.failed),
        ]
    hist = source.histogram(slo.sli.metric)
    # The `le` value the rules count with.
    match = re.search(r'le="([^"]+)"', rules.error)
    le = match.group(1) if match else "+Inf"
    out = [
        one(f"{hist}_count", status(ok_v), traffic.ok),
        one(f"{hist}_bucket", {**status(ok_v), "le": le}, traffic.ok - traffic.slow),
    ]
    if source.status_label:
        out += [
            one(f"{hist}_count", status(failed_v), traffic.failed),
            one(f"{hist}_bucket", {**status(failed_v), "le": le}, traffic.failed),
        ]
    return out


def _engine(rules: SloRules, traffic: Traffic) -> Scope:
    """sloview's view of the same traffic: per-minute aggregates from the epoch."""
    slo = rules.slo
    minutes = np.arange(traffic.minutes, dtype=np.int64)
    latency = slo.sli.kind == "latency"
    threshold = float(slo.objective.threshold or 0.0)
    edges = np.array([0.0, threshold, np.inf]) if latency else np.array([0.0, np.inf])
    fast = traffic.ok - traffic.slow
    cell_minutes = np.concatenate([minutes, minutes]) if latency else minutes
    cell_bins = (
        np.concatenate([np.zeros(traffic.minutes), np.ones(traffic.minutes)])
        if latency
        else np.zeros(traffic.minutes)
    )
    cell_counts = np.concatenate([fast, traffic.slow]) if latency else traffic.ok
    aggregates = build_aggregates(
        source="promtool test traffic",
        minutes=minutes,
        total=(traffic.ok + traffic.failed).astype(float),
        ok=traffic.ok.astype(float),
        cell_minutes=cell_minutes,
        cell_bins=cell_bins.astype(np.int64),
        cell_counts=cell_counts,
        first_ns=0,
        last_ns=traffic.minutes * BUCKET_NS - 1,
        edges_ms=edges,
        origin_ns=0,
        # The same counts serve whichever latency column the SLO reads.
        ttft=(cell_minutes, cell_bins.astype(np.int64), cell_counts),
        ttft_edges_ms=edges,
        tpot=(cell_minutes, cell_bins.astype(np.int64), cell_counts),
        tpot_edges_ms=edges,
    )
    # The synthetic traffic is the segment's; maintenance cannot be in rules (warned).
    plain = slo.with_changes(segment=(), exclusions=())
    return Scope.bind(AggregateEngine(aggregates), plain)


def _prometheus_ratio(slo: SLO, traffic: Traffic, has_status: bool, end: int, w: int) -> float:
    """The error ratio over the `w` minutes before minute `end`, divided as Prometheus does."""
    # rate() is the increase times (1 / range seconds): Prometheus folds the division into
    # its extrapolation factor, and x * (1 / w) is not always x / w in binary.
    per_s = 1.0 / float(w * 60)
    lo = max(0, end - w)
    ok = float(traffic.ok[lo:end].sum()) * per_s
    failed = float(traffic.failed[lo:end].sum()) * per_s
    if slo.sli.kind == "availability":
        return failed / (ok + failed)
    good = float((traffic.ok - traffic.slow)[lo:end].sum()) * per_s
    total = ok + failed if slo.sli.failed_requests == "bad" and has_status else ok
    return (total - good) / total


def promtool_tests(
    slos: Sequence[SLO], source: MetricSource | None, *, rules_file: str, test_file: str = ""
) -> Export:
    """A promtool unit-test file for the rules `to_prometheus_rules` writes for these SLOs."""
    if source is None or source.kind != "prometheus":
        raise SpecError("Prometheus rules need a Prometheus source", where="source")
    all_rules = [slo_rules(slo, source) for slo in slos]
    # Recordings first, then what reads them, at every evaluation: without an order promtool
    # picks one at random, and an alert could read the recording of the minute before.
    order = [
        f"sloth-slo-{part}-{rules.sloth_id}"
        for rules in all_rules
        for part in ("sli-recordings", "meta-recordings", "alerts")
        if part != "alerts" or rules.alerts
    ]
    doc = {
        "rule_files": [_relative(rules_file, test_file)],
        "evaluation_interval": "1m",
        "group_eval_order": order,
        "tests": [_slo_test(rules, source) for rules in all_rules],
    }
    return Export(format="promtool-test", text=dump_documents([doc], HEADER))


def _relative(rules_file: str, test_file: str) -> str:
    """The rule file as promtool finds it: relative to the test file's folder."""
    import os.path

    if not test_file:
        return rules_file
    folder = os.path.dirname(os.path.abspath(test_file))
    return os.path.relpath(os.path.abspath(rules_file), folder)


def _slo_test(rules: SloRules, source: MetricSource) -> dict[str, Any]:
    slo = rules.slo
    traffic = scenario(rules)
    scope = _engine(rules, traffic)
    sim = simulate(scope)
    has_status = bool(source.status_label)
    ends_min = [traffic.incidents[0][1], traffic.incidents[1][0] + 720, traffic.minutes]
    expr_tests = []
    for end in ends_min:
        for w in rules.windows:
            _, bad, total = trailing_events(scope, w)
            cell = end - 1
            sloview_ratio = bad[cell] / total[cell]
            value = _prometheus_ratio(slo, traffic, has_status, end, w // 60)
            if not np.isclose(value, sloview_ratio, rtol=1e-12, atol=0):
                raise AssertionError(
                    f"test traffic disagrees with sloview: {value} {sloview_ratio}"
                )
            labels = {**rules.labels, "sloth_window": window_text(w)}
            expr_tests.append(_expr_test(ERROR_RATIO + window_text(w), labels, end, value))
    end = traffic.minutes
    ratio = _prometheus_ratio(slo, traffic, has_status, end, period_s(slo) // 60)
    budget = 1 - slo.objective.target
    # The period rules keep the window label of the recording they divide (as Sloth's do).
    period_labels = {**rules.labels, "sloth_window": window_text(period_s(slo))}
    remaining = 1 - ratio / budget
    expr_tests.append(
        _expr_test("slo:period_error_budget_remaining:ratio", period_labels, end, remaining)
    )
    return {
        "interval": "1m",
        "input_series": _series(rules, source, traffic),
        "promql_expr_test": expr_tests,
        "alert_rule_test": _alert_tests(rules, sim, traffic.minutes),
    }


def _expr_test(record: str, labels: dict[str, str], minute: int, value: float) -> dict[str, Any]:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {
        "expr": f"{record}{{{inner}}}",
        "eval_time": f"{minute}m",
        "exp_samples": [{"labels": f"{record}{{{inner}}}", "value": value}],
    }


def _tie(rules: SloRules, sim: Any, minute: int) -> bool:
    """Whether any burn rate at the end of this minute is its row's factor (within rounding)."""
    burns = {series.name: series.values for series in sim.burn}
    for _, rows in rules.alerts:
        for row in rows:
            for side in ("long", "short"):
                value = float(burns[f"{row.label()} {side}"][minute - 1])
                if abs(value - row.burn_rate) <= 1e-9 * row.burn_rate:
                    return True
    return False


def _alert_tests(rules: SloRules, sim: Any, last: int) -> list[dict[str, Any]]:
    """Alerts expected around every firing of the backtest (by severity)."""
    minute_ns = BUCKET_NS
    spans: dict[str, list[tuple[int, int]]] = {}
    for firing in sim.firings:
        spans.setdefault(firing.rule.severity, []).append(
            (firing.start_ns // minute_ns, firing.end_ns // minute_ns)
        )
    moments: set[int] = set()
    for pairs in spans.values():
        for start, end in pairs:
            moments.update((start - 1, start, end, end + 1))
    longest = max(r.long_s for _, rows in rules.alerts for r in rows) if rules.alerts else 0
    quiet = max(longest // 60, 3 * 1440) + 30
    moments.add(quiet)
    tests = []
    # Only while the traffic runs (past its last sample, rates extrapolate), and not at a
    # minute where a burn rate equals a factor to the last bits.
    kept = sorted(m for m in moments if quiet <= m <= last and not _tie(rules, sim, m))
    for minute in kept:
        expected = []
        for severity, rows in rules.alerts:
            if any(s <= minute <= e for s, e in spans.get(severity, [])):
                expected.append(
                    {
                        "exp_labels": {**rules.labels, **alert_labels(rules, severity)},
                        "exp_annotations": alert_annotations(rules, severity, rows, expand=True),
                    }
                )
        tests.append(
            {"eval_time": f"{minute}m", "alertname": rules.alert_name, "exp_alerts": expected}
        )
    return tests
