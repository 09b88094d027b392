"""Load any supported file into the canonical request table, counting every excluded row."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sloview.errors import DataError
from sloview.ingest import table as t
from sloview.ingest.detect import detect, synthetic_time_unit
from sloview.ingest.error_classes import ERROR_CLASSES, is_nested, nested_as_json
from sloview.ingest.mapping import Mapping, ResolvedMapping
from sloview.ingest.readers import RawData, open_source
from sloview.ingest.status import StatusPolicy, as_lower_text
from sloview.ingest.strays import find_bulk
from sloview.ingest.timestamps import ParsedTimes, parse_timestamps
from sloview.units import TO_MS

REASON_HINTS = {
    t.MISSING_TIMESTAMP: "name the time column with --timestamp COL",
    t.UNPARSABLE_TIMESTAMP: "name the time column with --timestamp COL; naive times are read as "
    "UTC unless --tz is given",
    t.OUT_OF_RANGE_TIMESTAMP: "check the time column (--timestamp COL): times must lie between "
    "1678 and 2261",
    t.OUTSIDE_TIME_RANGE: "check --start/--end (times are UTC unless they carry an offset)",
    t.UNCLASSIFIED_STATUS: "classify the status values with --good V1,V2 and --bad V1,V2",
    t.MISSING_LATENCY: "name the latency column with --latency COL",
    t.UNPARSABLE_LATENCY: "name the latency column with --latency COL",
    t.NEGATIVE_LATENCY: "check the latency column (--latency COL) and its unit",
    t.FILTERED_OUT: "check the --where filters",
    t.MALFORMED_LINE: "check the delimiter and quoting; every line needs as many fields as the "
    "header",
}


TimeRange = tuple[int | None, int | None]


def load_requests(
    source: Path | bytes | str,
    mapping: Mapping | None = None,
    name: str | None = None,
    time_range: TimeRange = (None, None),
) -> t.RequestTable:
    """Read a file (path or uploaded bytes) into the canonical request table; `time_range`
    (UTC ns, start inclusive, end exclusive) keeps only the requests inside it."""
    raw = open_source(source, name)
    return build_table(raw, mapping or Mapping(), time_range)


def build_table(
    raw: RawData, mapping: Mapping, time_range: TimeRange = (None, None)
) -> t.RequestTable:
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
            *resolved.file_segments,
            *(c for c, _ in resolved.where),
            *resolved.message_columns,
            resolved.finish_reason,
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
    labels = [
        *resolved.file_segments,
        *(c for c, _ in resolved.where),
        *resolved.message_columns,
        *(c for c in (resolved.finish_reason,) if c is not None),
    ]
    present = set(raw.columns)  # `output_length` may be derived, not read
    types = numeric | {
        c: pa.string() for c in labels if c not in roles and c not in numeric and c in present
    }
    arrow = raw.read(needed, types if raw.format == "csv" else None)
    malformed = len(raw.malformed)
    notes = tuple(raw.notes)
    if malformed and raw.format == "jtl-xml":
        notes += ("A sample cut off at the end of the file (never closed) was skipped.",)
    elif malformed:
        lines = sorted(n for n in raw.malformed if n is not None)[:5]
        at = f" (line {', '.join(map(str, lines))})" if lines else ""
        lines_word = "line" if malformed == 1 else "lines"
        notes += (f"{malformed} {lines_word} with the wrong number of fields skipped{at}.",)
    errors = {t.MALFORMED_LINE: malformed} if malformed else {}
    return convert(arrow, resolved, policy, raw.name, errors, notes, time_range)


def _is_number_type(typ: pa.DataType) -> bool:
    return bool(pa.types.is_integer(typ) or pa.types.is_floating(typ))


def convert(
    arrow: pa.Table,
    resolved: ResolvedMapping,
    policy: StatusPolicy,
    name: str,
    read_errors: dict[str, int] | None = None,
    read_notes: tuple[str, ...] = (),
    time_range: TimeRange = (None, None),
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
    examples: dict[str, tuple[int, str]] = {}

    def exclude(reason: str, mask: np.ndarray | None, column: Any = None) -> None:
        if mask is None or not mask.any():
            return
        new = mask & ~drop
        count = int(new.sum())
        if count:
            counts[reason] = counts.get(reason, 0) + count
            if reason not in examples:
                first = int(np.argmax(new))
                examples[reason] = (first + 1, example_value(column, first))
            drop[new] = True

    # The columns convert independently: run them on all cores (numpy and Arrow release the
    # GIL), then apply the exclusions in their fixed order.
    pool = _pool()
    unit = TO_MS[resolved.latency_unit]
    ttft_unit = TO_MS[resolved.ttft_unit or resolved.latency_unit]
    f_ts = (
        pool.submit(
            parse_timestamps,
            arrow.column(resolved.timestamp),
            resolved.tz,
            synthetic_time_unit(resolved.timestamp) if resolved.synthetic_times else None,
        )
        if resolved.timestamp is not None
        else None
    )
    status_col = arrow.column(resolved.status) if resolved.status is not None else None
    verdict = arrow.column(policy.column) if policy.column is not None else status_col
    f_status = pool.submit(
        policy.assess,
        verdict,
        status_col,
        tuple(arrow.column(c) for c in resolved.message_columns),
        arrow.column(resolved.finish_reason) if resolved.finish_reason is not None else None,
        n,
    )
    f_latency = pool.submit(_scaled_numbers, arrow.column(resolved.latency), unit)
    f_ttft = (
        pool.submit(_scaled_numbers, arrow.column(resolved.ttft), ttft_unit)
        if resolved.ttft is not None
        else None
    )
    f_tokens = (
        pool.submit(_token_counts, arrow.column(resolved.output_tokens))
        if resolved.output_tokens is not None
        else None
    )

    ts_ns: np.ndarray | None = None
    if f_ts is not None:
        parsed = f_ts.result()
        ts_column = arrow.column(resolved.timestamp)
        _refuse_unreadable_times(parsed, ts_column, resolved, name)
        exclude(t.MISSING_TIMESTAMP, parsed.missing)
        exclude(t.UNPARSABLE_TIMESTAMP, parsed.unparsable, ts_column)
        exclude(t.OUT_OF_RANGE_TIMESTAMP, parsed.out_of_range, ts_column)
        ts_ns = parsed.ns
        start_ns, end_ns = time_range
        if start_ns is not None:
            exclude(t.OUTSIDE_TIME_RANGE, ts_ns < start_ns, ts_column)
        if end_ns is not None:
            exclude(t.OUTSIDE_TIME_RANGE, ts_ns >= end_ns, ts_column)
        notes.append(f"Timestamps from `{resolved.timestamp}`: {parsed.how}.")
        if resolved.synthetic_times:
            notes.append(f"{t.SYNTHETIC_TIMES_NOTE}.")

    assessment = f_status.result()
    ok, classified = assessment.ok, assessment.classified
    if not classified.all():
        unknown = _top_values(verdict, ~classified & ~drop) if verdict is not None else ""
        exclude(t.UNCLASSIFIED_STATUS, ~classified, verdict)
        if unknown:
            notes.append(f"Status values not classified (excluded): {unknown}.")

    latency, lat_missing, lat_bad = f_latency.result()
    f_negative = pool.submit(np.less, latency, 0)
    # A failed request may have no latency (it never completed); it still counts for availability.
    lat_column = arrow.column(resolved.latency)
    exclude(t.MISSING_LATENCY, None if lat_missing is None else lat_missing & ok)
    exclude(t.UNPARSABLE_LATENCY, None if lat_bad is None else lat_bad & ok, lat_column)
    exclude(t.NEGATIVE_LATENCY, f_negative.result(), lat_column)
    unmeasured = _either(lat_missing, lat_bad)
    failed_without_latency = 0 if unmeasured is None else int((unmeasured & ~ok & ~drop).sum())
    if failed_without_latency:
        notes.append(
            f"{failed_without_latency} failed requests have no latency; they count for "
            "availability and are left out of latency figures."
        )

    for column, value in resolved.where:
        if column == t.OUTPUT_LENGTH and column not in arrow.column_names and f_tokens:
            # A band of the derived segment: compared on band codes of every row read.
            names = [b.lower() for b in (*t.OUTPUT_LENGTH_BANDS, t.MISSING_BAND)]
            wanted = names.index(value.strip().lower())
            exclude(
                f"{t.FILTERED_OUT} ({column}={value})", _band_codes(*f_tokens.result()) != wanted
            )
            continue
        text = as_lower_text(arrow.column(column))
        match = pc.fill_null(pc.equal(text, value.strip().lower()), False)
        exclude(
            f"{t.FILTERED_OUT} ({column}={value})",
            ~np.asarray(match.to_numpy(zero_copy_only=False), dtype=bool),
            arrow.column(column),
        )

    keep = ~drop
    kept = int(keep.sum())
    if kept == 0:
        _refuse_empty(name, n + sum(read_errors.values()), counts, resolved)
    everything = kept == n

    def take(values: np.ndarray) -> np.ndarray:
        return values if everything else values[keep]

    columns: dict[str, Any] = {}
    # Kept rows in time order: all (None), a range of them (slice) or a permutation.
    order: np.ndarray | slice | None = None
    if ts_ns is not None:
        ts_kept = take(ts_ns)
        perm: np.ndarray | None = None
        if ts_kept.size > 1 and not bool(np.all(ts_kept[1:] >= ts_kept[:-1])):
            perm = np.argsort(ts_kept, kind="stable")
            ts_kept = ts_kept[perm]
            notes.append("Rows were not in time order; sorted by time.")
        bulk = find_bulk(ts_kept)
        if not bulk.whole:
            # Rows of the file behind the sorted positions outside the bulk.
            outside = np.r_[0 : bulk.lo, bulk.hi : bulk.size]
            positions = outside if perm is None else perm[outside]
            rows = positions if everything else np.flatnonzero(keep)[positions]
            first = int(rows.min())
            shown = (first + 1, example_value(arrow.column(resolved.timestamp), first))
            if resolved.keep_stray_times:
                notes.append(
                    f"{_rows(bulk.strays)} far from the rest in time (first: "
                    f"{t.describe_example(*shown)}) kept as asked (--keep-stray-times)."
                )
            else:
                counts[t.STRAY_TIMESTAMP] = bulk.strays
                examples[t.STRAY_TIMESTAMP] = shown
                perm = perm[bulk.lo : bulk.hi] if perm is not None else None
                order = slice(bulk.lo, bulk.hi)
                ts_kept = ts_kept[bulk.lo : bulk.hi]
                notes.append(
                    f"{_rows(bulk.strays)} far from the rest in time set apart as strays "
                    f"(first: {t.describe_example(*shown)}); keep them with --keep-stray-times "
                    "(in the app: on the Data page)."
                )
        if perm is not None:
            order = perm
        columns[t.TS] = _utc_times(ts_kept)

    def final(values: np.ndarray) -> np.ndarray:
        kept_values = take(values)
        return kept_values if order is None else kept_values[order]

    later: dict[str, Any] = {
        seg: pool.submit(_categorical, arrow.column(seg), keep, everything, order)
        for seg in resolved.file_segments
    }
    if status_col is not None:
        later[t.STATUS] = pool.submit(_original, status_col, keep, everything, order)
    columns[t.LATENCY] = final(latency)
    columns[t.OK] = final(ok)
    columns[t.ERROR_CLASS] = pd.Categorical.from_codes(
        final(assessment.error_class),
        dtype=pd.CategoricalDtype(list(ERROR_CLASSES)),
        validate=False,
    )
    if f_ttft is not None:
        ttft = f_ttft.result()[0]
        negative = ttft < 0
        if negative.any():
            notes.append(f"{int((negative & keep).sum())} negative TTFT values read as missing.")
            ttft = _writable(ttft)
            ttft[negative] = np.nan
        columns[t.TTFT] = final(ttft)
    if f_tokens is not None:
        counts_int, no_count = (final(a) for a in f_tokens.result())
        columns[t.OUTPUT_TOKENS] = pd.arrays.IntegerArray(counts_int, no_count)
        if resolved.output_length_bands:
            later[t.OUTPUT_LENGTH] = pool.submit(_length_bands, counts_int, no_count)
        if f_ttft is not None:
            # Per request on the kept rows (negative TTFTs are already missing there).
            columns[t.TPOT] = _per_token(
                columns[t.LATENCY], columns[t.TTFT], counts_int, no_count, columns[t.OK]
            )
    for key, future in later.items():
        columns[key] = future.result()
    # Canonical column order whatever finished first.
    ordered = [c for c in (*t.CORE_COLUMNS, t.ERROR_CLASS) if c in columns]
    ordered += list(resolved.segments)
    columns = {c: columns[c] for c in ordered}

    frame = pd.DataFrame(columns, copy=False)
    return t.RequestTable(
        frame=frame,
        source_name=name,
        mapping=resolved,
        rows_read=n + sum(read_errors.values()),
        dropped=counts,
        notes=tuple(notes),
        examples=examples,
    )


EXAMPLE_CHARS = 80


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def example_value(column: Any, row: int) -> str:
    """The value of `column` at `row` as written (shortened), for an excluded-row example."""
    if column is None:
        return ""
    try:
        value = column[row].as_py()
    except (pa.ArrowException, ValueError, OverflowError):  # e.g. a date Python cannot hold
        value = column.slice(row, 1).cast(pa.string())[0].as_py()
    text = "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 3] + "..."


def _refuse_unreadable_times(
    parsed: ParsedTimes, column: Any, resolved: ResolvedMapping, name: str
) -> None:
    """A time column named by the user or detected by its name must hold times: when most of
    its values are no time, refuse with the first one rather than drop the rows."""
    present = ~parsed.missing
    bad = (parsed.unparsable | parsed.out_of_range_mask) & present
    n_bad, n_present = int(bad.sum()), int(present.sum())
    if n_present == 0 or 2 * n_bad <= n_present:
        return
    first = int(np.argmax(bad))
    raise DataError(
        f"the time column {resolved.timestamp!r} cannot be read as times: {n_bad:,} of "
        f"{n_present:,} values are not times, the first at row {first + 1:,}: "
        f"{example_value(column, first)!r}",
        where=name,
        hint="name the time column with --timestamp COL (ISO 8601, a common date layout or "
        "epoch numbers), or fix the values",
        app_hint="choose another time column under 'Correct the mapping' on the Data page, or "
        "fix the values",
    )


_POOL: ThreadPoolExecutor | None = None


def _band_codes(tokens: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """Output-token band of each request as int8: 0 <=256, 1 257-1024, 2 >1024, 3 unknown."""
    low, high = t.OUTPUT_LENGTH_EDGES
    # Written in place as int8 (one byte per request, no wider temporaries).
    codes = np.empty(tokens.size, dtype=np.int8)
    np.greater(tokens, low, out=codes.view(np.bool_))
    codes += tokens > high
    if unknown.any():
        codes[unknown] = len(t.OUTPUT_LENGTH_BANDS)
    return codes


def _length_bands(tokens: np.ndarray, unknown: np.ndarray) -> pd.Categorical[Any]:
    """Output-token bands as a categorical with int8 codes (bands present only, in order)."""
    codes = _band_codes(tokens, unknown)
    names = (*t.OUTPUT_LENGTH_BANDS, t.MISSING_BAND)
    present = np.array([np.count_nonzero(codes == i) > 0 for i in range(len(names))])
    if present.all():
        return pd.Categorical.from_codes(
            codes, dtype=pd.CategoricalDtype(list(names)), validate=False
        )
    # Empty bands would be offered as filter values that match nothing: drop them.
    renumber = (np.cumsum(present) - 1).astype(np.int8)
    kept = [name for name, used in zip(names, present, strict=True) if used]
    if np.any(renumber[present] != np.flatnonzero(present)):
        codes = renumber[codes]  # only when a band in the middle is empty
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(kept), validate=False)


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(
            max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="sloview-ingest"
        )
    return _POOL


def _scaled_numbers(
    column: pa.ChunkedArray, factor: float
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """`_numbers` in milliseconds."""
    values, missing, bad = _numbers(column)
    if factor == 1.0:
        return values, missing, bad
    with np.errstate(over="ignore"):
        scaled = values * factor
    # 1e308 seconds is no latency in ms: unparsable, like any other non-number.
    overflow = np.isinf(scaled) & np.isfinite(values)
    if overflow.any():
        scaled[overflow] = np.nan
        bad = overflow if bad is None else bad | overflow
    return scaled, missing, bad


def _token_counts(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Output tokens as int32 plus a mask of unknown counts."""
    if pa.types.is_integer(column.type) and column.null_count == 0:
        values = _arrow_numpy(column)
        limits = np.iinfo(np.int32)
        if values.size == 0 or (values.min() >= limits.min and values.max() <= limits.max):
            return values.astype(np.int32, copy=False), np.zeros(values.size, dtype=bool)
    tokens = _numbers(column)[0]
    # A count beyond int32 (a mangled row) is no token count either.
    unknown = ~(np.abs(tokens) <= np.iinfo(np.int32).max)
    return np.where(unknown, 0, np.round(tokens)).astype(np.int32), unknown


