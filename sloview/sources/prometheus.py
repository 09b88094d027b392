"""Prometheus over its HTTP API: a latency histogram becomes per-minute `Aggregates`.

The query, per step (a whole number of minutes):

    sum by (le, STATUS, GROUPS...) (increase(METRIC_bucket{MATCHERS}[RANGE]))

`increase` (rather than summing raw counters) lets Prometheus handle counter resets per
series. Each point at time t counts the requests of (t - step, t]; they land in the minute
bucket that ends at t, so figures over any window that is a whole number of steps are as exact
as the counts. Prometheus before 3.0 includes both ends of a range, so with RANGE = step and
samples on step edges (backfilled data, aligned scrapes) the counts are the exact counter
differences; otherwise `increase` extrapolates and counts are rounded so that sums over time
stay within one request of Prometheus's own figures. Latency bins are the `le` bounds:
thresholds snap to them (see `Aggregates.exactness`).

`query_range` answers at most 11,000 points per series; longer ranges are asked in chunks.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from sloview.errors import SourceError
from sloview.ingest import table as t
from sloview.ingest.span import MAX_SPAN_NS, span_refusal
from sloview.ingest.status import StatusPolicy
from sloview.sources.aggregates import (
    BUCKET_NS,
    DAY_NS,
    LE_EXACTNESS,
    Aggregates,
    build_aggregates,
)
from sloview.sources.bounds import TimeLike, time_bound
from sloview.sources.secrets import Scrubber, resolve

MAX_POINTS = 11_000
_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MATCH_OPS = ("=", "!=", "=~", "!~")


def parse_step(step: str | int | float) -> int:
    """A step as whole seconds; it must be a whole number of minutes."""
    if isinstance(step, int | float):
        seconds = int(step)
    else:
        m = _DURATION.match(step.strip())
        if m is None:
            raise SourceError(f"{step!r} is not a duration", where="step", hint="e.g. 1m, 5m, 1h")
        seconds = int(m.group(1)) * _UNIT_S[m.group(2)]
    if seconds <= 0 or seconds % 60:
        raise SourceError(
            f"the step must be a whole number of minutes, not {seconds} s",
            where="step",
            hint="use 1m, 5m, 15m ... (sloview counts requests per minute)",
        )
    return seconds


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class PrometheusSource:
    """A latency histogram in Prometheus, read with `query_range` into per-minute aggregates."""

    def __init__(
        self,
        url: str | None = None,
        *,
        metric: str,
        start: TimeLike,
        end: TimeLike,
        step: str | int = "1m",
        range_: str | int | None = None,
        status_label: str | None = None,
        good: tuple[str, ...] = (),
        bad: tuple[str, ...] = (),
        matchers: tuple[tuple[str, str, str], ...] = (),
        group_by: tuple[str, ...] = (),
        unit: str = "s",
        ttft_metric: str | None = None,
        tpot_metric: str | None = None,
        connection: str | None = None,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 60.0,
        max_points: int = MAX_POINTS,
        workers: int = 4,
        secrets_path: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.conn = resolve(
            url,
            connection=connection,
            token=token,
            username=username,
            password=password,
            secrets_path=secrets_path,
            environ=environ,
        )
        if not self.conn.url:
            raise SourceError("no Prometheus URL", where="prometheus", hint="pass url=...")
        self.scrub = Scrubber(self.conn.secrets())
        parts = urlsplit(self.conn.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(
                "the Prometheus URL must start with http:// or https://",
                where=self.conn.describe(),
            )
        # Credentials written into the URL become basic auth; the URL used keeps none.
        self.base = urlunsplit(
            (parts.scheme, parts.netloc.rpartition("@")[2], parts.path.rstrip("/"), "", "")
        )
        self.username = self.conn.username or (unquote(parts.username) if parts.username else None)
        self.password = self.conn.password or (unquote(parts.password) if parts.password else None)
        for name in (metric, ttft_metric, tpot_metric):
            if name is not None and not _METRIC.match(name):
                raise SourceError(f"{name!r} is not a Prometheus metric name", where="metric")
        for label in (status_label, *group_by, *(m[0] for m in matchers)):
            if label is not None and (not _LABEL.match(label) or label == "le"):
                raise SourceError(f"{label!r} cannot be used as a label here", where="labels")
        for _, op, _ in matchers:
            if op not in MATCH_OPS:
                raise SourceError(f"{op!r} is not a label matcher", where="matchers")
        self.metric = metric
        self.ttft_metric = ttft_metric
        self.tpot_metric = tpot_metric
        self.status_label = status_label
        self.good, self.bad = tuple(good), tuple(bad)
        self.matchers = tuple(matchers)
        self.group_by = tuple(group_by)
        self.unit_ms = {"s": 1000.0, "ms": 1.0}.get(unit)
        if self.unit_ms is None:
            raise SourceError(f"{unit!r} is not a histogram unit", where="unit", hint="s or ms")
        self.step_s = parse_step(step)
        self.range_s = parse_step(range_) if range_ is not None else self.step_s
        start_ns, end_ns = _ns(start, "start"), _ns(end, "end")
        if end_ns <= start_ns:
            raise SourceError("end must be after start", where="prometheus")
        if end_ns - start_ns > MAX_SPAN_NS:
            # Refused before the first query: the steps asked for, and every array after them,
            # grow with the range, whatever data it holds.
            refusal = span_refusal(start_ns, end_ns, "the time range asked spans", "", "")
            raise SourceError(refusal.message, where="start", hint="narrow start/end")
        step_ns = self.step_s * 10**9
        # Points on multiples of the step from the epoch: steps of whole minutes then line up
        # with minute buckets and with UTC midnight.
        self.start_ns = start_ns - start_ns % step_ns
        self.end_ns = end_ns - end_ns % step_ns
        self.timeout_s = timeout_s
        self.max_points = max_points
        self.workers = workers

    # -- description -------------------------------------------------------------------------

    def describe(self) -> str:
        """What is read, without credentials."""
        return f"Prometheus {self.conn.describe()}, {self.metric}"

    def __repr__(self) -> str:
        return f"PrometheusSource({self.describe()})"

    def query(self, metric: str | None = None) -> str:
        """The PromQL asked at every step."""
        name = (metric or self.metric) + "_bucket"
        inner = ",".join(f"{k}{op}{promql_string(v)}" for k, op, v in self.matchers)
        selector = f"{name}{{{inner}}}" if inner else name
        by = ", ".join(["le", *([self.status_label] if self.status_label else []), *self.group_by])
        return f"sum by ({by}) (increase({selector}[{self.range_s}s]))"

    # -- HTTP ----------------------------------------------------------------------------------

    def _session(self) -> Any:
        import requests

        session = requests.Session()
        if self.conn.token:
            session.headers["Authorization"] = f"Bearer {self.conn.token}"
        elif self.username is not None:
            session.auth = (self.username, self.password or "")
        return session

    def _post(self, session: Any, path: str, data: dict[str, str], matrix: bool = False) -> Any:
        import requests

        where = self.describe()
        try:
            answer = session.post(f"{self.base}{path}", data=data, timeout=self.timeout_s)
        except requests.Timeout:
            raise SourceError(
                f"Prometheus did not answer within {self.timeout_s:g} s",
                where=where,
                hint="narrow start/end, use a larger step, or raise timeout_s",
            ) from None
        except requests.RequestException as exc:
            raise SourceError(
                f"cannot reach Prometheus ({self.scrub(_reason(exc))})",
                where=where,
                hint="check the host and port, and that Prometheus is running and reachable",
            ) from None
        if answer.status_code in (401, 403):
            raise SourceError(
                f"Prometheus refused the credentials (HTTP {answer.status_code})",
                where=where,
                hint="check the token or user and password (arguments, .streamlit/secrets.toml "
                "[connections.NAME] or SLOVIEW_NAME_TOKEN)",
            )
        if matrix and answer.status_code == 200 and b'"status":"success"' in answer.content[:64]:
            try:
                return {"result": _parse_matrix(answer.content)}
            except (ValueError, pa.ArrowInvalid):
                pass  # anything unexpected: the plain JSON parser below
        try:
            body = answer.json()
        except ValueError:
            raise SourceError(
                f"the answer is not Prometheus JSON (HTTP {answer.status_code})",
                where=where,
                hint="check that the URL is the Prometheus server (e.g. http://host:9090)",
            ) from None
        if body.get("status") != "success":
            kind = str(body.get("errorType", ""))
            error = self.scrub(str(body.get("error", "")))[:300]
            if kind in ("timeout", "canceled") or "timed out" in error or "timeout" in error:
                raise SourceError(
                    f"the query timed out in Prometheus ({error})",
                    where=where,
                    hint="narrow start/end, use a larger step, or raise timeout_s",
                )
            raise SourceError(
                f"the query failed ({error or 'HTTP ' + str(answer.status_code)})",
                where=where,
                hint="check the metric name, the label matchers and the time range",
            )
        return body["data"]

    def _chunks(self) -> list[tuple[int, int]]:
        step = self.step_s
        first = self.start_ns // 10**9 + step
        last = self.end_ns // 10**9
        out = []
        while first <= last:
            stop = min(last, first + (self.max_points - 1) * step)
            out.append((first, stop))
            first = stop + step
        return out

    def _series(self, metric: str) -> list[dict[str, Any]]:
        """All series of the query over the range, chunk results joined per label set."""
        chunks = self._chunks()
        if not chunks:
            raise SourceError(
                "the time range is shorter than one step", where=self.describe(), hint="widen it"
            )
        query = self.query(metric)
        session = self._session()

        def one(chunk: tuple[int, int]) -> list[dict[str, Any]]:
            data = self._post(
                session,
                "/api/v1/query_range",
                {
                    "query": query,
                    "start": str(chunk[0]),
                    "end": str(chunk[1]),
                    "step": f"{self.step_s}s",
                    "timeout": f"{max(1, int(self.timeout_s))}s",
                },
                matrix=True,
            )
            return [_as_arrays(series) for series in data.get("result", [])]

        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(chunks)))) as pool:
            parts = list(pool.map(one, chunks))
        joined: dict[tuple[tuple[str, str], ...], list[Any]] = {}
        for part in parts:
            for series in part:
                key = tuple(sorted(series["metric"].items()))
                joined.setdefault(key, []).append(series)
        if not joined:
            inner = ",".join(f"{k}{op}{promql_string(v)}" for k, op, v in self.matchers)
            selector = f"{metric}_bucket" + (f"{{{inner}}}" if inner else "")
            raise SourceError(
                f"no series of {selector} between "
                f"{pd.Timestamp(self.start_ns, tz='UTC').isoformat()} and "
                f"{pd.Timestamp(self.end_ns, tz='UTC').isoformat()}",
                where=self.describe(),
                hint="check the metric name (a histogram has _bucket series with le), the "
                "label matchers and the time range",
            )
        return [
            {
                "metric": dict(k),
                "t": np.concatenate([p["t"] for p in v]),
                "v": np.concatenate([p["v"] for p in v]),
            }
            for k, v in joined.items()
        ]

    # -- conversion ----------------------------------------------------------------------------

    def aggregate(self) -> Aggregates:
        """Per-minute requests, successes and `le`-bucket counts over the range (and the
        TTFT and TPOT histograms when given)."""
        series = self._series(self.metric)
        extra = {
            column: self._series(name)
            for column, name in (("ttft_ms", self.ttft_metric), ("tpot_ms", self.tpot_metric))
            if name
        }
        return self._convert(series, extra)

    def _policy(self, values: list[str]) -> StatusPolicy:
        if self.status_label is None:
            return StatusPolicy(kind="none")
        if self.good or self.bad:
            return StatusPolicy(
                kind="lists", column=self.status_label, good=self.good, bad=self.bad
            )
        present = [v for v in values if v]
        if present and all(re.fullmatch(r"\d{3}", v) for v in present):
            return StatusPolicy(kind="http", column=self.status_label)
        return StatusPolicy(kind="words", column=self.status_label)

    def _grid(self, series: list[dict[str, Any]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Point times (s) on one grid, and each series' increases on it (0 where absent)."""
        first = self.start_ns // 10**9 + self.step_s
        n_points = (self.end_ns // 10**9 - first) // self.step_s + 1
        times = first + np.arange(n_points, dtype=np.int64) * self.step_s
        out = []
        for s in series:
            ts, vs = s["t"], np.array(s["v"], dtype=np.float64)
            vs[~np.isfinite(vs)] = 0.0
            row = np.zeros(n_points)
            idx = np.rint((ts - first) / self.step_s).astype(np.int64)
            inside = (idx >= 0) & (idx < n_points)
            row[idx[inside]] = vs[inside]
            out.append(row)
        return times, out

    def _counts(
        self, series: list[dict[str, Any]]
    ) -> tuple[np.ndarray, np.ndarray, dict[tuple[str, ...], np.ndarray], list[str]]:
        """(point times, le bounds in ms, {(status, groups...): counts[point, le]}, statuses)."""
        times, rows = self._grid(series)
        bounds: set[float] = set()
        keyed: dict[tuple[str, ...], dict[float, np.ndarray]] = {}
        for s, row in zip(series, rows, strict=True):
            labels = s["metric"]
            le_text = labels.get("le")
            if le_text is None:
                continue
            le = math.inf if le_text in ("+Inf", "Inf", "inf") else float(le_text)
            bounds.add(le)
            key = (
                labels.get(self.status_label, "") if self.status_label else "",
                *(labels.get(g, "") for g in self.group_by),
            )
            # Round running totals, not single steps: sums over time then stay within one
            # request of Prometheus's own (extrapolated, fractional) increases.
            running = np.rint(np.cumsum(row))
            per_step = np.diff(running, prepend=0.0)
            keyed.setdefault(key, {})[le] = keyed.get(key, {}).get(le, 0) + per_step
        if not bounds or math.inf not in bounds:
            raise SourceError(
                f'{self.metric}_bucket has no le="+Inf" bucket',
                where=self.describe(),
                hint="give the name of a Prometheus histogram (the part before _bucket)",
            )
        les = np.array(sorted(bounds))
        out: dict[tuple[str, ...], np.ndarray] = {}
        for key, per_le in keyed.items():
            cum = np.zeros((times.size, les.size))
            for j, le in enumerate(les):
                if le in per_le:
                    cum[:, j] = per_le[le]
                elif j:
                    cum[:, j] = cum[:, j - 1]  # a missing bucket holds no more than the one below
            # Buckets are cumulative; extrapolated increases can break that slightly.
            cum = np.maximum.accumulate(np.maximum(cum, 0), axis=1)
            out[key] = cum
        statuses = sorted({k[0] for k in out})
        return times, les * self.unit_ms, out, statuses

    def _convert(
        self, series: list[dict[str, Any]], extra: dict[str, list[dict[str, Any]]]
    ) -> Aggregates:
        times, les_ms, cums, statuses = self._counts(series)
        policy = self._policy(statuses)
        ok_d, known_d = policy.classify(pa.array(statuses, pa.string()), len(statuses))
        verdict = {s: (bool(o), bool(k)) for s, o, k in zip(statuses, ok_d, known_d, strict=True)}
        # Without the label anywhere, the label is likely wrong (unless an absent label is
        # itself the good value, as OpenTelemetry's error_type is).
        if self.status_label and statuses == [""] and "" not in self.good:
            labels = sorted({k for s in series for k in s["metric"]} - {"le"})
            raise SourceError(
                f"the series have no {self.status_label!r} label",
                where=self.describe(),
                hint=f"labels kept by the query: {', '.join(labels) or 'none'}; pick the label "
                "that tells good from bad requests",
            )
        edges = np.concatenate([[0.0], les_ms])
        # A point at t counts (t - step, t]: its requests go to the minute that ends at t.
        minutes = times // 60 - 1
        dropped: dict[str, int] = {}
        notes: list[str] = []
        unknown: dict[str, int] = {}

        def group_cells(
            keys: list[tuple[str, ...]],
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
            total = np.zeros(times.size)
            ok = np.zeros(times.size)
            bins = np.zeros((times.size, edges.size - 1))
            for key in keys:
                cum = cums[key]
                good, classified = verdict[key[0]]
                if not classified:
                    unknown[key[0]] = unknown.get(key[0], 0) + int(cum[:, -1].sum())
                    continue
                total += cum[:, -1]
                if good:
                    ok += cum[:, -1]
                    bins += np.diff(cum, axis=1, prepend=0.0)
            rows, cols = np.nonzero(bins)
            return total, ok, bins, (minutes[rows], cols, bins[rows, cols])

        def build(
            keys: list[tuple[str, ...]], like: Aggregates | None, fields: dict[str, Any]
        ) -> Aggregates:
            total, ok, _, cells = group_cells(keys)
            nonzero = np.flatnonzero(total > 0)
            if nonzero.size == 0 and like is None:
                raise SourceError(
                    "no requests in the time range (every increase is 0)",
                    where=self.describe(),
                    hint="check the time range and the label matchers",
                )
            first_ns = (
                like.first_ns
                if like is not None
                else int((times[nonzero[0]] - self.step_s) * 10**9)
            )
            last_ns = like.last_ns if like is not None else int(times[nonzero[-1]] * 10**9 - 1)
            origin = first_ns - first_ns % DAY_NS
            wanted = {k[1:] for k in keys}
            more: dict[str, Any] = {}
            for column, (cum_by_key, edges_ms) in extra_cums.items():
                parts = []
                for key, cum in cum_by_key.items():
                    # A TTFT/TPOT histogram without the status label counts successes only
                    # (servers observe them for requests that produced tokens).
                    good = key[0] == "" or verdict.get(key[0], (False, False))[0]
                    if good and key[1:] in wanted:
                        parts.append(np.diff(cum, axis=1, prepend=0.0))
                dense = np.sum(parts, axis=0) if parts else np.zeros((times.size, 1))
                r, c = np.nonzero(dense)
                name = column.removesuffix("_ms")
                more[name] = (minutes[r], c, dense[r, c])
                more[f"{name}_edges_ms"] = edges_ms
            return build_aggregates(
                source=self.describe(),
                minutes=minutes,
                total=total,
                ok=ok,
                cell_minutes=cells[0],
                cell_bins=cells[1],
                cell_counts=cells[2],
                first_ns=first_ns,
                last_ns=last_ns,
                edges_ms=edges,
                origin_ns=like.origin_ns if like is not None else origin,
                n=like.n if like is not None else (last_ns - origin) // BUCKET_NS + 1,
                exactness=f"{LE_EXACTNESS}; step {self.step_s // 60} min",
                **more,
                **fields,
            )

        extra_cums: dict[str, tuple[dict[tuple[str, ...], np.ndarray], np.ndarray]] = {}
        for column, extra_series in extra.items():
            _, extra_les, cum_by_key, _ = self._counts(extra_series)
            extra_cums[column] = (cum_by_key, np.concatenate([[0.0], extra_les]))
        keys = list(cums)
        whole = build(
            keys,
            None,
            {
                "rows_read": 0,
                "policy": policy.describe(),
                "group_by": self.group_by,
            },
        )
        if unknown:
            dropped[t.UNCLASSIFIED_STATUS] = sum(unknown.values())
            shown = ", ".join(
                f"{v!r} x{c}" for v, c in sorted(unknown.items(), key=lambda p: -p[1])
            )
            notes.append(f"Status values not classified (excluded): {shown}.")
            unknown.clear()
        notes.append(
            f"Counts per {self.step_s // 60}-minute step from increase() over "
            f"{self.range_s // 60} min; each step's requests are placed in its last minute."
        )
        groups: dict[tuple[str, ...], Aggregates] = {}
        if self.group_by:
            for gkey in sorted({k[1:] for k in keys}):
                picked = [k for k in keys if k[1:] == gkey]
                groups[gkey] = build(
                    picked,
                    whole,
                    {"segment": tuple(zip(self.group_by, gkey, strict=True)), "policy": ""},
                )
            unknown.clear()
        return replace(
            whole,
            rows_read=whole.requests + sum(dropped.values()),
            dropped=dropped,
            notes=tuple(notes),
            groups=groups,
        )


def _as_arrays(series: dict[str, Any]) -> dict[str, Any]:
    """A series from either parser as {metric, t (s), v} with numpy arrays."""
    if "t" in series:
        return series
    pairs = series.get("values", [])
    return {
        "metric": series["metric"],
        "t": np.array([p[0] for p in pairs], dtype=np.float64),
        "v": np.array([p[1] for p in pairs], dtype=np.float64),
    }


_DECODER = json.JSONDecoder()


def _parse_matrix(raw: bytes) -> list[dict[str, Any]]:
    """The series of a query_range answer, with values parsed by Arrow's CSV reader.

    A month at a one-minute step is over a million [time, "value"] pairs: the standard JSON
    parser builds a Python object for each (seconds); here only the label sets go through
    it and each series' values are read as one CSV column pair.
    """
    text = raw.decode()
    out = []
    pos = text.index('"result":[')
    options = pacsv.ReadOptions(column_names=["t", "v"])
    types = pacsv.ConvertOptions(column_types={"t": pa.float64(), "v": pa.float64()})
    while (i := text.find('"metric":', pos)) >= 0:
        labels, j = _DECODER.raw_decode(text, i + len('"metric":'))
        k = text.index('"values":[', j) + len('"values":[')
        end = text.index("]]", k) + 1
        csv = text[k:end].replace("],[", "\n").translate(_STRIP)
        table = pacsv.read_csv(
            io.BytesIO(csv.encode()), read_options=options, convert_options=types
        )
        out.append(
            {
                "metric": labels,
                "t": table.column("t").to_numpy(),
                "v": table.column("v").to_numpy(),
            }
        )
        pos = end
    return out


_STRIP = str.maketrans("", "", '[]"')


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out"):
        if marker in text:
            return marker
    return type(exc).__name__


def _ns(value: TimeLike, label: str) -> int:
    ns = time_bound(value, label)
    if ns is None:
        raise SourceError("a time is required", where=label)
    return ns
