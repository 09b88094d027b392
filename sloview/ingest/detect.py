"""Detection: which column holds time, latency, status ... and in which unit, with reasons.

Every choice can be overridden by the user; every automatic choice carries a reason so the
room can see (and correct) what sloview assumed.
"""

from __future__ import annotations

import re
from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sloview.errors import IN_MAPPING_FORM, DataError
from sloview.ingest.mapping import OUTPUT_LENGTH, Mapping, ResolvedMapping
from sloview.ingest.readers import RawData
from sloview.ingest.status import FALSE_VALUES, TRUE_VALUES, StatusPolicy
from sloview.ingest.table import MISSING_BAND, OUTPUT_LENGTH_BANDS
from sloview.ingest.timestamps import parse_timestamps
from sloview.units import UNIT_WORDS, LatencyUnit

JTL_COLUMNS = frozenset({"timeStamp", "elapsed", "label", "responseCode", "success"})
LLMPERF_COLUMNS = frozenset({"ttft_s", "end_to_end_latency_s", "error_code"})

TIMESTAMP_NAMES = (
    "timestamp",
    "ts",
    "time",
    "datetime",
    "eventtime",
    "requesttime",
    "starttime",
    "start",
    "createdat",
    "gmtcreate",
    "created",
    "receivedat",
    "date",
    "timestampanon",
)
LATENCY_WORDS = (
    ("endtoendlatency", 14),
    ("e2elatency", 14),
    ("latency", 10),
    ("elapsed", 9),
    ("duration", 9),
    ("responsetime", 9),
    ("exectime", 8),
    ("executiontime", 8),
    ("timetaken", 8),
    ("totaltime", 7),
    ("requesttime", 6),
)
NOT_LATENCY = (
    "ttft",
    "firsttoken",
    "firstbyte",
    "ttfb",
    "intertoken",
    "connect",
    "idle",
    "tpot",
    "pertoken",
    "throughput",
    "queue",
)
TTFT_WORDS = ("ttft", "timetofirsttoken", "firsttoken", "ttfb", "timetofirstbyte")
TOKEN_NAMES = (
    "outputtokens",
    "numberoutputtokens",
    "numoutputtokens",
    "completiontokens",
    "generatedtokens",
    "outputlength",
    "outputtokencount",
    "tokensout",
)
STATUS_NAMES = (
    "status",
    "statuscode",
    "httpstatus",
    "httpstatuscode",
    "responsecode",
    "httpcode",
    "code",
    "predictstatus",
    "result",
    "outcome",
    "errorcode",
    "error",
    "iserror",
    "haserror",
    "failed",
    "success",
    "issuccess",
    "succeeded",
    "ok",
)
ERROR_NAMES = ("errorcode", "error", "err", "errcode", "errortype")
# Columns whose text tells error classes apart (read only for failed requests).
MESSAGE_NAMES = (
    "failuremessage",
    "responsemessage",
    "errormsg",
    "errormessage",
    "error",
    "errors",
    "errortype",
    "errordetail",
    "errordetails",
    "errorreason",
    "statusmessage",
    "statustext",
    "exception",
)
FINISH_NAMES = ("finishreason", "stopreason", "completionreason")
INVERTED_NAMES = ("iserror", "haserror", "failed", "error", "isfailure", "failure")
FLAG_NAMES = ("success", "issuccess", "succeeded", "ok", "isok")
SEGMENT_NAMES = (
    "endpoint",
    "model",
    "region",
    "tenant",
    "label",
    "provider",
    "route",
    "method",
    "service",
    "operation",
    "predicttype",
    "cluster",
    "zone",
    "deployment",
    "api",
    "modelsize",
)
MAX_AUTO_SEGMENT_VALUES = 1000
UNIT_TOKENS: dict[str, LatencyUnit] = {
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "ms": "ms",
    "millis": "ms",
    "msec": "ms",
    "milliseconds": "ms",
    "us": "us",
    "micros": "us",
    "usec": "us",
    "microseconds": "us",
    "ns": "ns",
    "nanos": "ns",
    "nanoseconds": "ns",
}