PER_TOKEN_CHUNK = 1 << 20


def _per_token(
    latency: np.ndarray, ttft: np.ndarray, tokens: np.ndarray, unknown: np.ndarray, ok: np.ndarray
) -> np.ndarray:
    """Time per output token: (latency - ttft) / (tokens - 1); NaN without a second token,
    a TTFT, or success."""
    out = np.empty(latency.size)

    def part(lo: int) -> None:
        # In chunks of a million rows: small temporaries stay in cache, and the chunks run
        # on all cores (numpy releases the GIL).
        hi = min(lo + PER_TOKEN_CHUNK, latency.size)
        view = out[lo:hi]
        np.subtract(latency[lo:hi], ttft[lo:hi], out=view)
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(view, tokens[lo:hi] - 1.0, out=view)
        unusable = tokens[lo:hi] <= 1
        unusable |= unknown[lo:hi]
        unusable |= ~ok[lo:hi]
        view[unusable] = np.nan

    list(_pool().map(part, range(0, latency.size, PER_TOKEN_CHUNK)))
    return out


def _arrow_numpy(column: pa.ChunkedArray) -> np.ndarray:
    """A null-free numeric column as numpy without a numpy-side copy.

    Joining the chunks in Arrow's memory pool and viewing the result avoids allocating fresh
    numpy memory, whose first touch (page faults) costs more than the copy itself here. The
    view is read-only: callers that modify it go through `_writable`.
    """
    joined = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return np.asarray(joined.to_numpy(zero_copy_only=False))


