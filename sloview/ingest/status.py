"""Status policies: how a request's recorded status becomes good (ok) or bad.

Every policy can describe itself in one sentence, because the room must always see which
requests count as failures before it argues about an availability target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PolicyKind = Literal["http", "boolean", "error_code", "words", "lists", "none"]

GOOD_WORDS = frozenset(
    {
        "ok",
        "success",
        "succeed",
        "succeeded",
        "successful",
        "pass",
        "passed",
        "true",
        "yes",
        "completed",
        "complete",
        "done",
    }
)
BAD_WORDS = frozenset(
    {
        "error",
        "err",
        "fail",
        "failed",
        "failure",
        "false",
        "no",
        "timeout",
        "timed_out",
        "timedout",
        "aborted",
        "rejected",
        "cancelled",
        "canceled",
        "exception",
        "crashed",
    }
)
TRUE_VALUES = frozenset({"true", "t", "1", "yes", "y"})
FALSE_VALUES = frozenset({"false", "f", "0", "no", "n"})


@dataclass(frozen=True, kw_only=True)
class StatusPolicy:
    """Which status values are good, which bad, and which cannot be classified."""

    kind: PolicyKind
    column: str | None = None
    inverted: bool = False
    rate_limited_bad: bool = True
    good: tuple[str, ...] = ()
    bad: tuple[str, ...] = ()

    def describe(self) -> str:
        """One sentence a participant can check: which requests count as failed."""
        col = f"`{self.column}`"
        if self.kind == "none":
            return "No status column: every request counts as successful."
        if self.kind == "http":
            rl = (
                "429 (rate limited) counts as bad"
                if self.rate_limited_bad
                else "429 (rate limited) counts as good"
            )
            return (
                f"HTTP status codes in {col}: 5xx are bad, {rl}, other 1xx-4xx are good; "
                "values that are not HTTP codes are excluded."
            )
        if self.kind == "boolean":
            bad = "true" if self.inverted else "false"
            return f"True/false flag in {col}: {bad} means the request failed."
        if self.kind == "error_code":
            return f"Error column {col}: empty means success, any value means the request failed."
        if self.kind == "words":
            return (
                f"Status words in {col}: {', '.join(sorted(GOOD_WORDS)[:5])} ... are good; "
                f"{', '.join(sorted(BAD_WORDS)[:5])} ... are bad; other values are excluded "
                "(use --good/--bad to classify them)."
            )
        good = ", ".join(self.good) or "everything not listed as bad"
        bad = ", ".join(self.bad) or "everything not listed as good"
        rest = "; values in neither list are excluded" if self.good and self.bad else ""
        return f"Explicit lists for {col}: good = {good}; bad = {bad}{rest}."

    def classify(
        self, values: pa.ChunkedArray | pa.Array | None, n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (ok, classified) boolean arrays for the status values."""
        if self.kind == "none" or values is None:
            return np.ones(n, dtype=bool), np.ones(n, dtype=bool)
        if self.kind == "http":
            return _classify_http(values, self.rate_limited_bad)
        if self.kind == "boolean":
            ok, known = _classify_words(values, TRUE_VALUES, FALSE_VALUES)
            return (~ok if self.inverted else ok) & known, known
        if self.kind == "error_code":
            text = _as_text(values)
            missing = pc.fill_null(
                pc.or_(pc.is_null(text), pc.equal(pc.utf8_trim_whitespace(text), "")), True
            )
            ok = np.asarray(missing.to_numpy(zero_copy_only=False), dtype=bool)
            return ok, np.ones(len(ok), dtype=bool)
        if self.kind == "words":
            return _classify_words(values, GOOD_WORDS, BAD_WORDS)
        return _classify_lists(values, self.good, self.bad)


def normalise_value(value: object) -> str:
    """How a status value is written in good/bad lists: `200`, not `200.0`; lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().lower()


def _as_text(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    t = values.type
    if pa.types.is_dictionary(t):
        values = values.cast(t.value_type)
        t = t.value_type
    if pa.types.is_floating(t):
        # 200.0 -> "200" so lists written as integers still match float columns.
        as_int = pc.cast(values, pa.int64(), safe=False)
        whole = pc.equal(pc.cast(as_int, t), values)
        return pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(values, pa.string()))
    if pa.types.is_boolean(t):
        return pc.if_else(values, "true", "false")
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return pc.cast(values, pa.string())
    return values


def as_lower_text(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    return pc.utf8_lower(pc.utf8_trim_whitespace(_as_text(values)))


def _classify_words(
    values: pa.ChunkedArray | pa.Array, good: frozenset[str], bad: frozenset[str]
) -> tuple[np.ndarray, np.ndarray]:
    if pa.types.is_boolean(values.type) and good is TRUE_VALUES:
        ok = np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)
        known = np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False), dtype=bool)
        return ok, known
    text = as_lower_text(values)
    is_good = _isin(text, good)
    is_bad = _isin(text, bad)
    return is_good, is_good | is_bad


def _classify_lists(
    values: pa.ChunkedArray | pa.Array, good: tuple[str, ...], bad: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    text = as_lower_text(values)
    is_good = _isin(text, frozenset(normalise_value(v) for v in good))
    is_bad = _isin(text, frozenset(normalise_value(v) for v in bad))
    if good and bad:
        return is_good & ~is_bad, is_good | is_bad
    if good:
        return is_good, np.ones(len(is_good), dtype=bool)
    return ~is_bad, np.ones(len(is_bad), dtype=bool)


def _isin(text: pa.ChunkedArray | pa.Array, words: frozenset[str]) -> np.ndarray:
    if not words:
        return np.zeros(len(text), dtype=bool)
    mask = pc.fill_null(pc.is_in(text, value_set=pa.array(sorted(words))), False)
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _classify_http(
    values: pa.ChunkedArray | pa.Array, rate_limited_bad: bool
) -> tuple[np.ndarray, np.ndarray]:
    t = values.type
    if pa.types.is_dictionary(t):
        values = values.cast(t.value_type)
        t = t.value_type
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        if values.null_count:
            values = pc.fill_null(values, -1)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()  # joined in Arrow's pool, viewed without a copy
        codes = np.asarray(values.to_numpy(zero_copy_only=False))
    else:
        text = pc.utf8_trim_whitespace(_as_text(values))
        numeric = pc.fill_null(pc.match_substring_regex(text, r"^\d{3}(\.0+)?$"), False)
        cleaned = pc.if_else(numeric, pc.utf8_slice_codeunits(text, 0, 3), "-1")
        codes = np.asarray(pc.cast(cleaned, pa.int64()).to_numpy(zero_copy_only=False))
    known = (codes >= 100) & (codes < 600)
    if codes.dtype.kind == "f":
        known &= codes == np.floor(codes)  # 500.5 is not an HTTP code
    bad = (codes >= 500) & (codes < 600)
    if rate_limited_bad:
        bad |= codes == 429
    return known & ~bad, known
