"""Timestamps: text or numbers in any common shape -> UTC nanoseconds since the epoch.

Naive times are read as UTC unless the user names a timezone; numeric epochs are read in
seconds, milliseconds, microseconds or nanoseconds by their magnitude.

Every conversion to nanoseconds is checked: a value that would not fit in int64 nanoseconds
(before 1677-09-21 or after 2262-04-11, the range a pandas time can hold) is marked out of
range instead of wrapping around to another century, as unchecked integer arithmetic does.
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
# The largest magnitude of a valid time in ns (NAT, -2**63, is reserved for "missing").
NS_MAX = 2**63 - 1
# Localising a wall time moves it by at most a day: keep that far from the limits.
_ZONE_MARGIN_NS = 2 * 86_400 * 1_000_000_000
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
    """UTC nanoseconds (NAT where missing, unparsable or out of range) and how they were read."""

    ns: np.ndarray
    missing: np.ndarray
    unparsable: np.ndarray
    how: str
    # Numbers or dates that are no representable time (overflow in ns, beyond 1677..2262).
    out_of_range: np.ndarray | None = None

    @property
    def out_of_range_mask(self) -> np.ndarray:
        """`out_of_range` as a mask (all False when nothing was out of range)."""
        if self.out_of_range is None:
            return np.zeros(self.ns.shape, dtype=bool)
        return self.out_of_range


def scale_to_ns(ints: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer times in units of `factor` ns -> (ns, out of range), without silent overflow.

    NAT inputs stay NAT (and are not out of range); values whose product would leave int64
    come back as NAT and are flagged.
    """
    ints = np.asarray(ints, dtype=np.int64)
    nat = ints == NAT
    limit = NS_MAX // factor
    out = ((ints > limit) | (ints < -limit)) & ~nat
    if factor == 1:
        return ints.copy(), out
    ns = np.where(out | nat, 0, ints) * factor
    ns[out | nat] = NAT
    return ns, out