def _utc_times(ns: np.ndarray) -> Any:
    """UTC nanoseconds as a tz-aware pandas array, without copying them when pandas allows.

    pandas has no public zero-copy constructor for zoned datetimes; its private one saves a
    copy of 8 bytes per request. Any other pandas falls back to the public, copying one.
    """
    dtype = pd.DatetimeTZDtype("ns", "UTC")
    simple_new = getattr(pd.arrays.DatetimeArray, "_simple_new", None)
    if simple_new is not None:
        try:
            return simple_new(ns.view("datetime64[ns]"), dtype=dtype)
        except TypeError:
            pass
    return pd.array(ns.view("datetime64[ns]"), dtype=dtype)


def _writable(values: np.ndarray) -> np.ndarray:
    return values if values.flags.writeable else values.copy()


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
            values = _arrow_numpy(column)
        else:
            values = np.array(
                pc.fill_null(pc.cast(column, pa.float64(), safe=False), np.nan).to_numpy(),
                dtype=float,
            )
        # NaN and +-inf are not measurements, whether written as text or as numbers.
        finite = np.isfinite(values)
        if finite.all():
            return values, missing, None
        bad = ~finite if missing is None else ~finite & ~missing
        values = _writable(values)
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
    column: pa.ChunkedArray, keep: np.ndarray, everything: bool, order: np.ndarray | slice | None
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
        back = pc.cast(as_int, typ, safe=False)
        whole = pc.all(pc.or_kleene(pc.is_null(column), pc.equal(back, column)))
        if whole.as_py():
            column = as_int  # 429.0 -> 429 as recorded by a tool that writes floats
    return _categorical(column, keep, everything, order, fill=None)


