"""The aggregation every database source shares: one GROUP BY, then the file rules in Python.

The database groups requests by (minute, status value, latency validity, latency bin, segment
and filter columns) and returns counts. Everything that decides what a request means (the
status policy, which rows are excluded and why, `--where` filters) then runs here, on the few
distinct values, with the very functions the file readers use, so a table and the same data
in a file give the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sloview.errors import SourceError
from sloview.ingest import table as t
from sloview.ingest.mapping import ResolvedMapping
from sloview.ingest.status import StatusPolicy, as_lower_text
from sloview.ingest.timestamps import epoch_unit
from sloview.sources.aggregates import (
    LOG_EXACTNESS,
    Aggregates,
    build_aggregates,
    log_bin_sql,
)
from sloview.units import TO_MS

# Latency validity, as the file conversion sees it.
VALID, MISSING, UNPARSABLE, NEGATIVE = 0, 1, 2, 3
NO_BIN = -(2**31)
TimeKind = Literal["tz", "naive", "epoch", "text"]
DialectName = Literal["postgresql", "sqlite", "duckdb"]


def time_kind(column: pa.ChunkedArray | pa.Array) -> tuple[TimeKind, int]:
    """How a time column is stored, and for epochs the ns per unit."""
    typ = column.type
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if pa.types.is_timestamp(typ):
        return ("tz" if typ.tz else "naive"), 1
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        values = np.asarray(
            pc.fill_null(pc.cast(column, pa.float64(), safe=False), np.nan).to_numpy(
                zero_copy_only=False
            )
        )
        return "epoch", epoch_unit(values)[1]
    return "text", 1


@dataclass(frozen=True)
class Dialect:
    """The few SQL spellings that differ between the databases sloview aggregates in."""

    name: DialectName
    quote: Any  # identifier quoting function of the dialect

    @property
    def text_type(self) -> str:
        """The SQL type segment values are cast to."""
        return "VARCHAR" if self.name == "duckdb" else "TEXT"

    def minute(self, column: str, kind: TimeKind, tz: str) -> tuple[str, str]:
        """(per-row grouping key, outer expression turning that key into the UTC minute).

        PostgreSQL groups on `date_bin` (integer arithmetic on its timestamps, three times
        faster than extracting epochs row by row) and converts only the grouped keys.
        """
        col = self.quote(column)
        if kind == "epoch":
            return f"FLOOR({col} / :ns_per_minute_unit)", "CAST(b AS BIGINT)"
        if self.name == "postgresql":
            ts = {
                "tz": col,
                "naive": f"timezone(:tz, {col})",
                "text": f"CAST({col} AS TIMESTAMPTZ)",
            }[kind]
            key = f"date_bin('1 minute', {ts}, TIMESTAMPTZ '1970-01-01 00:00:00+00')"
            return key, "CAST(FLOOR(EXTRACT(EPOCH FROM b) / 60) AS BIGINT)"
        if self.name == "sqlite":
            if kind != "text" and kind != "naive":
                raise SourceError("unsupported time column type for SQLite aggregation")
            # strftime reads ISO text, with or without an offset (naive text is UTC).
            return f"CAST(strftime('%s', {col}) AS INTEGER) / 60", "b"
        # Casts bring nanosecond and second timestamps to the microseconds epoch_ms takes.
        naive = f"CAST({col} AS TIMESTAMP)"
        ts = {
            "tz": f"CAST({col} AS TIMESTAMPTZ)",
            "naive": naive if tz == "UTC" else f"timezone(:tz, {naive})",
            "text": f"TRY_CAST({col} AS TIMESTAMPTZ)",
        }[kind]
        return f"epoch_ms({ts}) // 60000", "b"

    def range_filter(self, column: str, kind: TimeKind) -> str:
        """`column >= :start AND column < :end` in the column's own terms."""
        col = self.quote(column)
        if kind == "text" and self.name == "sqlite":
            col = f"CAST(strftime('%s', {col}) AS INTEGER)"
        elif kind == "text":
            col = f"CAST({col} AS {'TIMESTAMPTZ' if self.name == 'postgresql' else 'TIMESTAMP'})"
        return f"{col} >= :start AND {col} < :end"

    def number(self, column: str) -> str:
        """A numeric column as a double (DuckDB's CSV reader may leave junk as text)."""
        return f"TRY_CAST({column} AS DOUBLE)" if self.name == "duckdb" else column

    def log10(self) -> str:
        """The base-10 logarithm function."""
        return "LOG10"