def norm(name: str) -> str:
    """A column name reduced to lower-case letters and digits, for matching hints."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def name_tokens(name: str) -> list[str]:
    """Words of a column name: `latencyMs` -> [latency, ms], `exec_time_seconds` -> [..]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def unit_from_name(name: str) -> LatencyUnit | None:
    """The unit a column name announces (`_ms`, `_s`, `Seconds` ...), if any."""
    tokens = name_tokens(name)
    return UNIT_TOKENS.get(tokens[-1]) if len(tokens) > 1 else None


def is_synthetic(name: str) -> bool:
    """Whether a column name marks its values as invented (`synthetic`, `NOT_MEASURED`)."""
    n = norm(name)
    return "synthetic" in n or "notmeasured" in n


def synthetic_time_unit(name: str) -> LatencyUnit:
    """Unit of invented times counted from zero: from any word of the name, else seconds."""
    # Magnitude cannot tell the unit of an offset from zero, so the name must (LLMPerf's
    # `synthetic_start_s_NOT_MEASURED` says seconds in its middle).
    for token in name_tokens(name):
        if token in UNIT_TOKENS:
            return UNIT_TOKENS[token]
    return "s"


def unit_from_values(values: np.ndarray) -> tuple[LatencyUnit, str]:
    """Guess a latency unit from the magnitude of sample values, with the reason."""
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        return "ms", "no positive values in the sample; assumed milliseconds"
    median = float(np.median(positive))
    fractional = bool(np.any(positive != np.floor(positive)))
    if median < 30 and fractional:
        unit: LatencyUnit = "s"
    elif median < 1e5:
        unit = "ms"
    elif median < 1e8:
        unit = "us"
    else:
        unit = "ns"
    return unit, f"guessed from magnitude (sample median {median:.4g})"


