"""Error classes: why a request failed, in named classes the room can count as bad or good.

Generative APIs fail in ways an SLO discussion must tell apart: a provider throttling a burst
(rate limited) is not the same promise broken as a model that times out or refuses to answer.
Every request with an error signal gets one class, from its status value and, where the file
has one, an error message or finish reason. Which classes count as bad is a setting
(`Mapping.good_classes`); the class itself never changes with it.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sloview.errors import SpecError

# Fixed order: the codes of the canonical `error_class` column index this tuple.
ERROR_CLASSES = (
    "rate_limited",
    "overloaded",
    "timeout",
    "server_error",
    "content_filter",
    "too_short",
    "client_error",
    "other",
)
ERROR_CLASS_LABELS = {
    "rate_limited": "rate limited",
    "overloaded": "overloaded",
    "timeout": "timeout",
    "server_error": "server error",
    "content_filter": "content filter",
    "too_short": "too-short output",
    "client_error": "client error",
    "other": "other",
}
ERROR_CLASS_RULES = {
    "rate_limited": "HTTP 429, or 'rate limit', 'too many requests', 'throttled' in the message",
    "overloaded": "HTTP 503/529, or 'overloaded', 'service unavailable', 'capacity'",
    "timeout": "HTTP 504, or 'timeout', 'timed out', 'deadline exceeded' (SocketTimeoutException)",
    "server_error": "any other HTTP 5xx",
    "content_filter": "'content_filter', 'safety', 'moderation' in the status, message or "
    "finish reason",
    "too_short": "LLMPerf error -100, or 'too few tokens', 'too short'",
    "client_error": "HTTP 4xx other than 429",
    "other": "any other failure (e.g. an assertion, LLMPerf error -1)",
}
NO_CLASS = -1
CODE = {name: i for i, name in enumerate(ERROR_CLASSES)}

# Matched on lower-cased text, in this order: the first class whose words appear wins.
KEYWORDS = (
    (
        "rate_limited",
        r"rate[ _-]?limit|too many requests|throttl|quota exceeded|resource_?exhausted",
    ),
    ("overloaded", r"overload|service unavailable|\bunavailable\b|capacity"),
    ("timeout", r"time[ _-]?out|timed[ _-]?out|deadline[ _-]?exceeded"),
    ("content_filter", r"content[ _-]?(filter|policy)|safety|moderation|prohibited|blocklist"),
    ("too_short", r"too few tokens|too short"),
)
# Codes that name their class whatever the message says; -100 is LLMPerf's short-output check.
SPECIFIC_CODES = {
    429: "rate_limited",
    503: "overloaded",
    529: "overloaded",
    504: "timeout",
    -100: "too_short",
}
# Single status words that mean a failure of a class (for status columns holding words).
CLASS_WORDS = frozenset(
    {
        "rate_limited",
        "ratelimited",
        "rate_limit",
        "rate_limit_exceeded",
        "throttled",
        "too_many_requests",
        "resource_exhausted",
        "overloaded",
        "overloaded_error",
        "unavailable",
        "service_unavailable",
        "deadline_exceeded",
        "content_filter",
        "content_filtered",
        "safety",
        "blocked",
        "prohibited_content",
        "too_short",
        "server_error",
        "internal_error",
    }
)
# Finish reasons of a complete answer: good when a finish-reason column is the status.
FINISH_WORDS = frozenset(
    {"stop", "length", "end_turn", "max_tokens", "stop_sequence", "tool_calls", "function_call"}
)


def default_good_classes(policy_kind: str) -> tuple[str, ...]:
    """Classes that count as good unless the user says otherwise."""
    # HTTP codes have always counted 4xx other than 429 as good (the caller's fault); any other
    # status (a success flag, an error column, words) already says failed, so every class of
    # it stays bad, as it always was.
    return ("client_error",) if policy_kind == "http" else ()


def parse_error_class(value: object, where: str = "good_classes") -> str:
    """A class name from text: `rate_limited`, `rate limited` or `Rate-Limited`."""
    text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    by_label = {
        label.replace("-", "_").replace(" ", "_"): n for n, label in ERROR_CLASS_LABELS.items()
    }
    name = text if text in CODE else by_label.get(text)
    if name is None:
        raise SpecError(
            f"{value!r} is not an error class",
            where=where,
            hint=f"use one of {', '.join(ERROR_CLASSES)}",
        )
    return name


def ordered(classes: set[str] | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Class names in the fixed order, without repeats."""
    wanted = set(classes)
    return tuple(c for c in ERROR_CLASSES if c in wanted)


