"""Load any supported file into the canonical request table, counting every excluded row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sloview.errors import DataError
from sloview.ingest import table as t
from sloview.ingest.detect import detect
from sloview.ingest.mapping import Mapping, ResolvedMapping
from sloview.ingest.readers import RawData, open_source
from sloview.ingest.status import StatusPolicy, as_lower_text
from sloview.ingest.timestamps import NAT, parse_timestamps
from sloview.units import TO_MS

REASON_HINTS = {
    t.MISSING_TIMESTAMP: "name the time column with --timestamp COL",
    t.UNPARSABLE_TIMESTAMP: "name the time column with --timestamp COL; naive times are read as "
    "UTC unless --tz is given",
    t.UNCLASSIFIED_STATUS: "classify the status values with --good V1,V2 and --bad V1,V2",
    t.MISSING_LATENCY: "name the latency column with --latency COL",
    t.UNPARSABLE_LATENCY: "name the latency column with --latency COL",
    t.NEGATIVE_LATENCY: "check the latency column (--latency COL) and its unit",
    t.FILTERED_OUT: "check the --where filters",
    t.MALFORMED_LINE: "check the delimiter and quoting; every line needs as many fields as the "
    "header",
}


def load_requests(
    source: Path | bytes | str,
    mapping: Mapping | None = None,
    name: str | None = None,
) -> t.RequestTable:
    """Read a file (path or uploaded bytes) into the canonical request table."""
    raw = open_source(source, name)
    return build_table(raw, mapping or Mapping())


def build_table(raw: RawData, mapping: Mapping) -> t.RequestTable:
    """Detect the mapping for an opened file, read what it needs and convert it."""
    resolved, policy = detect(raw, mapping)
    needed = [
        c
        for c in (
            resolved.timestamp,
            resolved.latency,
            resolved.status,
            resolved.ok_column,
            resolved.ttft,
            resolved.output_tokens,
            *resolved.segments,
            *(c for c, _ in resolved.where),
        )
        if c is not None
    ]
    numeric = {
        c: pa.float64()
        for c in (resolved.latency, resolved.ttft, resolved.output_tokens)
        if c is not None and _is_number_type(raw.sample.schema.field(c).type) is False
    }
    # Labels (segments, --where columns) stay as written ("007", "1,5"), not as the number a
    # CSV reader would make of them.
    roles = {resolved.timestamp, resolved.latency, resolved.status, resolved.ok_column}
    labels = [*resolved.segments, *(c for c, _ in resolved.where)]
    types = numeric | {c: pa.string() for c in labels if c not in roles and c not in numeric}
    arrow = raw.read(needed, types if raw.format == "csv" else None)
    malformed = len(raw.malformed)
    if malformed:
        lines = sorted(n for n in raw.malformed if n is not None)[:5]
        at = f" (line {', '.join(map(str, lines))})" if lines else ""
        lines_word = "line" if malformed == 1 else "lines"
        notes = (f"{malformed} {lines_word} with the wrong number of fields skipped{at}.",)
        return convert(arrow, resolved, policy, raw.name, {t.MALFORMED_LINE: malformed}, notes)
    return convert(arrow, resolved, policy, raw.name)


def _is_number_type(typ: pa.DataType) -> bool:
    return bool(pa.types.is_integer(typ) or pa.types.is_floating(typ))


def convert(
    arrow: pa.Table,
    resolved: ResolvedMapping,
    policy: StatusPolicy,
    name: str,
    read_errors: dict[str, int] | None = None,
    read_notes: tuple[str, ...] = (),
) -> t.RequestTable:
    """Arrow columns + settled mapping -> canonical table (the one conversion every source uses)."""
    n = arrow.num_rows
    read_errors = read_errors or {}
    if n == 0 and read_errors:
        _refuse_empty(name, sum(read_errors.values()), read_errors, resolved)
    if n == 0:
        raise DataError(
            "the file has a header but no requests",
            where=name,
            hint="export the data again; only column names were found",
        )
    drop = np.zeros(n, dtype=bool)
    counts: dict[str, int] = dict(read_errors)
    notes: list[str] = list(read_notes)

    def exclude(reason: str, mask: np.ndarray | None) -> None:
        if mask is None or not mask.any():
            return
        new = mask & ~drop
        count = int(new.sum())
        if count:
            counts[reason] = counts.get(reason, 0) + count
            drop[new] = True

    ts_ns: np.ndarray | None = None
    if resolved.timestamp is not None:
        parsed = parse_timestamps(arrow.column(resolved.timestamp), resolved.tz)
        exclude(t.MISSING_TIMESTAMP, parsed.missing)
        exclude(t.UNPARSABLE_TIMESTAMP, parsed.unparsable)
        exclude(t.UNPARSABLE_TIMESTAMP, parsed.ns == NAT)
        ts_ns = parsed.ns
        notes.append(f"Timestamps from `{resolved.timestamp}`: {parsed.how}.")

    status_col = arrow.column(resolved.status) if resolved.status is not None else None
    verdict = arrow.column(policy.column) if policy.column is not None else status_col
    ok, classified = policy.classify(verdict, n)
    if not classified.all():
        unknown = _top_values(verdict, ~classified & ~drop) if verdict is not None else ""
        exclude(t.UNCLASSIFIED_STATUS, ~classified)
        if unknown:
            notes.append(f"Status values not classified (excluded): {unknown}.")

    latency, lat_missing, lat_bad = _numbers(arrow.column(resolved.latency))
    if TO_MS[resolved.latency_unit] != 1.0:
        latency *= TO_MS[resolved.latency_unit]
    # A failed request may have no latency (it never completed); it still counts for availability.
    exclude(t.MISSING_LATENCY, None if lat_missing is None else lat_missing & ok)
    exclude(t.UNPARSABLE_LATENCY, None if lat_bad is None else lat_bad & ok)
    exclude(t.NEGATIVE_LATENCY, latency < 0)
    unmeasured = _either(lat_missing, lat_bad)
    failed_without_latency = 0 if unmeasured is None else int((unmeasured & ~ok & ~drop).sum())
    if failed_without_latency:
        notes.append(
            f"{failed_without_latency} failed requests have no latency; they count for "
            "availability and are left out of latency figures."
        )

    for column, value in resolved.where:
        text = as_lower_text(arrow.column(column))
        match = pc.fill_null(pc.equal(text, value.strip().lower()), False)
        exclude(
            f"{t.FILTERED_OUT} ({column}={value})",
            ~np.asarray(match.to_numpy(zero_copy_only=False), dtype=bool),
        )

    keep = ~drop
    kept = int(keep.sum())
    if kept == 0:
        _refuse_empty(name, n + sum(read_errors.values()), counts, resolved)
    everything = kept == n

    def take(values: np.ndarray) -> np.ndarray:
        return values if everything else values[keep]

    columns: dict[str, Any] = {}
    order: np.ndarray | None = None
    if ts_ns is not None:
        ts_kept = take(ts_ns)
        if ts_kept.size > 1 and not bool(np.all(ts_kept[1:] >= ts_kept[:-1])):
            order = np.argsort(ts_kept, kind="stable")
            ts_kept = ts_kept[order]
            notes.append("Rows were not in time order; sorted by time.")
        columns[t.TS] = pd.array(ts_kept.view("datetime64[ns]"), dtype="datetime64[ns, UTC]")

    def final(values: np.ndarray) -> np.ndarray:
        kept_values = take(values)
        return kept_values if order is None else kept_values[order]

    columns[t.LATENCY] = final(latency)
    columns[t.OK] = final(ok)
    if status_col is not None:
        columns[t.STATUS] = _original(status_col, keep, everything, order)
    if resolved.ttft is not None:
        ttft, _, _ = _numbers(arrow.column(resolved.ttft))
        if TO_MS[resolved.ttft_unit or resolved.latency_unit] != 1.0:
            ttft *= TO_MS[resolved.ttft_unit or resolved.latency_unit]
        negative = ttft < 0
        if negative.any():
            notes.append(f"{int((negative & keep).sum())} negative TTFT values read as missing.")
            ttft[negative] = np.nan
        columns[t.TTFT] = final(ttft)
    if resolved.output_tokens is not None:
        tokens_col = arrow.column(resolved.output_tokens)
        if pa.types.is_integer(tokens_col.type) and tokens_col.null_count == 0:
            counts_int = final(np.asarray(tokens_col.to_numpy()).astype(np.int32, copy=False))
            tokens = counts_int.astype(np.float64)
            no_count = np.zeros(counts_int.size, dtype=bool)
        else:
            tokens = final(_numbers(tokens_col)[0])
            no_count = ~np.isfinite(tokens)
            counts_int = np.where(no_count, 0, np.round(tokens)).astype(np.int32)
        columns[t.OUTPUT_TOKENS] = pd.arrays.IntegerArray(counts_int, no_count)
        if t.TTFT in columns:
            # (latency - ttft) / (tokens - 1), in place: ten million rows of temporaries cost
            # more than the arithmetic.
            tpot = np.subtract(columns[t.LATENCY], columns[t.TTFT])
            tokens -= 1
            with np.errstate(invalid="ignore", divide="ignore"):
                np.divide(tpot, tokens, out=tpot)
            unusable = tokens <= 0
            np.logical_or(unusable, ~columns[t.OK], out=unusable)
            tpot[unusable] = np.nan
            columns[t.TPOT] = tpot
    for seg in resolved.segments:
        columns[seg] = _categorical(arrow.column(seg), keep, everything, order)

    frame = pd.DataFrame(columns, copy=False)
    return t.RequestTable(
        frame=frame,
        source_name=name,
        mapping=resolved,
        rows_read=n + sum(read_errors.values()),
        dropped=counts,
        notes=tuple(notes),
    )


def _either(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    return a if b is None else a | b


def _numbers(
    column: pa.ChunkedArray,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Float values, plus masks of missing and unparsable entries (None when there are none)."""
    typ = column.type
    if pa.types.is_dictionary(typ):
        column = column.cast(typ.value_type)
        typ = typ.value_type
    nulls = column.null_count
    missing = (
        np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool) if nulls else None
    )
    if _is_number_type(typ) or pa.types.is_boolean(typ):
        if nulls == 0 and pa.types.is_float64(typ):
            values = column.to_numpy()
            if not values.flags.writeable:
                values = values.copy()
        else:
            values = np.array(
                pc.fill_null(pc.cast(column, pa.float64()), np.nan).to_numpy(), dtype=float
            )
        # NaN and +-inf are not measurements, whether written as text or as numbers.
        finite = np.isfinite(values)
        if finite.all():
            return values, missing, None
        bad = ~finite if missing is None else ~finite & ~missing
        values[bad] = np.nan
        return values, missing, bad if bad.any() else None
    text = pc.utf8_trim_whitespace(column.cast(pa.string()))
    empty = np.asarray(
        pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False), dtype=bool
    )
    missing = empty if missing is None else missing | empty
    # Decimal commas inside quoted text fields: "1,5" -> 1.5.
    text = pc.replace_substring(text, ",", ".")
    series = pd.Series(np.asarray(text.to_numpy(zero_copy_only=False), dtype=object))
    # A copy: pandas may hand back a read-only view, and bad entries are overwritten below.
    values = np.array(pd.to_numeric(series, errors="coerce"), dtype=float)
    bad = ~np.isfinite(values) & ~missing
    values[bad] = np.nan
    return values, missing, bad