def detect(raw: RawData, mapping: Mapping) -> tuple[ResolvedMapping, StatusPolicy]:
    """Settle the mapping for this file: user choices first, then format presets, then hints."""
    columns = raw.columns
    sample = raw.sample
    reasons: dict[str, str] = {}
    wants_bands = OUTPUT_LENGTH in mapping.segments and OUTPUT_LENGTH not in columns
    if wants_bands:
        # Derived from the output tokens (a session may list it); not a file column.
        mapping = mapping.with_changes(
            segments=tuple(s for s in mapping.segments if s != OUTPUT_LENGTH)
        )
    for label, col in (
        ("--timestamp", mapping.timestamp),
        ("--latency", mapping.latency),
        ("--status", mapping.status),
        ("ttft", mapping.ttft),
        ("output_tokens", mapping.output_tokens),
        ("ok_column", mapping.ok_column),
        *(("--segment", s) for s in mapping.segments),
        *(("--where", c) for c, _ in mapping.where if c != OUTPUT_LENGTH or c in columns),
    ):
        if col is not None and col not in columns:
            raise DataError(
                f"column {col!r} (from {label}) is not in the file",
                where=raw.name,
                hint=f"columns are: {_list(columns)}",
            )
    zone = _check_zone(mapping.tz)

    is_jtl = set(columns) >= JTL_COLUMNS
    is_llmperf = set(columns) >= LLMPERF_COLUMNS
    source_format = raw.description
    preset: dict[str, str | None] = {}
    if is_jtl:
        source_format = f"JMeter JTL, {raw.description}"
        preset = {
            "timestamp": "timeStamp",
            "latency": "elapsed",
            "latency_unit": "ms",
            "status": "responseCode",
            "ok_column": "success",
            "ttft": "Latency" if "Latency" in columns else None,
            "ttft_unit": "ms",
        }
    elif is_llmperf:
        source_format = f"LLMPerf results, {raw.description}"
        preset = {
            "latency": "end_to_end_latency_s",
            "latency_unit": "s",
            "status": "error_code",
            "ttft": "ttft_s",
            "ttft_unit": "s",
            "output_tokens": "number_output_tokens" if "number_output_tokens" in columns else None,
        }
    preset_reason = source_format.split(",")[0] + " layout"

    timestamp = _pick(
        mapping.timestamp, preset.get("timestamp"), "timestamp", reasons, preset_reason
    ) or _detect_timestamp(sample, reasons, raw.name)

    latency = _pick(mapping.latency, preset.get("latency"), "latency", reasons, preset_reason)
    if latency is None:
        latency = _detect_latency(sample, exclude={timestamp})
        if latency is None:
            raise DataError(
                "no latency column found",
                where=raw.name,
                hint=f"columns are: {_list(columns)}; name the latency column with --latency COL "
                "(and its unit with --latency-unit s|ms|us|ns)",
                app_hint=f"columns are: {_list(columns)}; choose the latency column and its unit "
                f"{IN_MAPPING_FORM}",
            )
        reasons["latency"] = "detected by its name"
    if not _numeric_like(sample.column(latency)):
        raise DataError(
            f"column {latency!r} holds no numbers, so it cannot be the latency",
            where=raw.name,
            hint=f"name the latency column with --latency COL; columns are: {_list(columns)}",
            app_hint=f"choose the latency column {IN_MAPPING_FORM}; columns are: {_list(columns)}",
        )
    latency_unit, reasons["latency_unit"] = _unit(
        mapping.latency_unit, preset.get("latency_unit"), latency, sample, preset_reason
    )

    ttft = _pick(mapping.ttft, preset.get("ttft"), "ttft", reasons, preset_reason)
    if ttft is None and not is_jtl:
        ttft = _find(columns, TTFT_WORDS, contains=True, exclude={latency, timestamp})
        if ttft is not None and _numeric_like(sample.column(ttft)):
            reasons["ttft"] = "detected by its name"
        else:
            ttft = None
    ttft_unit: LatencyUnit | None = None
    if ttft is not None:
        named = unit_from_name(ttft)
        if mapping.ttft_unit:
            ttft_unit, reasons["ttft_unit"] = mapping.ttft_unit, "set by the user"
        elif preset.get("ttft_unit"):
            ttft_unit, reasons["ttft_unit"] = preset["ttft_unit"], preset_reason  # type: ignore[assignment]
        elif named:
            ttft_unit, reasons["ttft_unit"] = named, f"from the column name {ttft!r}"
        else:
            ttft_unit, reasons["ttft_unit"] = latency_unit, "same unit as the latency column"

    tokens = _pick(
        mapping.output_tokens, preset.get("output_tokens"), "output_tokens", reasons, preset_reason
    )
    if tokens is None:
        tokens = _find(columns, TOKEN_NAMES, exclude={latency, timestamp, ttft})
        if tokens is not None and _numeric_like(sample.column(tokens)):
            reasons["output_tokens"] = "detected by its name"
        else:
            tokens = None

    explicit_status = mapping.status is not None
    status = _pick(mapping.status, preset.get("status"), "status", reasons, preset_reason)
    if status is None:
        status = _find(columns, STATUS_NAMES, exclude={latency, timestamp, ttft, tokens})
        if status is None:
            status = next((c for c in columns if norm(c).endswith(("status", "statuscode"))), None)
        if status is not None:
            reasons["status"] = "detected by its name"
    ok_column = mapping.ok_column or (None if explicit_status else preset.get("ok_column"))
    taken = {timestamp, latency, ttft, tokens, status, ok_column}
    finish = _find(columns, FINISH_NAMES, exclude=taken)
    policy = _policy(mapping, status, ok_column, sample, raw.name, finish)
    if policy.kind != "boolean" or policy.column != ok_column:
        ok_column = None
    messages = tuple(
        c
        for c in columns
        if norm(c) in MESSAGE_NAMES and c not in taken and c != finish and c != policy.column
    )
    if messages:
        reasons["message_columns"] = "detected by their names; they tell error classes apart"
    if finish is not None:
        reasons["finish_reason"] = "detected by its name; a content-filter finish is an error"
    synthetic = timestamp is not None and is_synthetic(timestamp)
    if synthetic and timestamp is not None:
        unit = synthetic_time_unit(timestamp)
        reasons["timestamp"] = (
            f"{reasons.get('timestamp', 'set by the user')}; marked synthetic (not measured) "
            f"by its name; numbers read as {UNIT_WORDS[unit]} from 1970-01-01 00:00 UTC"
        )

    used = {timestamp, latency, ttft, tokens, status, ok_column}
    segments = list(mapping.segments)
    if is_jtl and "label" not in segments:
        segments.append("label")
    for col in columns:
        if col in used or col in segments or norm(col) not in SEGMENT_NAMES:
            continue
        if _distinct(sample.column(col)) <= MAX_AUTO_SEGMENT_VALUES:
            segments.append(col)
    bands = tokens is not None and OUTPUT_LENGTH not in segments
    if bands:
        segments.append(OUTPUT_LENGTH)
        reasons["output_length"] = (
            f"bands of output tokens from {tokens!r}: "
            f"{', '.join(OUTPUT_LENGTH_BANDS)} ({MISSING_BAND} where unknown)"
        )
    _check_band_filters(mapping, columns, bands, raw.name)
    if wants_bands and not bands:
        raise DataError(
            "the output_length segment needs output token counts, and none were found",
            where=raw.name,
            hint="name the output token column with --output-tokens COL",
            app_hint=f"choose the output tokens column {IN_MAPPING_FORM}",
        )
    resolved = ResolvedMapping(
        source_format=source_format,
        timestamp=timestamp,
        latency=latency,
        latency_unit=latency_unit,
        status=status,
        ok_column=ok_column,
        policy_description=policy.describe(),
        ttft=ttft,
        ttft_unit=ttft_unit,
        output_tokens=tokens,
        segments=tuple(segments),
        where=mapping.where,
        tz=zone,
        reasons=reasons,
        good_classes=policy.counted_good,
        message_columns=messages,
        finish_reason=finish,
        synthetic_times=synthetic,
        output_length_bands=bands,
        keep_stray_times=mapping.keep_stray_times,
    )
    return resolved, policy


