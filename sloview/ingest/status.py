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

from sloview.ingest.error_classes import (
    CLASS_WORDS,
    CODE,
    ERROR_CLASSES,
    FINISH_WORDS,
    NO_CLASS,
    classes_from,
    default_good_classes,
    describe_classes,
    is_nested,
    nested_as_json,
    ordered,
    text_classes,
)

PolicyKind = Literal["http", "boolean", "error_code", "words", "lists", "none"]

PLAIN_GOOD_WORDS = frozenset(
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
PLAIN_BAD_WORDS = frozenset(
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
# Finish reasons of complete answers and error-class words, for status columns that hold them.
GOOD_WORDS = PLAIN_GOOD_WORDS | FINISH_WORDS
BAD_WORDS = PLAIN_BAD_WORDS | CLASS_WORDS
TRUE_VALUES = frozenset({"true", "t", "1", "yes", "y"})
FALSE_VALUES = frozenset({"false", "f", "0", "no", "n"})


@dataclass(frozen=True)
class Assessment:
    """The verdict on each request: ok, classified at all, and its error class code."""

    ok: np.ndarray
    classified: np.ndarray
    error_class: np.ndarray  # int8 index into ERROR_CLASSES; NO_CLASS without an error


@dataclass(frozen=True, kw_only=True)
class StatusPolicy:
    """Which status values are good, which bad, and which cannot be classified."""

    kind: PolicyKind
    column: str | None = None
    inverted: bool = False
    rate_limited_bad: bool = True
    good: tuple[str, ...] = ()
    bad: tuple[str, ...] = ()
    good_classes: tuple[str, ...] | None = None  # None: the default of this kind of policy
    finish_column: str | None = None

    @property
    def counted_good(self) -> tuple[str, ...]:
        """Error classes whose requests count as successful (in the fixed class order)."""
        base = (
            self.good_classes if self.good_classes is not None else default_good_classes(self.kind)
        )
        return ordered((*base, *(() if self.rate_limited_bad else ("rate_limited",))))

    def describe(self) -> str:
        """One sentence a participant can check: which requests count as failed."""
        text = self._describe_values()
        if self.finish_column is not None:
            text += (
                f" A content-filter finish reason in `{self.finish_column}` marks a request "
                "as a content-filter error."
            )
        if self.kind != "none" or self.finish_column is not None:
            text += " " + describe_classes(self.counted_good)
        return text

    def _describe_values(self) -> str:
        col = f"`{self.column}`"
        if self.kind == "none":
            return "No status column: every request counts as successful."
        if self.kind == "http":
            counted = set(self.counted_good)
            if "client_error" in counted and counted <= {"client_error", "rate_limited"}:
                rl = (
                    "429 (rate limited) counts as good"
                    if "rate_limited" in counted
                    else "429 (rate limited) counts as bad"
                )
                return (
                    f"HTTP status codes in {col}: 5xx are bad, {rl}, other 1xx-4xx are good; "
                    "values that are not HTTP codes are excluded."
                )
            return (
                f"HTTP status codes in {col}: 4xx and 5xx are errors that count by their class; "
                "values that are not HTTP codes are excluded."
            )
        if self.kind == "boolean":
            bad = "true" if self.inverted else "false"
            return f"True/false flag in {col}: {bad} means the request failed."
        if self.kind == "error_code":
            return f"Error column {col}: empty means success, any value means the request failed."
        if self.kind == "words":
            return (
                f"Status words in {col}: {', '.join(sorted(PLAIN_GOOD_WORDS)[:5])} ... are good; "
                f"{', '.join(sorted(PLAIN_BAD_WORDS)[:5])} ... are bad; other values are excluded "
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
        verdict = self.assess(values, values, (), None, n)
        return verdict.ok, verdict.classified

    def assess(
        self,
        verdict: pa.ChunkedArray | pa.Array | None,
        status: pa.ChunkedArray | pa.Array | None,
        messages: tuple[pa.ChunkedArray, ...],
        finish: pa.ChunkedArray | pa.Array | None,
        n: int,
    ) -> Assessment:
        """Ok, classified and error class of each request (verdict: the column the policy reads)."""
        # A request has an error when the policy says it failed (for HTTP codes: any 4xx or
        # 5xx) or its finish reason is a content filter; it then counts as failed unless its
        # class is one of `counted_good`. The class comes from the recorded status first, then
        # the messages and the finish reason.
        if self.kind == "none" or verdict is None:
            classified = np.ones(n, dtype=bool)
            flagged = np.zeros(n, dtype=bool)
        elif self.kind == "http":
            codes, classified = _http_codes(verdict)
            flagged = classified & (codes >= 400)
        else:
            ok, classified = self._verdicts(verdict, n)
            flagged = classified & ~ok
        finish_only = None
        if finish is not None:
            content = text_classes(finish) == CODE["content_filter"]
            content &= classified
            finish_only = content & ~flagged
            flagged = flagged | content
        error_class = np.full(n, NO_CLASS, dtype=np.int8)
        ok = classified.copy()
        rows = np.flatnonzero(flagged)
        if rows.size:
            # Only failed requests are classified: a few per cent of a large file, usually.
            picked = pa.array(rows)
            classes = classes_from(
                status.take(picked) if status is not None else None,
                [m.take(picked) for m in (*messages, *(() if finish is None else (finish,)))],
                rows.size,
            )
            if finish_only is not None:
                classes[finish_only[rows]] = CODE["content_filter"]
            error_class[rows] = classes
            good = np.array([c in self.counted_good for c in ERROR_CLASSES], dtype=bool)
            ok[rows[~good[classes]]] = False
        return Assessment(ok=ok, classified=classified, error_class=error_class)

    def _verdicts(
        self, values: pa.ChunkedArray | pa.Array, n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ok, classified) of the non-HTTP policies, before error classes."""
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
    if is_nested(t):
        return nested_as_json(values)  # e.g. an API's error object in a JSON log
    if pa.types.is_floating(t):
        # 200.0 -> "200" so lists written as integers still match float columns.
        as_int = pc.cast(values, pa.int64(), safe=False)
        # safe=False both ways: a value beyond 2**53 (a mangled row) just does not match.
        whole = pc.equal(pc.cast(as_int, t, safe=False), values)
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


def _http_codes(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """HTTP codes as numbers and whether each value is one (100-599, whole)."""
    t = values.type
    if pa.types.is_dictionary(t):
        values = values.cast(t.value_type)
        t = t.value_type
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        if values.null_count:
            # 0 is no HTTP code either, and fits unsigned types too (-1 does not).
            values = pc.fill_null(values, 0)
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
    return codes, known