def _original(
    column: pa.ChunkedArray, keep: np.ndarray, everything: bool, order: np.ndarray | None
) -> Any:
    typ = column.type
    if pa.types.is_integer(typ) and column.null_count == 0:
        values = np.asarray(column.to_numpy())
        lo, hi = (int(values.min()), int(values.max())) if values.size else (0, 0)
        small = np.int16 if lo >= -32768 and hi < 32768 else np.int32
        if np.iinfo(np.int32).min <= lo and hi <= np.iinfo(np.int32).max:
            values = values.astype(small, copy=False)
        values = values if everything else values[keep]
        return values if order is None else values[order]
    if pa.types.is_floating(typ):
        as_int = pc.cast(column, pa.int64(), safe=False)
        whole = pc.all(pc.or_kleene(pc.is_null(column), pc.equal(pc.cast(as_int, typ), column)))
        if whole.as_py():
            column = as_int  # 429.0 -> 429 as recorded by a tool that writes floats
    return _categorical(column, keep, everything, order, fill=None)


def _categorical(
    column: pa.ChunkedArray,
    keep: np.ndarray,
    everything: bool,
    order: np.ndarray | None,
    fill: str | None = "(missing)",
) -> pd.Categorical:
    typ = column.type
    if not pa.types.is_dictionary(typ) or (fill is not None and column.null_count):
        # Parquet dictionaries pass through untouched; anything else is encoded once, in Arrow.
        if pa.types.is_dictionary(typ):
            column = column.cast(typ.value_type)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = pc.cast(column, pa.string())
        if fill is not None:
            column = pc.fill_null(column, fill)
        column = column.dictionary_encode()
    chunked = column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])
    chunked = chunked.unify_dictionaries()
    if not everything:
        chunked = chunked.filter(pa.array(keep))
    if order is not None:
        chunked = chunked.take(pa.array(order))
    series = chunked.combine_chunks().to_pandas()
    return pd.Categorical(series)


