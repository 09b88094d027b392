"""Timestamps: text or numbers in any common shape -> UTC nanoseconds since the epoch.

Naive times are read as UTC unless the user names a timezone; numeric epochs are read in
seconds, milliseconds, microseconds or nanoseconds by their magnitude.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sloview.errors import DataError
from sloview.units import UNIT_WORDS

NAT = np.iinfo(np.int64).min
# Epoch magnitudes: 1e11 s is the year 5138, 1e11 ms is 1973; the same steps separate us and ns.
EPOCH_UNITS = ((1e11, "s", 1_000_000_000), (1e14, "ms", 1_000_000), (1e17, "us", 1_000))
UNIT_FACTORS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_NUMBER = r"^-?\d+(\.\d*)?$"  # an epoch written as text: 1700000000 or 1700000000.25
TEXT_FORMATS = (
    ("ISO 8601", "ISO8601"),
    ("yyyy/MM/dd HH:mm:ss", "%Y/%m/%d %H:%M:%S"),
    ("yyyy/MM/dd HH:mm:ss.SSS", "%Y/%m/%d %H:%M:%S.%f"),
    ("dd.MM.yyyy HH:mm:ss", "%d.%m.%Y %H:%M:%S"),
)


@dataclass(frozen=True)
class ParsedTimes:
    """UTC nanoseconds (NAT where missing or unparsable) and how they were read."""

    ns: np.ndarray
    missing: np.ndarray
    unparsable: np.ndarray
    how: str


def epoch_unit(values: np.ndarray) -> tuple[str, int]:
    """The epoch unit of numeric timestamps, by the magnitude of their median."""
    finite = values[np.isfinite(values)]
    magnitude = float(np.median(np.abs(finite))) if finite.size else 0.0
    for limit, unit, factor in EPOCH_UNITS:
        if magnitude < limit:
            return unit, factor
    return "ns", 1


def parse_timestamps(
    values: pa.ChunkedArray | pa.Array, tz: str | None, unit: str | None = None
) -> ParsedTimes:
    """Convert a timestamp column of any supported type to UTC nanoseconds."""
    # `unit` fixes the unit of numbers (s, ms, us, ns) where their magnitude cannot tell it,
    # as for invented offsets counted from zero.
    t = values.type
    if pa.types.is_dictionary(t):
        values = values.cast(t.value_type)
        t = t.value_type
    missing = (
        np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), dtype=bool)
        if values.null_count
        else np.zeros(len(values), dtype=bool)
    )
    zone = tz or "UTC"
    if pa.types.is_timestamp(t):
        ns = _timestamps_to_ns(values, t, zone)
        how = "timestamps with a timezone" if t.tz else f"naive timestamps read as {zone}"
        # Only localising can fail here (a wall time that does not exist in the zone).
        shifted = not t.tz and zone != "UTC"
        unparsable = (ns == NAT) & ~missing if shifted else np.zeros_like(missing)
        return ParsedTimes(ns, missing, unparsable, how)
    if pa.types.is_date(t):
        values = pc.cast(values, pa.timestamp("s"))
        ns = _timestamps_to_ns(values, values.type, zone)
        unparsable = (ns == NAT) & ~missing if zone != "UTC" else np.zeros_like(missing)
        return ParsedTimes(ns, missing, unparsable, f"dates read as midnight {zone}")
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        # safe=False: epoch ns (~1.7e18) exceeds 2**53; the float is only used for magnitude.
        raw = np.asarray(pc.fill_null(pc.cast(values, pa.float64(), safe=False), np.nan).to_numpy())
        if unit is None:
            unit, factor = epoch_unit(raw)
            how = f"epoch {unit} (by magnitude)"
        else:
            factor = UNIT_FACTORS[unit]
            how = f"{UNIT_WORDS.get(unit, unit)} counted from 1970-01-01 00:00 UTC"
        bad = ~np.isfinite(raw) & ~missing
        if pa.types.is_integer(t):
            ints = np.asarray(
                pc.fill_null(values, 0).to_numpy(zero_copy_only=False), dtype=np.int64
            )
            ns = ints * factor
        else:
            # Whole and fractional parts apart: raw * factor alone loses ~100 ns at 1e18.
            finite = np.where(np.isfinite(raw), raw, 0.0)
            whole = np.floor(finite)
            frac = np.round((finite - whole) * factor).astype(np.int64)
            ns = whole.astype(np.int64) * factor + frac
        ns[missing | bad] = NAT
        return ParsedTimes(ns, missing, bad, how)
    text = pc.utf8_trim_whitespace(
        values if pa.types.is_string(t) else pc.cast(values, pa.string())
    )
    empty = np.asarray(
        pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False), dtype=bool
    )
    missing |= empty
    epochs = _epoch_text(text, missing, tz, unit)
    if epochs is not None:
        return epochs
    return _parse_text(text, missing, tz)


def _epoch_text(
    text: pa.ChunkedArray | pa.Array, missing: np.ndarray, tz: str | None, unit: str | None
) -> ParsedTimes | None:
    """Epoch numbers held as text (a stray word in the column, mixed JSON): read by magnitude."""
    present = ~missing
    probe = text.filter(pa.array(present)).slice(0, 500)
    if len(probe) == 0 or _matches(probe, _NUMBER).mean() < 0.5:
        return None  # ISO or other text: do not scan the whole column
    is_int = _matches(text, r"^-?(\d{1,18}|[1-8]\d{18})$")  # fits in int64
    is_num = is_int | _matches(text, _NUMBER)
    if is_num[present].mean() < 0.5:
        return None
    numbers = pc.if_else(pa.array(is_num), text, pa.scalar(None, pa.string()))
    exact = bool(np.all(is_int[is_num]))
    parsed = parse_timestamps(pc.cast(numbers, pa.int64() if exact else pa.float64()), tz, unit)
    unparsable = parsed.unparsable | (present & ~is_num)
    return ParsedTimes(parsed.ns, missing, unparsable, f"{parsed.how}, written as text")


def _matches(text: pa.ChunkedArray | pa.Array, pattern: str) -> np.ndarray:
    found = pc.fill_null(pc.match_substring_regex(text, pattern), False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _timestamps_to_ns(values: pa.ChunkedArray | pa.Array, t: pa.DataType, zone: str) -> np.ndarray:
    ns_values = pc.cast(values, pa.timestamp("ns", tz=t.tz)).cast(pa.int64())
    if ns_values.null_count:
        ns_values = pc.fill_null(ns_values, NAT)
    if isinstance(ns_values, pa.ChunkedArray):
        ns_values = ns_values.combine_chunks()  # joined in Arrow's pool, viewed without a copy
    ints = np.asarray(ns_values.to_numpy(zero_copy_only=False), dtype=np.int64)
    if t.tz or zone == "UTC":
        return ints  # Arrow stores zoned timestamps as UTC already
    return _localize(ints, zone)


def _localize(wall_ns: np.ndarray, zone: str) -> np.ndarray:
    valid = wall_ns != NAT
    idx = pd.DatetimeIndex(wall_ns[valid].astype("datetime64[ns]"))
    try:
        local = idx.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    except Exception as exc:  # pytz/zoneinfo raise several types for unknown zones
        raise DataError(
            f"unknown timezone {zone!r}", hint="use an IANA name such as Europe/Berlin or UTC"
        ) from exc
    out = np.full(wall_ns.shape, NAT, dtype=np.int64)
    out[valid] = local.tz_convert("UTC").as_unit("ns").asi8
    return out


def _parse_text(
    text: pa.ChunkedArray | pa.Array, missing: np.ndarray, tz: str | None
) -> ParsedTimes:
    series = pd.Series(np.asarray(text.to_numpy(zero_copy_only=False), dtype=object))
    present = series[~missing]
    probe = present.iloc[:500]
    best_name, best_fmt, best_ok = TEXT_FORMATS[0][0], TEXT_FORMATS[0][1], -1
    for name, fmt in TEXT_FORMATS:
        ok = (
            int(pd.to_datetime(probe, format=fmt, errors="coerce", utc=False).notna().sum())
            if len(probe)
            else 0
        )
        if ok > best_ok:
            best_name, best_fmt, best_ok = name, fmt, ok
    ns = np.full(len(series), NAT, dtype=np.int64)
    if len(present):
        parsed = _to_utc(present, best_fmt, tz)
        ns[~missing] = parsed
    unparsable = (ns == NAT) & ~missing
    zone = tz or "UTC"
    return ParsedTimes(ns, missing, unparsable, f"{best_name} text (naive times read as {zone})")


def _to_utc(text: pd.Series, fmt: str, tz: str | None) -> np.ndarray:
    """Parse text; values with an offset keep it, naive values are read in `tz` (UTC default)."""
    has_offset = text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True, na=False)
    out = np.full(len(text), NAT, dtype=np.int64)
    if has_offset.any():
        aware = pd.to_datetime(text[has_offset], format=fmt, errors="coerce", utc=True)
        out[has_offset.to_numpy()] = _asi8(aware)
    naive_mask = ~has_offset.to_numpy()
    if naive_mask.any():
        naive = pd.to_datetime(text[naive_mask], format=fmt, errors="coerce")
        if getattr(naive.dt, "tz", None) is not None:
            out[naive_mask] = _asi8(naive)
        else:
            wall = _asi8(naive)
            out[naive_mask] = wall if not tz or tz == "UTC" else _localize(wall, tz)
    return out


def _asi8(values: pd.Series) -> np.ndarray:
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    arr = values.to_numpy(dtype="datetime64[ns]")
    return arr.view(np.int64).copy()
