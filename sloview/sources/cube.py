"""What the aggregation every database source shares groups by, and how its answer is read.

The database groups requests by (minute, status value, latency validity, latency bin, segment
and filter columns) and returns counts (the query: `sloview.sources.query`); PostgreSQL groups
by all but the bin and returns each group's bins as one array, counted here (`unpack`,
`Cells`). Everything that decides what a
request means (the status policy, which rows are excluded and why, `--where` filters) then
runs here, on the few distinct values, with the very functions the file readers use, so a
table and the same data in a file give the same figures.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sloview.errors import SourceError
from sloview.ingest.mapping import ResolvedMapping
from sloview.ingest.status import StatusPolicy
from sloview.ingest.timestamps import epoch_unit
from sloview.sources.aggregates import LOG_FLOOR_BIN

# Latency validity, as the file conversion sees it.
VALID, MISSING, UNPARSABLE, NEGATIVE = 0, 1, 2, 3
NO_BIN = -(2**31)
TimeKind = Literal["tz", "naive", "epoch", "text"]


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


# array_send of a one-dimensional array without NULLs: ndim, flags, element type, length and
# lower bound (int32 each), then a (length, value) pair of int32s per element.
ARRAY_HEADER = 20


@dataclass(frozen=True)
class Cells:
    """Grouped counts from a database: groups of requests and the latency bins in each.

    `keys` has one row per group (columns m, s, f, optional tf, g0 ...) and `n` its requests.
    Either one bin per group, `k`, with `w` requests in it (a GROUP BY that includes the bin),
    or the bins of single requests, group after group, `lengths` of them per group (unpacked
    PostgreSQL arrays).
    """

    keys: pa.Table
    n: np.ndarray
    k: np.ndarray
    lengths: np.ndarray | None = None
    w: np.ndarray | None = None
    # With `lengths`: the requests in each entry's bin (None: one request per entry).
    weights: np.ndarray | None = None

    @property
    def groups(self) -> int:
        """Number of groups (key rows)."""
        return int(self.n.size)

    @classmethod
    def of(cls, table: pa.Table) -> Cells:
        """The cells of a table with one row per group and bin (columns k, n)."""
        n = np.asarray(table.column("n").to_numpy(zero_copy_only=False), dtype=np.int64)
        k = pc.fill_null(pc.cast(table.column("k"), pa.int64()), NO_BIN)
        return cls(table, n, np.asarray(k.to_numpy(zero_copy_only=False)), None, n)

    def histogram(
        self, minutes: np.ndarray, pick: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(minute, bin, requests) of the bins of the groups picked by a mask.

        Single requests are counted per (minute, bin) here with one sort of (minute, bin)
        keys: the cells come out in the order of the sparse matrix, which then needs no sort
        of its own.
        """
        if self.lengths is None:
            assert self.w is not None
            return minutes[pick], self.k[pick], self.w[pick]
        if self.weights is not None:
            # (bin, requests) entries: unsorted, repeats summed by the sparse matrix. Only the
            # picked groups' minutes are repeated (millions of entries at 10^8 requests).
            entries = np.repeat(pick, self.lengths)
            k = self.k[entries]
            weights = self.weights[entries]
            del entries
            picked = minutes[pick]
            if picked.size and picked.min() > -(2**31) and picked.max() < 2**31:
                picked = picked.astype(np.int32)  # minutes since 1970 fit until year 6053
            per_entry = np.repeat(picked, self.lengths[pick])
            binned = k != NO_BIN
            if not binned.all():
                return per_entry[binned], k[binned], weights[binned]
            return per_entry, k, weights
        values = np.repeat(pick, self.lengths)
        k = self.k[values]
        lengths = self.lengths[pick]
        if k.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, np.int64)
        low, span = int(k.min()), int(k.max()) - int(k.min()) + 1
        first, last = int(minutes[pick].min()), int(minutes[pick].max())
        # int32 keys sort faster, and fit unless minutes x bins exceed 2^31. Fresh memory is
        # slow to touch here (half the time on 10^7 values), so few arrays are made.
        small = (last - first + 1) * span < 2**31
        key = np.repeat(
            ((minutes[pick] - first) * span - low).astype(np.int32 if small else np.int64),
            lengths,
        )
        key += k
        del k, values
        key.sort()
        new = np.empty(key.size, dtype=bool)
        new[0] = True
        np.not_equal(key[1:], key[:-1], out=new[1:])
        cell = key[new]
        starts = np.flatnonzero(new)
        del new
        counts = np.empty(starts.size, dtype=np.int64)
        np.subtract(starts[1:], starts[:-1], out=counts[:-1])
        counts[-1] = key.size - starts[-1]
        del starts, key
        minute = cell // span
        cell -= minute * span
        cell += low
        return minute.astype(np.int64) + first, cell, counts


