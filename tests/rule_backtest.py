"""Exported rules, evaluated by a real Prometheus over real history, against sloview's backtest.

Shared by `tests/test_rules_prometheus.py` (CI) and `bench/rules_vs_backtest.py` (the figures
for a closing note). The history is the Alibaba GenAI serving trace from
`../shared/realdata/`, as Prometheus would have scraped it:

- `minute_openmetrics` re-encodes the trace's requests as the histogram of
  `prometheus_openmetrics_derived/` (same family, labels and buckets; observed when each
  request finished, `gmt_create + exec_time_seconds`), scraped every minute instead of every
  15 minutes: a 5-minute rate needs samples inside 5 minutes. `check_against_derived`
  proves the two encodings hold the same counts at every one of the shared file's points.
- the rule file is `sloview export --format prometheus-rules`; its SLI recordings are
  backfilled by `promtool tsdb create-blocks-from rules` against the running server (the
  way Prometheus documents evaluating rules over history), the server restarts over the
  new blocks, and the alert expressions of the file are range-queried at each minute.
- sloview reads the same requests (a CSV written from the trace, with the completion time
  as the request time) and simulates the same SLOs.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.export.prometheus_rules import ERROR_RATIO, SloRules, slo_rules, to_prometheus_rules
from sloview.export.source import MetricSource
from sloview.ingest import load_requests
from sloview.model import SLO, AlertWindow
from sloview.simulate import simulate
from sloview.simulate.alerts import merge_runs, true_runs
from sloview.simulate.budget import trailing_events
from tests import servers

METRIC = "genai_request_duration_seconds"
BUCKETS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
STATUSES = ("FAILED", "SUCCEED")
STEP_S = 60
SOURCE = MetricSource(
    kind="prometheus",
    histograms=(("latency_ms", METRIC),),
    status_label="status",
    error_codes="FAILED",
    buckets=tuple(float(b) for b in BUCKETS),
)
SLOS = (
    SLO.from_dict(
        {
            "name": "image-availability",
            "sli": {"kind": "availability"},
            "objective": {"target": 0.99},
        }
    ),
    SLO.from_dict(
        {
            "name": "image-latency",
            "sli": {"kind": "latency"},
            "objective": {"target": 0.97, "threshold": 90000},
        }
    ),
)


def trace_requests(csv_path: Path) -> pd.DataFrame:
    """The trace's finished requests: completion time (s), status, latency (s)."""
    raw = pd.read_csv(csv_path, usecols=["gmt_create", "predict_status", "exec_time_seconds"])
    raw = raw[raw["predict_status"].isin(STATUSES)]
    created = pd.to_datetime(raw["gmt_create"], utc=True)
    start = (created - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    done = start + raw["exec_time_seconds"].astype("int64")
    return pd.DataFrame(
        {
            "completed_s": done.to_numpy(),
            "status": raw["predict_status"].to_numpy(),
            "latency_s": raw["exec_time_seconds"].astype(float).to_numpy(),
        }
    ).sort_values("completed_s", kind="stable", ignore_index=True)


def counters(requests: pd.DataFrame, step_s: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sample times and, per status, cumulative counts [time, le...,+Inf] at each sample.

    A sample at time T counts the requests that finished before T (so the requests of
    [T - step, T) are the increase up to T, as sloview's minute ending at T holds them).
    The first sample, all zeros, lies on or before the first request.
    """
    first = int(requests["completed_s"].min()) // step_s * step_s
    last = int(requests["completed_s"].max()) // step_s * step_s + step_s
    times = np.arange(first, last + step_s, step_s, dtype=np.int64)
    out = {}
    for status in STATUSES:
        part = requests[requests["status"] == status]
        slot = np.searchsorted(times, part["completed_s"].to_numpy(), side="right")
        bounds = np.array([*BUCKETS, math.inf])
        col = np.searchsorted(bounds, part["latency_s"].to_numpy(), side="left")
        counts = np.zeros((times.size, bounds.size), dtype=np.int64)
        np.add.at(counts, (slot, col), 1)
        out[status] = np.cumsum(np.cumsum(counts, axis=0), axis=1)
    return times, out


def minute_openmetrics(requests: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The trace as one OpenMetrics file per UTC day (histogram scraped every minute)."""
    times, cum = counters(requests, STEP_S)
    out_dir.mkdir(parents=True, exist_ok=True)
    header = (
        f"# HELP {METRIC} Alibaba GenTD26 exec_time_seconds, observed when each request finished.\n"
        f"# TYPE {METRIC} histogram\n# UNIT {METRIC} seconds\n"
    )
    les = [*(str(b) for b in BUCKETS), "+Inf"]
    files = []
    days = times // 86400
    for day in np.unique(days):
        rows = np.flatnonzero(days == day)
        lines = [header]
        for i in rows:
            t = int(times[i])
            for status in STATUSES:
                c = cum[status][i]
                for j, le in enumerate(les):
                    lines.append(f'{METRIC}_bucket{{status="{status}",le="{le}"}} {c[j]} {t}\n')
                lines.append(f'{METRIC}_count{{status="{status}"}} {c[-1]} {t}\n')
        lines.append("# EOF\n")
        path = out_dir / f"day-{day}.om.txt"
        path.write_text("".join(lines))
        files.append(path)
    return files


def check_against_derived(requests: pd.DataFrame, derived: Path) -> int:
    """How many points of the shared 15-minute file the re-encoding reproduces (all or fail)."""
    times, cum = counters(requests, STEP_S)
    index = {int(t): i for i, t in enumerate(times)}
    checked = 0
    pattern = f'{METRIC}_count{{status="'
    with derived.open() as fh:
        for line in fh:
            if not line.startswith(pattern):
                continue
            labels, value, stamp = line.rsplit(" ", 2)
            status = labels[len(pattern) : labels.index('"', len(pattern))]
            t = int(stamp)
            i = index.get(t)
            # Before the first and after the last request the re-encoding has no points; the
            # shared file's counts there are 0 and the total.
            if i is None:
                expected = 0 if t < times[0] else int(cum[status][-1, -1])
            else:
                expected = int(cum[status][i, -1])
            if int(float(value)) != expected:
                raise AssertionError(
                    f"{status} at {t}: shared file {value}, re-encoding {expected}"
                )
            checked += 1
    return checked


def sloview_engine(requests: pd.DataFrame, folder: Path) -> Engine:
    """sloview's engine over the same requests (time = completion, as Prometheus saw them)."""
    path = folder / "trace-completed.csv"
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(requests["completed_s"], unit="s", utc=True),
            "status": requests["status"],
            "latency_s": requests["latency_s"],
        }
    )
    frame.to_csv(path, index=False)
    return Engine(load_requests(path))


# -- Prometheus --------------------------------------------------------------------------


def query_range(
    url: str, query: str, start: int, end: int
) -> dict[tuple[Any, ...], dict[int, float]]:
    """Every series of a range query at one-minute steps: labels -> {time s: value}."""
    out: dict[tuple[Any, ...], dict[int, float]] = {}
    chunk = 10_000 * STEP_S
    first = start
    while first <= end:
        last = min(end, first + chunk)
        data = urllib.parse.urlencode(
            {"query": query, "start": first, "end": last, "step": f"{STEP_S}s"}
        ).encode()
        with urllib.request.urlopen(f"{url}/api/v1/query_range", data, timeout=300) as answer:
            body = json.loads(answer.read())
        if body["status"] != "success":
            raise RuntimeError(body)
        for series in body["data"]["result"]:
            key = tuple(sorted(series["metric"].items()))
            values = out.setdefault(key, {})
            values.update({int(t): float(v) for t, v in series["values"]})
        first = last + STEP_S
    return out


def backfill_rules(
    server: servers.Prometheus, rules_file: Path, start: int, end: int, out: Path
) -> Path:
    """Blocks of the SLI recordings over [start, end], evaluated by the running server."""
    _, tool = servers.prometheus_bins()
    done = subprocess.run(
        [
            tool,
            "tsdb",
            "create-blocks-from",
            "rules",
            f"--start={start}",
            f"--end={end}",
            "--eval-interval=1m",
            f"--url={server.url}",
            f"--output-dir={out}",
            str(rules_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"promtool create-blocks-from rules failed: {done.stderr[-800:]}")
    return out


# -- the comparison -----------------------------------------------------------------------


@dataclass
class WindowFigure:
    """One recording rule against sloview's SLI over the same window."""

    slo: str
    window: str
    compared: int
    max_abs_diff: float
    missing_in_prometheus: int
    extra_in_prometheus: int


@dataclass
class AlertFigure:
    """One alert (a severity, or one row of it) against the backtest's firings."""

    slo: str
    alert: str
    sloview: int
    prometheus: int
    matched: int
    offsets_s: list[int] = field(default_factory=list)
    end_offsets_s: list[int] = field(default_factory=list)
    unmatched_sloview: list[str] = field(default_factory=list)
    unmatched_prometheus: list[str] = field(default_factory=list)


@dataclass
class Comparison:
    """All figures of one run."""

    derived_points_checked: int
    minutes: int
    windows: list[WindowFigure]
    alerts: list[AlertFigure]
    seconds: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "derived_points_checked": self.derived_points_checked,
            "minutes": self.minutes,
            "windows": [w.__dict__ for w in self.windows],
            "alerts": [a.__dict__ for a in self.alerts],
            "seconds": self.seconds,
        }


def _iso(t_s: int) -> str:
    return pd.Timestamp(t_s, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M")


def _match(
    slo: str, alert: str, ours: list[tuple[int, int]], theirs: list[tuple[int, int]]
) -> AlertFigure:
    """Pair firings by start (within one evaluation step)."""
    figure = AlertFigure(slo=slo, alert=alert, sloview=len(ours), prometheus=len(theirs), matched=0)
    left = list(theirs)
    for start, end in ours:
        near = [p for p in left if abs(p[0] - start) <= STEP_S]
        if near:
            best = min(near, key=lambda p: abs(p[0] - start))
            left.remove(best)
            figure.matched += 1
            figure.offsets_s.append(best[0] - start)
            figure.end_offsets_s.append(best[1] - end)
        else:
            figure.unmatched_sloview.append(_iso(start))
    figure.unmatched_prometheus = [_iso(s) for s, _ in left]
    return figure


def _runs(fire: dict[int, bool], times: np.ndarray, gap_cells: int) -> list[tuple[int, int]]:
    mask = np.array([fire.get(int(t), False) for t in times])
    return [(int(times[s]), int(times[e - 1])) for s, e in merge_runs(true_runs(mask), gap_cells)]


def compare(realdata: Path, workdir: Path) -> Comparison:
    """Backfill, export, evaluate and compare; every figure of the closing note."""
    clock: dict[str, float] = {}
    tick = time.monotonic()
    requests = trace_requests(realdata / "alibaba_gentd26_genai_serving/lora_request_trace.csv")
    derived = realdata / (
        "prometheus_openmetrics_derived/alibaba_gentd26_genai_request_duration_seconds.om.txt"
    )
    checked = check_against_derived(requests, derived)
    data_dir = workdir / "data"
    servers.backfill(minute_openmetrics(requests, workdir / "om"), data_dir)
    shutil.rmtree(workdir / "om")
    clock["backfill_s"] = time.monotonic() - tick

    tick = time.monotonic()
    rules_file = workdir / "rules.yml"
    rules_file.write_text(to_prometheus_rules(SLOS, SOURCE).text)
    recordings = [
        rule
        for group in yaml.safe_load(rules_file.read_text())["groups"]
        if "-sli-recordings-" in group["name"]
        for rule in group["rules"]
    ]
    times_s, _ = counters(requests, STEP_S)
    start, end = int(times_s[0]), int(times_s[-1])
    server = servers.start_prometheus(data_dir)
    try:
        recorded = {id(rule): evaluate(server.url, rule, start, end) for rule in recordings}
    finally:
        server.stop()
    files = recording_openmetrics(recordings, recorded, workdir / "rec")
    servers.backfill(files, data_dir)
    clock["evaluate_recordings_s"] = time.monotonic() - tick

    tick = time.monotonic()
    server = servers.start_prometheus(data_dir)
    engine = sloview_engine(requests, workdir)
    windows: list[WindowFigure] = []
    alerts: list[AlertFigure] = []
    try:
        for slo in SLOS:
            rules = slo_rules(slo, SOURCE)
            scope = Scope.bind(engine, slo)
            for rule in recordings:
                if rule["labels"]["sloth_id"] == rules.sloth_id:
                    windows.append(_compare_window(rule, recorded[id(rule)], rules, scope))
            alerts += _compare_alerts(server.url, rules, scope, start, end)
    finally:
        server.stop()
    clock["evaluate_alerts_s"] = time.monotonic() - tick
    return Comparison(
        derived_points_checked=checked,
        minutes=(end - start) // STEP_S,
        windows=windows,
        alerts=alerts,
        seconds=clock,
    )


def evaluate(url: str, rule: dict[str, Any], start: int, end: int) -> dict[int, float]:
    """A recording rule's expression evaluated by Prometheus at every minute (time -> value)."""
    series = query_range(url, rule["expr"], start, end)
    if len(series) > 1:
        raise AssertionError(f"{rule['record']} returned {len(series)} series, not one")
    return next(iter(series.values()), {})


def recording_openmetrics(
    recordings: list[dict[str, Any]], recorded: dict[int, dict[int, float]], out_dir: Path
) -> list[Path]:
    """The recorded series as OpenMetrics, one file per day, to backfill like rule blocks."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_day: dict[int, list[str]] = {}
    for rule in recordings:
        name = rule["record"]
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(rule["labels"].items()))
        for t, v in sorted(recorded[id(rule)].items()):
            # A 0/0 ratio is recorded as NaN (leaving it out would let the alert read the
            # previous value for up to 5 minutes of staleness lookback).
            text = "NaN" if math.isnan(v) else repr(v)
            by_day.setdefault(t // 86400, []).append(f"{name}{{{inner}}} {text} {t}\n")
    files = []
    for day, lines in sorted(by_day.items()):
        path = out_dir / f"rec-{day}.om.txt"
        path.write_text("".join(lines) + "# EOF\n")
        files.append(path)
    return files


def _compare_window(
    rule: dict[str, Any], got: dict[int, float], rules: SloRules, scope: Scope
) -> WindowFigure:
    """A recording rule's values against sloview's error ratio over the same window."""
    window = rule["labels"]["sloth_window"]
    w = next(x for x in rules.windows if _w(x) == window)
    ends_ns, bad, total = trailing_events(scope, w)
    ends = ends_ns // 10**9
    first, last = min(got, default=0), max(got, default=0)
    inside = (ends >= first) & (ends <= last)
    diffs, missing, extra = [], 0, 0
    for t, b, n in zip(ends[inside], bad[inside], total[inside], strict=True):
        value = got.get(int(t))
        if n > 0:
            if value is None or math.isnan(value):
                missing += 1
            else:
                diffs.append(abs(value - b / n))
        elif value is not None and not math.isnan(value):
            extra += 1
    return WindowFigure(
        slo=rules.slo.name,
        window=window,
        compared=len(diffs),
        max_abs_diff=max(diffs, default=math.nan),
        missing_in_prometheus=missing,
        extra_in_prometheus=extra,
    )


def _w(seconds: int) -> str:
    from sloview.export.prometheus_rules import window_text

    return window_text(seconds)


def _compare_alerts(
    url: str, rules: SloRules, scope: Scope, start: int, end: int
) -> list[AlertFigure]:
    sim = simulate(scope)
    engine = scope.engine
    base = engine.require_time()
    first_cell = (base.first_ns - base.origin_ns) // (STEP_S * 10**9)
    ends = engine.cell_ends(STEP_S, int(base.n)) // 10**9
    out = []
    for severity, rows in rules.alerts:
        ours_all: list[tuple[int, int]] = []
        theirs_all: dict[int, bool] = {}
        for row in rows:
            ours = [(f.start_ns // 10**9, f.end_ns // 10**9) for f in sim.firings if f.rule == row]
            fire = _firing(url, rules.row_expr(row), start, end)
            # The backtest starts judging a row once the data cover its long window.
            since = int(ends[first_cell + row.long_s // STEP_S - 1])
            fire = {t: v for t, v in fire.items() if t >= since}
            out.append(
                _match(rules.slo.name, row.label(), ours, _runs(fire, ends, row.short_s // STEP_S))
            )
            ours_all += ours
            for t, v in fire.items():
                theirs_all[t] = theirs_all.get(t, False) or v
        # The alert of the severity, as the rule file writes it (any of its rows).
        alert = _firing(url, rules.alert_expr(rows), start, end)
        since = int(ends[first_cell + min(r.long_s for r in rows) // STEP_S - 1])
        alert = {t: v for t, v in alert.items() if t >= since and theirs_all.get(t, False)}
        gap = max(r.short_s for r in rows) // STEP_S
        ours_union = _union(ours_all, ends, gap)
        out.append(_match(rules.slo.name, f"{severity} alert", ours_union, _runs(alert, ends, gap)))
    return out


def _union(spans: list[tuple[int, int]], ends: np.ndarray, gap: int) -> list[tuple[int, int]]:
    mask = np.zeros(ends.size, dtype=bool)
    for s, e in spans:
        mask |= (ends >= s) & (ends <= e)
    return [(int(ends[s]), int(ends[e - 1])) for s, e in merge_runs(true_runs(mask), gap)]


def _firing(url: str, expr: str, start: int, end: int) -> dict[int, bool]:
    """Times at which an alert expression returns anything."""
    fire: dict[int, bool] = {}
    for values in query_range(url, expr, start, end).values():
        for t in values:
            fire[t] = True
    return fire


def row_of(rules: SloRules, label: str) -> AlertWindow:
    """The alert row with this label."""
    return next(r for _, rows in rules.alerts for r in rows if r.label() == label)


def compare_phased(realdata: Path, workdir: Path) -> dict[str, Any]:
    """The same rules as Prometheus itself schedules them: `promtool tsdb create-blocks-from
    rules` evaluates each group at its own phase within the minute (a hash of its name), so a
    rate over W sees the scrapes of W minus one minute, extrapolated to W.

    Figures: per recording, the largest difference from sloview's ratio over the nominal
    window (ending at the last scrape before the evaluation) and over the window the rate
    really covers (alerts are compared in `compare`, evaluated in phase with the scrapes).
    """
    requests = trace_requests(realdata / "alibaba_gentd26_genai_serving/lora_request_trace.csv")
    data_dir = workdir / "data"
    servers.backfill(minute_openmetrics(requests, workdir / "om"), data_dir)
    rules_file = workdir / "rules.yml"
    rules_file.write_text(to_prometheus_rules(SLOS, SOURCE).text)
    doc = yaml.safe_load(rules_file.read_text())
    sli_only = workdir / "sli-rules.yml"
    sli_only.write_text(
        yaml.safe_dump({"groups": [g for g in doc["groups"] if "-sli-recordings-" in g["name"]]})
    )
    times_s, _ = counters(requests, STEP_S)
    start, end = int(times_s[0]), int(times_s[-1])
    tick = time.monotonic()
    server = servers.start_prometheus(data_dir)
    try:
        blocks = backfill_rules(server, sli_only, start, end, workdir / "rule-blocks")
    finally:
        server.stop()
    for block in blocks.iterdir():
        shutil.move(str(block), data_dir / block.name)
    seconds = time.monotonic() - tick
    engine = sloview_engine(requests, workdir)
    server = servers.start_prometheus(data_dir)
    out: dict[str, Any] = {"create_blocks_from_rules_s": seconds, "windows": []}
    try:
        for slo in SLOS:
            rules = slo_rules(slo, SOURCE)
            scope = Scope.bind(engine, slo)
            phase = None
            for w in rules.windows:
                raw = _raw_samples(server.url, rules.selector(ERROR_RATIO + _w(w)), start, end)
                phase = phase if phase is not None else min(raw) % STEP_S
                nominal, covered = _phased_diffs(raw, scope, w)
                out["windows"].append(
                    {
                        "slo": slo.name,
                        "window": _w(w),
                        "phase_s": phase,
                        "max_abs_diff_nominal": nominal,
                        "max_abs_diff_covered": covered,
                    }
                )
    finally:
        server.stop()
    return out


def _raw_samples(url: str, selector: str, start: float, end: float) -> dict[float, float]:
    """The recorded samples at their own timestamps (a range selector, a day at a time)."""
    out: dict[float, float] = {}
    t = start + 86400
    while t < end + 86400:
        data = urllib.parse.urlencode({"query": f"{selector}[1d]", "time": t}).encode()
        with urllib.request.urlopen(f"{url}/api/v1/query", data, timeout=300) as answer:
            body = json.loads(answer.read())
        for series in body["data"]["result"]:
            out.update({float(ts): float(v) for ts, v in series["values"]})
        t += 86400
    return out


def _phased_diffs(raw: dict[float, float], scope: Scope, w: int) -> tuple[float, float]:
    """Max |Prometheus - sloview| over the nominal window and over the one the rate covers."""
    ends_ns, bad, total = trailing_events(scope, w)
    _, bad_c, total_c = trailing_events(scope, max(STEP_S, w - STEP_S))
    index = {int(t): i for i, t in enumerate(ends_ns // 10**9)}
    nominal, covered = 0.0, 0.0
    for t, v in raw.items():
        i = index.get(int(t) // STEP_S * STEP_S)
        if i is None or math.isnan(v):
            continue
        if total[i] > 0:
            nominal = max(nominal, abs(v - bad[i] / total[i]))
        if total_c[i] > 0:
            covered = max(covered, abs(v - bad_c[i] / total_c[i]))
    return nominal, covered