def describe_classes(good: tuple[str, ...]) -> str:
    """One sentence: which classes of failure count as bad and which as good."""
    bad = [ERROR_CLASS_LABELS[c] for c in ERROR_CLASSES if c not in good]
    good_labels = [ERROR_CLASS_LABELS[c] for c in ERROR_CLASSES if c in good]
    text = f"Error classes counted as bad: {', '.join(bad) or 'none'}"
    if good_labels:
        text += f"; counted as good: {', '.join(good_labels)}"
    return text + "."


def text_classes(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Class code per value from the words in it (NO_CLASS where none match)."""
    text = _text(values)
    # Messages repeat: match the distinct texts, then spread the verdicts to every row.
    encoded = text.dictionary_encode()
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.unify_dictionaries()
        dictionary = (
            encoded.chunk(0).dictionary if encoded.num_chunks else pa.array([], pa.string())
        )
        indices = pa.chunked_array([c.indices for c in encoded.chunks], type=pa.int32())
    else:
        dictionary, indices = encoded.dictionary, encoded.indices
    lowered = pc.utf8_lower(dictionary)
    per_text = np.full(len(dictionary) + 1, NO_CLASS, dtype=np.int8)
    for name, pattern in reversed(KEYWORDS):  # earlier classes overwrite later ones
        hit = np.asarray(
            pc.fill_null(pc.match_substring_regex(lowered, pattern), False).to_numpy(
                zero_copy_only=False
            ),
            dtype=bool,
        )
        per_text[:-1][hit] = CODE[name]
    idx = np.asarray(
        pc.fill_null(indices, len(dictionary)).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    return per_text[idx]


def numeric_codes(values: pa.ChunkedArray | pa.Array) -> np.ndarray | None:
    """Status values as whole numbers (a sentinel where not a number); None without numbers."""
    t = values.type
    if pa.types.is_dictionary(t):
        values = values.cast(t.value_type)
        t = t.value_type
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        floats = np.asarray(
            # safe=False: a code beyond 2**53 (a mangled row) is no HTTP code either way.
            pc.fill_null(pc.cast(values, pa.float64(), safe=False), np.nan).to_numpy(
                zero_copy_only=False
            )
        )
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        text = pc.utf8_trim_whitespace(values)
        number = pc.fill_null(pc.match_substring_regex(text, r"^-?\d{1,6}(\.0*)?$"), False)
        if not pc.any(number).as_py():
            return None
        cleaned = pc.if_else(number, text, pa.scalar(None, pa.string()))
        floats = np.asarray(
            pc.fill_null(pc.cast(cleaned, pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        )
    else:
        return None
    whole = np.isfinite(floats) & (floats == np.floor(floats)) & (np.abs(floats) < 1e6)
    return np.where(whole, floats, 1e6).astype(np.int64)


def classes_from(
    status: pa.ChunkedArray | pa.Array | None,
    messages: list[pa.ChunkedArray | pa.Array],
    size: int,
) -> np.ndarray:
    """Class code of each failed request from its status value and messages (in that order)."""
    codes = numeric_codes(status) if status is not None else None
    out = np.full(size, CODE["other"], dtype=np.int8)
    if size == 0:
        return out
    words = np.full(size, NO_CLASS, dtype=np.int8)
    # Numbers hold no words: a numeric status is read by its code only.
    texts = [status] if status is not None and not _numeric(status.type) else []
    for column in texts + messages:
        # The first column with a telling word decides: the status before the messages.
        undecided = words == NO_CLASS
        if not undecided.any():
            break
        found = text_classes(column)
        words[undecided] = found[undecided]
    has_word = words != NO_CLASS
    out[has_word] = words[has_word]
    if codes is not None:
        server = (codes >= 500) & (codes < 600)
        out[server & ~has_word] = CODE["server_error"]
        # A 4xx is the caller's fault whatever the message says (as HTTP policies always held).
        out[(codes >= 400) & (codes < 500)] = CODE["client_error"]
        for code, name in SPECIFIC_CODES.items():
            out[codes == code] = CODE[name]
    return out


def _numeric(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t))


def nested_as_json(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Nested values (an API's error object, a list) as JSON text; null stays null."""
    return pa.array(
        [None if v is None else json.dumps(v, default=str) for v in values.to_pylist()],
        pa.string(),
    )


def is_nested(t: pa.DataType) -> bool:
    """Whether Arrow cannot cast values of this type to text (structs, lists, maps)."""
    return bool(pa.types.is_nested(t))


def _text(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    t = values.type
    if pa.types.is_dictionary(t):
        values = values.cast(t.value_type)
        t = t.value_type
    if pa.types.is_string(t):
        return values
    if is_nested(t):
        return nested_as_json(values)
    if pa.types.is_floating(t):
        as_int = pc.cast(values, pa.int64(), safe=False)
        whole = pc.equal(pc.cast(as_int, t), values)
        return pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(values, pa.string()))
    return pc.cast(values, pa.string())
