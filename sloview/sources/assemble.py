"""Grouped counts from a database -> `Aggregates`: the file rules, group by group.

The database returns counts per (minute, status value, latency validity, bin, segment and
filter columns) (`sloview.sources.cube`); here every rule that decides what a request means
runs on those few groups with the functions the file readers use: the status policy, the
excluded rows and why, `--where` filters, times out of range and stray minutes far from the
rest (`sloview.ingest.strays`, weighted by requests). Then the kept groups become per-minute
histograms.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sloview.errors import SourceError
from sloview.ingest import table as t
from sloview.ingest.status import as_lower_text
from sloview.ingest.strays import find_bulk
from sloview.ingest.timestamps import NS_MAX
from sloview.sources.aggregates import LOG_EXACTNESS, Aggregates, build_aggregates
from sloview.sources.cube import (
    MISSING,
    NEGATIVE,
    UNPARSABLE,
    VALID,
    Cells,
    CubeSpec,
    histogram_by_group,
)

MINUTE_NS = 60 * 1_000_000_000
# (minute, bin, requests) of a histogram's cells.
Histogram = tuple[np.ndarray, np.ndarray, np.ndarray]


def cells_to_aggregates(
    cells: pa.Table | Cells,
    spec: CubeSpec,
    *,
    source: str,
    first_ns: int | None = None,
    last_ns: int | None = None,
    ttft_cells: pa.Table | Cells | None = None,
    rows_read: int | None = None,
) -> Aggregates:
    """Grouped counts -> `Aggregates`, applying the status policy, exclusions and filters.

    `cells`: a table with one row per group and bin (columns m, s, f, [tf], g0 ..., k, n) or
    `Cells`. Every rule runs once per group; only the histograms look at the bins.
    """
    lat = cells if isinstance(cells, Cells) else Cells.of(cells)
    kept, meta = classify(lat, spec)
    keep = kept["keep"]
    if kept["n"][keep].sum() == 0:
        counts = "; ".join(f"{k}: {v}" for k, v in meta["dropped"].items())
        raise SourceError(
            f"no usable requests: all {meta['rows']} were excluded ({counts})",
            where=source,
            hint="check the column mapping (time, latency and its unit, status values)",
        )
    # MIN/MAX (when known) came from every row in range: excluded rows must not stretch the
    # time base. Without them, the first and last minute with a request bound it.
    minute_ns = 60 * 10**9
    first_minute, last_minute = int(kept["m"][keep].min()), int(kept["m"][keep].max())
    lo, hi = first_minute * minute_ns, (last_minute + 1) * minute_ns - 1
    # Clamped into the kept minutes: a bound from a row set apart (a stray, a time out of
    # range that the source read as NaT) must not stretch or invert the time base.
    first_ns = first_ns if first_ns is not None and lo <= first_ns <= hi else lo
    last_ns = last_ns if last_ns is not None and first_ns <= last_ns <= hi else hi
    ttft = None
    if ttft_cells is not None:
        tcells = ttft_cells if isinstance(ttft_cells, Cells) else Cells.of(ttft_cells)
        ttft = (tcells, classify(tcells, spec, ttft=True)[0])
    extra = {
        "rows_read": rows_read if rows_read is not None else meta["rows"],
        "dropped": meta["dropped"],
        "policy": spec.resolved.policy_description,
        "notes": tuple(meta["notes"]),
        "segment": (),
        "group_by": spec.segment_columns,
    }
    whole = _assemble((lat, kept), ttft, source, first_ns, last_ns, None, extra)
    if spec.segment_columns:
        groups: dict[tuple[str, ...], Aggregates] = {}
        seg_index = [spec.group_columns.index(c) for c in spec.segment_columns]
        parts = [kept] + ([ttft[1]] if ttft is not None else [])
        sizes = [int(p["keep"].sum()) for p in parts]
        codes, keys = _group_codes(
            [np.concatenate([p[f"g{i}"][p["keep"]] for p in parts]) for i in seg_index]
        )
        own = []
        for part, kept_codes in zip(parts, np.split(codes, np.cumsum(sizes)[:-1]), strict=True):
            of_group = np.full(part["keep"].size, -1, dtype=np.int64)
            of_group[part["keep"]] = kept_codes
            own.append(of_group)
        # Every group's histograms in one pass over the requests, not one pass per group.
        lat_split = histogram_by_group(lat, kept["m"], kept["measured"], own[0], len(keys))
        ttft_split = (
            histogram_by_group(ttft[0], ttft[1]["m"], ttft[1]["measured"], own[1], len(keys))
            if ttft is not None
            else None
        )
        for code, key in enumerate(keys):
            segment = tuple(zip(spec.segment_columns, key, strict=True))
            groups[key] = _assemble(
                (lat, kept),
                ttft,
                source,
                first_ns,
                last_ns,
                whole,
                {**extra, "segment": segment, "group_by": (), "dropped": {}, "notes": ()},
                [c == code for c in own],
                (lat_split[code], ttft_split[code] if ttft_split is not None else None),
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


def classify(
    cells: Cells, spec: CubeSpec, ttft: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Per group: kept or excluded (by the file rules, in their order), and whether ok."""
    table = cells.keys
    n = cells.n
    minute_col = table.column("m")
    missing_ts = np.asarray(pc.is_null(minute_col).to_numpy(zero_copy_only=False), dtype=bool)
    minutes = np.asarray(
        pc.fill_null(pc.cast(minute_col, pa.int64()), 0).to_numpy(zero_copy_only=False)
    )
    flag = np.asarray(table.column("f").to_numpy(zero_copy_only=False), dtype=np.int64)
    status = table.column("s")
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
    # A minute the database computed from an epoch with a digit too many: no time in ns.
    exclude(t.OUT_OF_RANGE_TIMESTAMP, np.abs(minutes) > NS_MAX // MINUTE_NS - 1)
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
        groups[f"g{i}"] = table.column(f"g{i}")
    for column, value in spec.resolved.where:
        i = spec.group_columns.index(column)
        text = as_lower_text(groups[f"g{i}"])
        match = pc.fill_null(pc.equal(text, value.strip().lower()), False)
        exclude(
            f"{t.FILTERED_OUT} ({column}={value})",
            ~np.asarray(match.to_numpy(zero_copy_only=False), dtype=bool),
        )
    strays = _stray_minutes(minutes, n, ~drop)
    if strays.any():
        first = _minute_text(int(minutes[strays].min()))
        count = int(n[strays].sum())
        if spec.resolved.keep_stray_times:
            notes.append(
                f"{count:,} requests lie far from the rest in time (the first at {first}); "
                "kept as asked (--keep-stray-times)."
            )
        else:
            exclude(t.STRAY_TIMESTAMP, strays)
            notes.append(
                f"{count:,} requests far from the rest in time set apart as strays (the first "
                f"at {first}); keep them with --keep-stray-times (in the app: on the Data page)."
            )
    keep = ~drop
    measured_flag = table.column("tf") if ttft else None
    if measured_flag is not None:
        tflag = np.asarray(measured_flag.to_numpy(zero_copy_only=False), dtype=np.int64)
        measured = keep & ok & (tflag == VALID)
    else:
        measured = keep & ok & (flag == VALID)
    out: dict[str, np.ndarray] = {
        "keep": keep,
        "m": minutes,
        "n": n,
        "ok": ok,
        "measured": measured,
    }
    for key, column in groups.items():
        values = pc.fill_null(column, "(missing)").to_numpy(zero_copy_only=False)
        out[key] = np.asarray(values, dtype=object)
    return out, {"dropped": dropped, "notes": [*spec.notes, *notes], "rows": int(n.sum())}


def _stray_minutes(minutes: np.ndarray, n: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Groups whose minute lies far from the bulk of the kept requests (the file rule,
    `sloview.ingest.strays`, weighted by the requests in each minute)."""
    if not kept.any():
        return np.zeros(minutes.size, dtype=bool)
    unique, where = np.unique(minutes[kept], return_inverse=True)
    weights = np.bincount(where, weights=n[kept].astype(np.float64), minlength=unique.size)
    bulk = find_bulk(unique * MINUTE_NS, weights)
    if bulk.whole:
        return np.zeros(minutes.size, dtype=bool)
    lo, hi = unique[bulk.lo], unique[bulk.hi - 1]
    return kept & ((minutes < lo) | (minutes > hi))


def _minute_text(minute: int) -> str:
    """A minute number (UTC ns // 60 s) as `1970-01-01 00:00 UTC`."""
    return f"{pd.Timestamp(minute * MINUTE_NS, tz='UTC'):%Y-%m-%d %H:%M} UTC"


def _assemble(
    lat: tuple[Cells, dict[str, np.ndarray]],
    ttft: tuple[Cells, dict[str, np.ndarray]] | None,
    source: str,
    first_ns: int,
    last_ns: int,
    like: Aggregates | None,
    extra: dict[str, Any],
    picks: list[np.ndarray] | None = None,
    histograms: tuple[Histogram, Histogram | None] | None = None,
) -> Aggregates:
    """The aggregates of the kept groups (of those in `picks`: latency, TTFT), with their
    histograms when already counted (`histograms`: latency, TTFT)."""
    cells, kept = lat
    rows = kept["keep"] if picks is None else kept["keep"] & picks[0]
    if histograms is not None:
        cell_minutes, cell_bins, cell_counts = histograms[0]
    else:
        cell_minutes, cell_bins, cell_counts = cells.histogram(kept["m"], kept["measured"] & rows)
    first_bin = like.latency.first_bin if like is not None else None
    if first_bin is None and cell_bins.size:
        first_bin = int(cell_bins.min())
    edges = like.latency.edges_ms if like is not None else None
    ttft_cells = None
    ttft_edges = None
    if ttft is not None:
        tcells, tkept = ttft
        if histograms is not None and histograms[1] is not None:
            tm, tk, tn = histograms[1]
        else:
            tpick = tkept["measured"] if picks is None else tkept["measured"] & picks[1]
            tm, tk, tn = tcells.histogram(tkept["m"], tpick)
        ttft_cells = (tm, tk, tn)
        if like is not None and like.ttft is not None:
            ttft_edges = like.ttft.edges_ms
            ttft_cells = (tm, tk - (like.ttft.first_bin or 0), tn)
    n = kept["n"][rows]
    agg = build_aggregates(
        source=source,
        minutes=kept["m"][rows],
        total=n,
        ok=n * kept["ok"][rows],
        cell_minutes=cell_minutes,
        cell_bins=cell_bins - (first_bin or 0) if edges is not None else cell_bins,
        cell_counts=cell_counts,
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