def histogram_by_group(
    cells: Cells, minutes: np.ndarray, pick: np.ndarray, codes: np.ndarray, groups: int
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """`Cells.histogram` of every segment group at once: one pass over the requests (one sort
    of (group, minute, bin) keys), cut into (minute, bin, requests) per group code 0 ..

    `codes`: the group of each key row (-1: in no group).
    """
    chosen = pick & (codes >= 0)
    if not chosen.any():
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        return [empty for _ in range(groups)]
    first = int(minutes[chosen].min())
    width = int(minutes[chosen].max()) - first + 1
    # The group becomes the high part of the minute, so the one sort orders by group first.
    composite = np.where(chosen, np.maximum(codes, 0) * width + (minutes - first), 0)
    cm, ck, cc = cells.histogram(composite, chosen)
    code = cm // width
    if code.size and np.any(code[1:] < code[:-1]):
        order = np.argsort(code, kind="stable")
        cm, ck, cc, code = cm[order], ck[order], cc[order], code[order]
    minute = cm - code * width + first
    edges = np.searchsorted(code, np.arange(groups + 1))
    return [(minute[a:b], ck[a:b], cc[a:b]) for a, b in itertools.pairwise(edges)]


def from_lists(table: pa.Table, base: int, offset: int) -> Cells:
    """The cells of a `query.listed` result: keys, and each key's (bin, requests) entries
    decoded from the `cells` list (requests * base + bin + offset, or requests * base for a
    value without a bin).

    Decoded chunk by chunk straight into int32 arrays (a cell's requests and a bin fit): at
    10^8 requests a month there are 13 million entries, and int64 temporaries or a combined
    copy of the lists would double sloview's memory.
    """
    keys = table.drop_columns(["cells"])
    n = np.asarray(pc.fill_null(table.column("n"), 0).to_numpy(zero_copy_only=False), np.int64)
    chunks = table.column("cells").chunks
    lengths = np.zeros(n.size, dtype=np.int64)
    total = 0
    for chunk in chunks:
        if chunk.null_count:
            raise SourceError("the database sent the counts in an unexpected form")
        total += int(pc.list_value_length(chunk).to_numpy(zero_copy_only=False).sum())
    weights = np.empty(total, dtype=np.int32)
    k = np.empty(total, dtype=np.int32)
    shift = int(base).bit_length() - 1
    if base != 1 << shift:
        raise ValueError(f"the list cell base must be a power of two, not {base}")
    row = entry = 0
    for chunk in chunks:
        size = len(chunk)
        lengths[row : row + size] = pc.list_value_length(chunk).to_numpy(zero_copy_only=False)
        values = np.asarray(
            pc.list_flatten(chunk).cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64
        )
        if values.size and (values.min() < base or int(values.max()) >> shift >= 2**31):
            raise SourceError("the database sent the counts in an unexpected form")
        part = slice(entry, entry + values.size)
        np.right_shift(values, shift, out=weights[part], casting="unsafe")
        np.bitwise_and(values, base - 1, out=k[part], casting="unsafe")
        row, entry = row + size, entry + values.size
        del values
    no_bin = k == 0
    k -= offset
    k[no_bin] = NO_BIN
    if np.any(weights_per_key(lengths, weights) != n):
        raise SourceError("the database sent the counts in an unexpected form")
    return Cells(keys, n, k, lengths, None, weights)


def weights_per_key(lengths: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The requests of each key row, summed over its entries."""
    if lengths.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    summed = np.add.reduceat(weights, np.minimum(starts, max(weights.size - 1, 0)), dtype=np.int64)
    return np.where(lengths > 0, summed, 0)


def unpack(table: pa.Table) -> tuple[Cells, Cells | None]:
    """The latency (and TTFT) cells of a `packed_sql` result.

    Each value is a log bin or NO_BIN + the validity of a value without one; the validities
    become key columns f (latency) and tf (TTFT), as in the GROUP BY of other databases.
    """
    keys = table.drop_columns([c for c in ("latency", "ttft") if c in table.column_names])
    lengths, lat = _int4_arrays(table.column("latency"))
    lat_flag = _validity(lat)
    latency = _split(keys, lengths, lat, {"f": lat_flag})
    if "ttft" not in table.column_names:
        return latency, None
    ttft_lengths, ttft = _int4_arrays(table.column("ttft"))
    if not np.array_equal(lengths, ttft_lengths):
        raise SourceError("the database sent the counts in an unexpected form")
    return latency, _split(keys, lengths, ttft, {"f": lat_flag, "tf": _validity(ttft)})


def _int4_arrays(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(elements per array, all elements) of array_send int4[] values, read in place: each
    array is a multiple of 4 bytes, so the buffer is one run of big-endian int32 words from
    which the headers are masked out."""
    if len(column) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
    array = column.combine_chunks()
    kind = np.int64 if pa.types.is_large_binary(array.type) else np.int32
    offsets = np.frombuffer(array.buffers()[1], dtype=kind)[
        array.offset : array.offset + len(array) + 1
    ].astype(np.int64)
    sizes = np.diff(offsets)
    if array.null_count or np.any(offsets % 4) or np.any(sizes < ARRAY_HEADER):
        raise SourceError("the database sent the counts in an unexpected form")
    end = int(offsets[-1]) // 4
    words = np.frombuffer(array.buffers()[2], dtype=">i4", count=end)
    header = offsets[:-1, None] // 4 + np.arange(ARRAY_HEADER // 4)
    head = words[header]
    lengths = head[:, 3].astype(np.int64)
    # One dimension, no NULLs, and every element a 4-byte int.
    if not np.all((head[:, 0] == 1) & (head[:, 1] == 0) & (sizes == ARRAY_HEADER + 8 * lengths)):
        raise SourceError("the database sent the counts in an unexpected form")
    body = np.ones(end, dtype=bool)
    body[: int(offsets[0]) // 4] = False
    body[header.ravel()] = False
    return lengths, words[body][1::2].astype(np.int32)


def _validity(values: np.ndarray) -> np.ndarray:
    """VALID for a bin, else the validity `bin_or_flag_sql` put in its place."""
    flag = np.zeros(values.size, dtype=np.int8)  # VALID
    invalid = values < LOG_FLOOR_BIN
    if invalid.any():
        codes = values[invalid].astype(np.int64) - NO_BIN
        if not np.all((codes >= MISSING) & (codes <= NEGATIVE)):
            raise SourceError("the database sent the counts in an unexpected form")
        flag[invalid] = codes
    return flag


def _split(
    keys: pa.Table, lengths: np.ndarray, bins: np.ndarray, flags: dict[str, np.ndarray]
) -> Cells:
    """Cells of groups of single requests, with validity columns (`flags`, per request).

    Requests valid in every flag keep their bins; the others (rare) only count, in one more
    group per group and combination of validities.
    """
    invalid = np.zeros(bins.size, dtype=bool)
    for flag in flags.values():
        invalid |= flag != VALID
    if not invalid.any():
        for name in flags:
            keys = keys.append_column(name, pa.array(np.full(len(lengths), VALID, np.int64)))
        return Cells(keys, lengths, bins, lengths)
    # Validities as digits in base 4 (VALID is 0).
    combination = np.zeros(int(invalid.sum()), dtype=np.int64)
    for i, flag in enumerate(flags.values()):
        combination += flag[invalid].astype(np.int64) * 4**i
    width = 4 ** len(flags)
    rows = np.repeat(np.arange(len(lengths)), lengths)[invalid]
    per_group = np.bincount(rows * width + combination, minlength=width * len(lengths))
    per_group = per_group.reshape(-1, width)
    valid = lengths - per_group.sum(axis=1)
    with_bins = np.flatnonzero(valid)
    extra, combinations = np.nonzero(per_group)
    keys = keys.take(np.concatenate([with_bins, extra]))
    for i, name in enumerate(flags):
        of_extra = combinations // 4**i % 4
        column = np.concatenate([np.full(with_bins.size, VALID), of_extra]).astype(np.int64)
        keys = keys.append_column(name, pa.array(column))
    n = np.concatenate([valid[with_bins], per_group[extra, combinations]])
    counts = np.concatenate([valid[with_bins], np.zeros(extra.size, dtype=np.int64)])
    return Cells(keys, n, bins[~invalid], counts)


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
            array = array.cast(pa.float64(), safe=False)
        arrays.append(array)
    return pa.table(dict(zip(names, arrays, strict=True)))