def _top_values(column: pa.ChunkedArray, mask: np.ndarray, limit: int = 5) -> str:
    if not mask.any():
        return ""
    picked = column.filter(pa.array(mask))
    counts = pc.value_counts(
        picked.cast(pa.string()) if not pa.types.is_string(picked.type) else picked
    )
    pairs = sorted(
        ((c["values"].as_py(), c["counts"].as_py()) for c in counts),
        key=lambda p: -p[1],
    )
    shown = ", ".join(f"{v!r} x{c}" for v, c in pairs[:limit])
    return shown + (f" and {len(pairs) - limit} more" if len(pairs) > limit else "")


def _refuse_empty(name: str, n: int, counts: dict[str, int], resolved: ResolvedMapping) -> None:
    top = max(counts, key=lambda k: counts[k])
    reasons = "; ".join(f"{reason}: {count}" for reason, count in counts.items())
    base = top.split(" (")[0]
    found = (
        f"read {resolved.latency!r} as latency ({resolved.latency_unit})"
        + (f", {resolved.timestamp!r} as time" if resolved.timestamp else "")
        + (f", {resolved.status!r} as status" if resolved.status else "")
    )
    raise DataError(
        f"no usable requests: all {n} rows were excluded ({reasons}); {found}",
        where=name,
        hint=REASON_HINTS.get(base, "check the column mapping"),
    )