def _check_band_filters(mapping: Mapping, columns: list[str], bands: bool, name: str) -> None:
    """`--where output_length=BAND` filters on the derived bands: they must exist."""
    names = {b.lower(): b for b in (*OUTPUT_LENGTH_BANDS, MISSING_BAND)}
    for column, value in mapping.where:
        if column != OUTPUT_LENGTH or column in columns:
            continue
        if not bands:
            raise DataError(
                "--where output_length needs output token counts, and none were found",
                where=name,
                hint="name the output token column with --output-tokens COL",
                app_hint=f"choose the output tokens column {IN_MAPPING_FORM}",
            )
        if value.strip().lower() not in names:
            raise DataError(
                f"{value!r} is not an output-length band",
                where=f"--where {column}",
                hint=f"bands are {', '.join(names.values())}",
            )


def _pick(
    user: str | None, preset: str | None, key: str, reasons: dict[str, str], preset_reason: str
) -> str | None:
    if user is not None:
        reasons[key] = "set by the user"
        return user
    if preset is not None:
        reasons[key] = preset_reason
        return preset
    return None


def _unit(
    user: LatencyUnit | None, preset: str | None, column: str, sample: pa.Table, preset_reason: str
) -> tuple[LatencyUnit, str]:
    if user:
        return user, "set by the user"
    if preset:
        return preset, preset_reason  # type: ignore[return-value]
    named = unit_from_name(column)
    if named:
        return named, f"from the column name {column!r}"
    values = _floats(sample.column(column))
    unit, why = unit_from_values(values)
    return unit, why + "; override with --latency-unit if wrong"