def _categorical(
    column: pa.ChunkedArray,
    keep: np.ndarray,
    everything: bool,
    order: np.ndarray | slice | None,
    fill: str | None = "(missing)",
) -> pd.Categorical:
    typ = column.type
    if not pa.types.is_dictionary(typ) or (fill is not None and column.null_count):
        # Parquet dictionaries pass through untouched; anything else is encoded once, in Arrow.
        if pa.types.is_dictionary(typ):
            column = column.cast(typ.value_type)
        if is_nested(column.type):
            column = nested_as_json(column)  # an API's error object, kept as its JSON text
        elif not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = pc.cast(column, pa.string())
        if fill is not None:
            column = pc.fill_null(column, fill)
        column = column.dictionary_encode()
    chunked = column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])
    chunked = chunked.unify_dictionaries()
    if not everything:
        chunked = chunked.filter(pa.array(keep))
    if isinstance(order, slice):
        chunked = chunked.slice(order.start, order.stop - order.start)
    elif order is not None:
        chunked = chunked.take(pa.array(order))
    series = chunked.combine_chunks().to_pandas()
    return pd.Categorical(series)


def _top_values(column: pa.ChunkedArray, mask: np.ndarray, limit: int = 5) -> str:
    if not mask.any():
        return ""
    picked = column.filter(pa.array(mask))
    if is_nested(picked.type):
        picked = nested_as_json(picked)
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