def _floats_to_ns(raw: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Finite float times in units of `factor` ns -> (ns, out of range); NaN/inf -> NAT."""
    finite = np.isfinite(raw)
    limit = float(NS_MAX // factor)
    safe = np.where(finite, raw, 0.0)
    whole = np.floor(safe)
    # One unit of margin: the fractional part is added after the whole units.
    out = finite & ((whole >= limit - 1) | (whole <= -limit + 1))
    whole[out] = 0.0
    # Whole and fractional parts apart: raw * factor alone loses ~100 ns at 1e18.
    frac = np.round((safe - np.floor(safe)) * factor).astype(np.int64)
    frac[out] = 0
    ns = whole.astype(np.int64) * factor + frac
    ns[~finite | out] = NAT
    return ns, out


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
        ns, out = _timestamps_to_ns(values, t, zone)
        how = "timestamps with a timezone" if t.tz else f"naive timestamps read as {zone}"
        # Only localising can fail here (a wall time that does not exist in the zone).
        shifted = not t.tz and zone != "UTC"
        unparsable = (ns == NAT) & ~missing & ~out if shifted else np.zeros_like(missing)
        return ParsedTimes(ns, missing, unparsable, how, out)
    if pa.types.is_date(t):
        values = pc.cast(values, pa.timestamp("s"))
        ns, out = _timestamps_to_ns(values, values.type, zone)
        unparsable = (ns == NAT) & ~missing & ~out if zone != "UTC" else np.zeros_like(missing)
        return ParsedTimes(ns, missing, unparsable, f"dates read as midnight {zone}", out)
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
            filled = pc.fill_null(values, 0)
            huge = np.zeros(len(values), dtype=bool)
            if pa.types.is_uint64(t):
                # Above int64 the cast would wrap: such values are out of range anyway.
                huge = np.asarray(
                    pc.greater(filled, pa.scalar(NS_MAX, pa.uint64())).to_numpy(
                        zero_copy_only=False
                    ),
                    dtype=bool,
                )
                filled = pc.if_else(pa.array(huge), pa.scalar(0, pa.uint64()), filled)
            ints = np.asarray(filled.to_numpy(zero_copy_only=False)).astype(np.int64)
            ns, out = scale_to_ns(ints, factor)
            out |= huge
        else:
            ns, out = _floats_to_ns(raw, factor)
        out &= ~missing
        ns[missing | bad | out] = NAT
        return ParsedTimes(ns, missing, bad, how, out)
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
    return ParsedTimes(
        parsed.ns, missing, unparsable, f"{parsed.how}, written as text", parsed.out_of_range
    )


def _matches(text: pa.ChunkedArray | pa.Array, pattern: str) -> np.ndarray:
    found = pc.fill_null(pc.match_substring_regex(text, pattern), False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _timestamps_to_ns(
    values: pa.ChunkedArray | pa.Array, t: pa.DataType, zone: str
) -> tuple[np.ndarray, np.ndarray]:
    """Arrow timestamps -> (UTC ns, out of range); a Parquet time in year 3000 is flagged."""
    # In their own unit first: Arrow refuses (not wraps) a cast to ns that would overflow,
    # but one such row must not fail the whole column.
    as_ints = pc.cast(values, pa.timestamp(t.unit, tz=t.tz)).cast(pa.int64())
    if as_ints.null_count:
        as_ints = pc.fill_null(as_ints, NAT)
    if isinstance(as_ints, pa.ChunkedArray):
        as_ints = as_ints.combine_chunks()  # joined in Arrow's pool, viewed without a copy
    ints = np.asarray(as_ints.to_numpy(zero_copy_only=False), dtype=np.int64)
    if t.unit == "ns":
        ns, out = ints, np.zeros(ints.shape, dtype=bool)
    else:
        ns, out = scale_to_ns(ints, UNIT_FACTORS[t.unit])
    if t.tz or zone == "UTC":
        return ns, out  # Arrow stores zoned timestamps as UTC already
    return _localize(ns, zone, out)


def _localize(
    wall_ns: np.ndarray, zone: str, out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Wall times in `zone` -> (UTC ns, out of range); NAT where a time does not exist."""
    out = np.zeros(wall_ns.shape, dtype=bool) if out is None else out.copy()
    present = wall_ns != NAT
    edge = present & (np.abs(np.where(present, wall_ns, 0)) > NS_MAX - _ZONE_MARGIN_NS)
    out |= edge
    valid = present & ~edge
    idx = pd.DatetimeIndex(wall_ns[valid].astype("datetime64[ns]"))
    try:
        local = idx.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    except Exception as exc:  # pytz/zoneinfo raise several types for unknown zones
        raise DataError(
            f"unknown timezone {zone!r}", hint="use an IANA name such as Europe/Berlin or UTC"
        ) from exc
    utc = np.full(wall_ns.shape, NAT, dtype=np.int64)
    utc[valid] = local.tz_convert("UTC").as_unit("ns").asi8
    return utc, out


def _parse_text(
    text: pa.ChunkedArray | pa.Array, missing: np.ndarray, tz: str | None
) -> ParsedTimes:
    series = pd.Series(np.asarray(text.to_numpy(zero_copy_only=False), dtype=object))
    present = series[~missing]
    probe = present.iloc[:500]
    best_name, best_fmt, best_ok = TEXT_FORMATS[0][0], TEXT_FORMATS[0][1], -1
    for name, fmt in TEXT_FORMATS:
        # utc=True: a probe mixing values with and without an offset must still count.
        ok = int(_coerce(probe, fmt, utc=True).notna().sum()) if len(probe) else 0
        if ok > best_ok:
            best_name, best_fmt, best_ok = name, fmt, ok
    ns = np.full(len(series), NAT, dtype=np.int64)
    out = np.zeros(len(series), dtype=bool)
    if len(present):
        parsed, beyond = _to_utc(present, best_fmt, tz)
        ns[~missing] = parsed
        out[~missing] = beyond
    unparsable = (ns == NAT) & ~missing & ~out
    zone = tz or "UTC"
    return ParsedTimes(
        ns, missing, unparsable, f"{best_name} text (naive times read as {zone})", out
    )


def _coerce(text: pd.Series, fmt: str, utc: bool) -> pd.Series:
    """`pd.to_datetime` with unparsable values as NaT, whatever mix of zones the text holds."""
    try:
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=utc)
    except (ValueError, TypeError, OverflowError):
        # pandas refuses to mix zone-aware and naive values without utc=True; aware values
        # without a trailing offset (a zone name, say) land here: read as UTC.
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=True)


def _to_utc(text: pd.Series, fmt: str, tz: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Parse text -> (UTC ns, out of range); values with an offset keep it, naive values are
    read in `tz` (UTC default)."""
    has_offset = text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True, na=False)
    ns = np.full(len(text), NAT, dtype=np.int64)
    out = np.zeros(len(text), dtype=bool)
    aware_mask = has_offset.to_numpy()
    if aware_mask.any():
        ns[aware_mask], out[aware_mask] = _asi8(_coerce(text[has_offset], fmt, utc=True))
    naive_mask = ~aware_mask
    if naive_mask.any():
        naive = _coerce(text[naive_mask], fmt, utc=False)
        wall, beyond = _asi8(naive)
        if getattr(naive.dt, "tz", None) is None and tz and tz != "UTC":
            wall, beyond = _localize(wall, tz, beyond)
        ns[naive_mask], out[naive_mask] = wall, beyond
    return ns, out


def _asi8(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parsed times in any unit pandas chose -> (UTC or wall ns, out of range of ns)."""
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    arr = values.to_numpy()
    unit = np.datetime_data(arr.dtype)[0]
    # pandas 3 keeps microseconds: year 3000 is valid there and would wrap in ns.
    return scale_to_ns(arr.view(np.int64), UNIT_FACTORS.get(unit, 1))