def _detect_timestamp(sample: pa.Table, reasons: dict[str, str], name: str) -> str | None:
    # Invented times are never picked on their own: the user must choose them knowingly.
    schema = [f for f in sample.schema if not is_synthetic(f.name)]
    for field in schema:
        if pa.types.is_timestamp(field.type) or pa.types.is_date(field.type):
            reasons["timestamp"] = (
                "the only column typed as date/time"
                if sum(pa.types.is_timestamp(f.type) or pa.types.is_date(f.type) for f in schema)
                == 1
                else "first column typed as date/time"
            )
            return str(field.name)
    names = [f.name for f in schema]
    candidates = [c for c in names if norm(c) in TIMESTAMP_NAMES]
    candidates.sort(key=lambda c: TIMESTAMP_NAMES.index(norm(c)))
    candidates += [
        c
        for c in names
        if c not in candidates
        and (
            "timestamp" in norm(c)
            or norm(c).endswith(("time", "date"))
            or name_tokens(c)[-1:] == ["at"]
        )
        and unit_from_name(c) is None
        and not any(w in norm(c) for w, _ in LATENCY_WORDS if w not in ("requesttime",))
    ]
    unreadable: list[tuple[str, np.ndarray, pa.ChunkedArray]] = []
    for col in candidates:
        column = sample.column(col)
        if len(column) == 0:
            reasons["timestamp"] = "detected by its name"
            return str(col)
        parsed = parse_timestamps(column, None)
        bad = parsed.unparsable | parsed.out_of_range_mask
        valid = ~(parsed.missing | bad)
        if valid.mean() >= 0.5 and _plausible_epoch(parsed.ns[valid]):
            reasons["timestamp"] = "detected by its name"
            return str(col)
        named = norm(col) in TIMESTAMP_NAMES or "timestamp" in norm(col)
        if named and not _numeric_like(column) and bad.sum() > valid.sum():
            unreadable.append((str(col), bad, column))
    if unreadable:
        # A column called `timestamp` full of text that is no time: refusing beats reading
        # the file without times and losing them silently.
        col, bad, column = unreadable[0]
        first = int(np.argmax(bad))
        value = column[first].as_py()
        raise DataError(
            f"the column {col!r} looks like the request time by its name, but its values are not "
            f"times: {int(bad.sum()):,} of the first {len(column):,} do not parse, the first at "
            f"row {first + 1:,}: {str(value)[:80]!r}",
            where=name,
            hint="name the time column with --timestamp COL (ISO 8601, a common date layout or "
            "epoch numbers), or fix or remove that column",
            app_hint=f"choose the time column {IN_MAPPING_FORM} (ISO 8601, a common date "
            "layout or epoch "
            "numbers), or fix or remove that column",
        )
    return None


def _plausible_epoch(ns: np.ndarray) -> bool:
    # Between 1990 and 2100: rules out offsets from zero such as "seconds since test start".
    return bool(ns.size) and bool(np.median(ns) > 631_152_000e9) and bool(np.median(ns) < 4.1e18)


def _detect_latency(sample: pa.Table, exclude: set[str | None]) -> str | None:
    best, best_score = None, 0
    for col in sample.column_names:
        if col in exclude:
            continue
        n = norm(col)
        if any(w in n for w in NOT_LATENCY):
            continue
        score = max((s for w, s in LATENCY_WORDS if w in n), default=0)
        if score > best_score and _numeric_like(sample.column(col)):
            best, best_score = col, score
    return best


def _find(
    columns: list[str],
    names: tuple[str, ...],
    contains: bool = False,
    exclude: set[str | None] | None = None,
) -> str | None:
    exclude = exclude or set()
    for wanted in names:
        for col in columns:
            if col in exclude:
                continue
            n = norm(col)
            if n == wanted or (contains and wanted in n):
                return col
    return None


def _policy(
    mapping: Mapping,
    status: str | None,
    ok_column: str | None,
    sample: pa.Table,
    name: str,
    finish: str | None,
) -> StatusPolicy:
    policy = _values_policy(mapping, status, ok_column, sample, name)
    return replace(
        policy,
        rate_limited_bad=mapping.rate_limited_bad,
        good_classes=mapping.good_classes,
        finish_column=finish,
    )