def range_params(
    kind: TimeKind, ns_per_unit: int, tz: str, dialect: DialectName, start_ns: int, end_ns: int
) -> dict[str, Any]:
    """Bound values of :start and :end for a time column of this kind."""
    import pandas as pd

    if kind == "epoch":
        if ns_per_unit == 1:
            return {"start": start_ns, "end": end_ns}
        return {"start": start_ns / ns_per_unit, "end": end_ns / ns_per_unit}
    if kind == "text" and dialect == "sqlite":
        return {"start": start_ns // 10**9, "end": -(-end_ns // 10**9)}
    start = pd.Timestamp(start_ns, tz="UTC")
    end = pd.Timestamp(end_ns, tz="UTC")
    if kind == "naive":
        start = start.tz_convert(tz).tz_localize(None)
        end = end.tz_convert(tz).tz_localize(None)
    return {"start": start.to_pydatetime(warn=False), "end": end.to_pydatetime(warn=False)}


@dataclass(frozen=True)
class CubeSpec:
    """What to group: the resolved mapping plus how its time column is stored."""

    resolved: ResolvedMapping
    policy: StatusPolicy
    kind: TimeKind
    ns_per_unit: int
    group_columns: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    @property
    def segment_columns(self) -> tuple[str, ...]:
        """The resolved segment columns."""
        return self.resolved.segments


def spec_for(resolved: ResolvedMapping, policy: StatusPolicy, sample: pa.Table) -> CubeSpec:
    """The grouping for a detected mapping (time storage read from the sample)."""
    if resolved.timestamp is None:
        raise SourceError(
            "no time column was found, so requests cannot be counted per minute",
            hint="name the time column (mapping timestamp=COL)",
        )
    kind, ns = time_kind(sample.column(resolved.timestamp))
    present = set(sample.column_names)
    notes = []
    # Derived segments (e.g. output-length bands) exist only after conversion; the database
    # groups by stored columns.
    derived = [c for c in resolved.segments if c not in present]
    if derived:
        notes.append(f"Segments not stored in the source are left out: {', '.join(derived)}.")
        resolved = replace(resolved, segments=tuple(c for c in resolved.segments if c in present))
    extra = [
        *getattr(resolved, "message_columns", ()),
        *([resolved.finish_reason] if getattr(resolved, "finish_reason", None) else []),
    ]
    if extra or (resolved.status and policy.column and resolved.status != policy.column):
        notes.append(
            f"Aggregated requests are classified by `{policy.column}` alone; "
            f"{', '.join(f'`{c}`' for c in extra) or f'`{resolved.status}`'} "
            "is not used for error classes."
        )
    groups = tuple(dict.fromkeys([*resolved.segments, *(c for c, _ in resolved.where)]))
    return CubeSpec(resolved, policy, kind, ns, groups, tuple(notes))


def validity_sql(value: str) -> str:
    """SQL classifying a value as VALID, MISSING, UNPARSABLE (NaN, infinite) or NEGATIVE."""
    # NaN compares greater than every number in PostgreSQL and DuckDB, so it fails the upper
    # bound; infinities fail one bound or the other.
    return (
        f"CASE WHEN {value} IS NULL THEN {MISSING} "
        f"WHEN {value} >= 0 AND {value} < 1e300 THEN {VALID} "
        f"WHEN {value} < 0 AND {value} > -1e300 THEN {NEGATIVE} ELSE {UNPARSABLE} END"
    )


def cube_sql(
    dialect: Dialect, spec: CubeSpec, source_sql: str, metric: str, ranged: bool, packed: bool
) -> str:
    """The GROUP BY query for latency (`metric="latency"`) or TTFT cells."""
    r = spec.resolved
    q = dialect.quote
    key, minute = dialect.minute(r.timestamp or "", spec.kind, r.tz)
    status_column = _status_column(spec)
    status = q(status_column) if status_column else "NULL"
    lat = f"({dialect.number(q(r.latency))} * {TO_MS[r.latency_unit]!r})"
    columns = [f"{key} AS b", f"{status} AS s", f"{validity_sql(lat)} AS f"]
    keys = ["b", "s", "f"]
    if metric == "latency":
        value = lat
    else:
        assert r.ttft is not None
        value = f"({dialect.number(q(r.ttft))} * {TO_MS[r.ttft_unit or r.latency_unit]!r})"
        columns.append(f"{validity_sql(value)} AS tf")
        keys.append("tf")
    bin_sql = log_bin_sql(value, dialect.log10())
    columns.append(
        f"CASE WHEN {value} >= 0 AND {value} < 1e300 THEN {bin_sql} ELSE {NO_BIN} END AS k"
    )
    for i, g in enumerate(spec.group_columns):
        columns.append(f"CAST({q(g)} AS {dialect.text_type}) AS g{i}")
        keys.append(f"g{i}")
    where = f" WHERE {dialect.range_filter(r.timestamp or '', spec.kind)}" if ranged else ""
    inner = f"SELECT {', '.join(columns)} FROM {source_sql}{where}"
    grouped = (
        f"SELECT {', '.join(keys)}, k, COUNT(*) AS n FROM ({inner}) AS r "
        f"GROUP BY {', '.join(keys)}, k"
    )
    if packed:
        # One row per minute and key: the (bin, count) pairs travel as one bytea of big-endian
        # int32s, which Python reads with one frombuffer instead of millions of tuples.
        return (
            f"SELECT {minute} AS m, {', '.join(keys[1:])}, "
            "string_agg(int4send(k) || int4send(CAST(n AS INTEGER)), ''::bytea) AS cells "
            f"FROM ({grouped}) AS c GROUP BY {', '.join(keys)}"
        )
    return f"SELECT {minute} AS m, {', '.join(keys[1:])}, k, n FROM ({grouped}) AS c"


def _status_column(spec: CubeSpec) -> str | None:
    """The column the status policy reads (a success flag column wins over the status)."""
    return spec.policy.column if spec.policy.kind != "none" else None


def unpack(table: pa.Table) -> pa.Table:
    """Expand packed rows (`cells` bytea of int32 pairs) into one row per (key, bin)."""
    blobs = table.column("cells").to_pylist()
    lengths = np.fromiter((len(b) // 8 for b in blobs), dtype=np.int64, count=len(blobs))
    pairs = np.frombuffer(b"".join(blobs), dtype=">i4").reshape(-1, 2)
    take = pa.array(np.repeat(np.arange(len(blobs)), lengths))
    out = table.drop_columns(["cells"]).take(take)
    out = out.append_column("k", pa.array(pairs[:, 0].astype(np.int32)))
    return out.append_column("n", pa.array(pairs[:, 1].astype(np.int64)))


def rows_table(names: list[str], rows: list[Any]) -> pa.Table:
    """Database rows (tuples) as an Arrow table, typed by Arrow's inference."""
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = []
    for values in columns:
        try:
            array = pa.array(list(values), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # Mixed types in one column (SQLite allows it): keep them as written.
            array = pa.array([None if v is None else str(v) for v in values], pa.string())
        if pa.types.is_decimal(array.type):
            array = array.cast(pa.float64())
        arrays.append(array)
    return pa.table(dict(zip(names, arrays, strict=True)))


def cells_to_aggregates(
    cells: pa.Table,
    spec: CubeSpec,
    *,
    source: str,
    first_ns: int | None = None,
    last_ns: int | None = None,
    ttft_cells: pa.Table | None = None,
    rows_read: int | None = None,
) -> Aggregates:
    """Grouped counts -> `Aggregates`, applying the status policy, exclusions and filters."""
    kept, meta = _classify(cells, spec)
    if kept["n"].sum() == 0:
        counts = "; ".join(f"{k}: {v}" for k, v in meta["dropped"].items())
        raise SourceError(
            f"no usable requests: all {meta['rows']} were excluded ({counts})",
            where=source,
            hint="check the column mapping (time, latency and its unit, status values)",
        )
    # MIN/MAX (when known) came from every row in range: excluded rows must not stretch the
    # time base. Without them, the first and last minute with a request bound it.
    minute_ns = 60 * 10**9
    first_minute, last_minute = int(kept["m"].min()), int(kept["m"].max())
    first_ns = max(first_ns if first_ns is not None else 0, first_minute * minute_ns)
    last_end = (last_minute + 1) * minute_ns - 1
    last_ns = min(last_ns if last_ns is not None else last_end, last_end)
    ttft = None
    if ttft_cells is not None:
        tk, _ = _classify(ttft_cells, spec, ttft=True)
        ttft = tk
    extra = {
        "rows_read": rows_read if rows_read is not None else meta["rows"],
        "dropped": meta["dropped"],
        "policy": spec.resolved.policy_description,
        "notes": tuple(meta["notes"]),
        "segment": (),
        "group_by": spec.segment_columns,
    }
    whole = _assemble(kept, ttft, source, first_ns, last_ns, None, extra)
    if spec.segment_columns:
        groups: dict[tuple[str, ...], Aggregates] = {}
        seg_index = [spec.group_columns.index(c) for c in spec.segment_columns]
        parts = [kept] + ([ttft] if ttft is not None else [])
        sizes = [len(p["n"]) for p in parts]
        codes, keys = _group_codes([np.concatenate([p[f"g{i}"] for p in parts]) for i in seg_index])
        own = np.split(codes, np.cumsum(sizes)[:-1])
        for code, key in enumerate(keys):
            pick = own[0] == code
            tsel = None if ttft is None else {k: v[own[1] == code] for k, v in ttft.items()}
            segment = tuple(zip(spec.segment_columns, key, strict=True))
            groups[key] = _assemble(
                {k: v[pick] for k, v in kept.items()},
                tsel,
                source,
                first_ns,
                last_ns,
                whole,
                {**extra, "segment": segment, "group_by": (), "dropped": {}, "notes": ()},
            )
        whole = replace(whole, groups=groups)
    return whole


def _group_codes(columns: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """One integer code per distinct combination of segment values, and the combinations."""
    import pandas as pd

    combined = np.zeros(len(columns[0]), dtype=np.int64)
    uniques = []
    for values in columns:
        codes, levels = pd.factorize(values)
        combined = combined * (len(levels) + 1) + codes
        uniques.append(levels)
    distinct, inverse = np.unique(combined, return_inverse=True)
    keys = []
    for value in distinct.tolist():
        key = []
        for levels in reversed(uniques):
            value, code = divmod(value, len(levels) + 1)
            key.append(str(levels[code]))
        keys.append(tuple(reversed(key)))
    return inverse.astype(np.int64), keys


def _classify(
    cells: pa.Table, spec: CubeSpec, ttft: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Per cell: kept or excluded (by the file rules, in their order), and whether ok."""
    n = np.asarray(cells.column("n").to_numpy(zero_copy_only=False), dtype=np.int64)
    minute_col = cells.column("m")
    missing_ts = np.asarray(pc.is_null(minute_col).to_numpy(zero_copy_only=False), dtype=bool)
    minutes = np.asarray(
        pc.fill_null(pc.cast(minute_col, pa.int64()), 0).to_numpy(zero_copy_only=False)
    )
    flag = np.asarray(cells.column("f").to_numpy(zero_copy_only=False), dtype=np.int64)
    bins = np.asarray(
        pc.fill_null(pc.cast(cells.column("k"), pa.int64()), NO_BIN).to_numpy(zero_copy_only=False)
    )
    status = cells.column("s")
    if spec.policy.kind == "none":
        ok = np.ones(len(n), dtype=bool)
        known = ok.copy()
    else:
        encoded = status.dictionary_encode().combine_chunks()
        ok_d, known_d = spec.policy.classify(encoded.dictionary, len(encoded.dictionary))
        idx = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False))
        ok = np.where(idx >= 0, ok_d[np.maximum(idx, 0)], False)
        # A null status: classify it alone (an error column reads empty as success).
        null_ok, null_known = spec.policy.classify(pa.array([None], status.type), 1)
        known = np.where(idx >= 0, known_d[np.maximum(idx, 0)], bool(null_known[0]))
        ok = np.where(idx >= 0, ok, bool(null_ok[0]) and bool(null_known[0]))
    drop = np.zeros(len(n), dtype=bool)
    dropped: dict[str, int] = {}
    notes: list[str] = []

    def exclude(reason: str, mask: np.ndarray) -> None:
        new = mask & ~drop
        count = int(n[new].sum())
        if count:
            dropped[reason] = dropped.get(reason, 0) + count
            drop[new] = True

    exclude(t.MISSING_TIMESTAMP, missing_ts)
    if not known.all():
        unknown = _top_statuses(status, ~known & ~drop, n)
        exclude(t.UNCLASSIFIED_STATUS, ~known)
        if unknown:
            notes.append(f"Status values not classified (excluded): {unknown}.")
    exclude(t.MISSING_LATENCY, (flag == MISSING) & ok)
    exclude(t.UNPARSABLE_LATENCY, (flag == UNPARSABLE) & ok)
    exclude(t.NEGATIVE_LATENCY, flag == NEGATIVE)
    unmeasured = int(n[((flag == MISSING) | (flag == UNPARSABLE)) & ~ok & ~drop].sum())
    if unmeasured:
        notes.append(
            f"{unmeasured} failed requests have no latency; they count for availability and "
            "are left out of latency figures."
        )
    groups = {}
    for i in range(len(spec.group_columns)):
        groups[f"g{i}"] = cells.column(f"g{i}")
    for column, value in spec.resolved.where:
        i = spec.group_columns.index(column)
        text = as_lower_text(groups[f"g{i}"])
        match = pc.fill_null(pc.equal(text, value.strip().lower()), False)
        exclude(
            f"{t.FILTERED_OUT} ({column}={value})",
            ~np.asarray(match.to_numpy(zero_copy_only=False), dtype=bool),
        )
    keep = ~drop
    measured_flag = cells.column("tf") if ttft else None
    if measured_flag is not None:
        tflag = np.asarray(measured_flag.to_numpy(zero_copy_only=False), dtype=np.int64)
        measured = keep & ok & (tflag == VALID)
    else:
        measured = keep & ok & (flag == VALID)
    out: dict[str, np.ndarray] = {
        "m": minutes[keep],
        "n": n[keep],
        "ok": ok[keep],
        "measured": measured[keep],
        "k": bins[keep],
    }
    for key, column in groups.items():
        values = pc.fill_null(column, "(missing)").to_numpy(zero_copy_only=False)
        out[key] = np.asarray(values, dtype=object)[keep]
    return out, {"dropped": dropped, "notes": [*spec.notes, *notes], "rows": int(n.sum())}


def _assemble(
    kept: dict[str, np.ndarray],
    ttft: dict[str, np.ndarray] | None,
    source: str,
    first_ns: int,
    last_ns: int,
    like: Aggregates | None,
    extra: dict[str, Any],
) -> Aggregates:
    measured = kept["measured"]
    first_bin = like.latency.first_bin if like is not None else None
    if first_bin is None and measured.any():
        first_bin = int(kept["k"][measured].min())
    edges = like.latency.edges_ms if like is not None else None
    ttft_cells = None
    ttft_edges = None
    if ttft is not None:
        tm = ttft["measured"]
        ttft_cells = (ttft["m"][tm], ttft["k"][tm], ttft["n"][tm])
        if like is not None and like.ttft is not None:
            ttft_edges = like.ttft.edges_ms
            ttft_cells = (ttft_cells[0], ttft_cells[1] - (like.ttft.first_bin or 0), ttft_cells[2])
    agg = build_aggregates(
        source=source,
        minutes=kept["m"],
        total=kept["n"],
        ok=kept["n"] * kept["ok"],
        cell_minutes=kept["m"][measured],
        cell_bins=kept["k"][measured] - (first_bin or 0)
        if edges is not None
        else kept["k"][measured],
        cell_counts=kept["n"][measured],
        first_ns=first_ns,
        last_ns=last_ns,
        edges_ms=edges,
        first_bin=first_bin,
        exactness=LOG_EXACTNESS,
        ttft=ttft_cells,
        ttft_edges_ms=ttft_edges,
        **extra,
    )
    if edges is not None and like is not None:
        # Column j of a group is bin first_bin + j, exactly as in the whole.
        agg = replace(agg, latency=replace(agg.latency, first_bin=first_bin))
        if agg.ttft is not None and like.ttft is not None:
            agg = replace(agg, ttft=replace(agg.ttft, first_bin=like.ttft.first_bin))
    return agg


def _top_statuses(status: pa.ChunkedArray, mask: np.ndarray, n: np.ndarray, limit: int = 5) -> str:
    if not mask.any():
        return ""
    picked = status.filter(pa.array(mask)).cast(pa.string()).to_pylist()
    totals: dict[str, int] = {}
    for value, count in zip(picked, n[mask].tolist(), strict=True):
        totals[str(value)] = totals.get(str(value), 0) + int(count)
    pairs = sorted(totals.items(), key=lambda p: -p[1])
    shown = ", ".join(f"{v!r} x{c}" for v, c in pairs[:limit])
    return shown + (f" and {len(pairs) - limit} more" if len(pairs) > limit else "")