def _values_policy(
    mapping: Mapping, status: str | None, ok_column: str | None, sample: pa.Table, name: str
) -> StatusPolicy:
    if mapping.good or mapping.bad:
        if status is None:
            raise DataError(
                "--good/--bad were given but the file has no status column",
                where=name,
                hint="name the status column with --status COL",
                app_hint=f"choose the status column {IN_MAPPING_FORM}, or clear the good and "
                "bad values",
            )
        return StatusPolicy(kind="lists", column=status, good=mapping.good, bad=mapping.bad)
    if ok_column is not None:
        return StatusPolicy(kind="boolean", column=ok_column)
    if status is None:
        return StatusPolicy(kind="none")
    column = sample.column(status)
    n = norm(status)
    inverted = n in INVERTED_NAMES
    # 0/1 is a flag only where the name says so (is_error, success); elsewhere it may be a code.
    flag_name = inverted or n in FLAG_NAMES
    if _boolean_like(column) or (flag_name and _zero_one(column)):
        return StatusPolicy(kind="boolean", column=status, inverted=inverted)
    if n in ERROR_NAMES:
        return StatusPolicy(kind="error_code", column=status)
    if _http_like(column):
        return StatusPolicy(kind="http", column=status)
    return StatusPolicy(kind="words", column=status)


def _values(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column


def _boolean_like(column: pa.ChunkedArray) -> bool:
    column = _values(column)
    if pa.types.is_boolean(column.type):
        return True
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return False
    distinct = {str(v).strip().lower() for v in pc.unique(column.drop_null()).to_pylist()}
    return bool(distinct) and distinct <= (TRUE_VALUES | FALSE_VALUES) - {"0", "1"}


def _zero_one(column: pa.ChunkedArray) -> bool:
    column = _values(column)
    if not (
        pa.types.is_integer(column.type)
        or pa.types.is_floating(column.type)
        or pa.types.is_string(column.type)
        or pa.types.is_large_string(column.type)
    ):
        return False
    distinct = {str(v).strip() for v in pc.unique(column.drop_null()).to_pylist()}
    return bool(distinct) and distinct <= {"0", "1", "0.0", "1.0"}


def _http_like(column: pa.ChunkedArray) -> bool:
    column = _values(column)
    values = column.drop_null()
    if len(values) == 0:
        return False
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        arr = np.asarray(values.to_numpy(), dtype=float)
    else:
        text = pc.utf8_trim_whitespace(values.cast(pa.string()))
        digits = pc.match_substring_regex(text, r"^\d{3}$")
        arr = np.where(
            np.asarray(digits.to_numpy(zero_copy_only=False), dtype=bool),
            np.asarray(pc.if_else(digits, text, "0").cast(pa.int64()).to_numpy(), dtype=float),
            0.0,
        )
    return bool(np.mean((arr >= 100) & (arr < 600)) >= 0.5)


def _numeric_like(column: pa.ChunkedArray) -> bool:
    column = _values(column)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return True
    if len(column) == 0 or pa.types.is_null(column.type):
        return True  # nothing to judge yet; conversion will count what does not parse
    values = _floats(column)
    return bool(np.isfinite(values).mean() >= 0.5) if values.size else False


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    column = _values(column)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return np.asarray(
            pc.fill_null(pc.cast(column, pa.float64(), safe=False), np.nan).to_numpy()
        )
    # As the converter reads text numbers: trimmed, a decimal comma read as a point.
    text = pc.replace_substring(pc.utf8_trim_whitespace(column.cast(pa.string())), ",", ".")
    values = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
    return np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)


def _distinct(column: pa.ChunkedArray) -> int:
    return len(pc.unique(_values(column)))


def _check_zone(tz: str | None) -> str:
    if not tz:
        return "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DataError(
            f"unknown timezone {tz!r}",
            where="--tz",
            hint="use an IANA name such as Europe/Berlin, America/New_York or UTC",
        ) from exc
    return tz


def _list(columns: list[str]) -> str:
    shown = ", ".join(columns[:30])
    return shown + (f" ... ({len(columns)} in all)" if len(columns) > 30 else "")
