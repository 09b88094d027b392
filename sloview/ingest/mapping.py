"""The column mapping: what the user chose (overrides) and what detection settled on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sloview.errors import SpecError
from sloview.ingest.error_classes import ordered, parse_error_class
from sloview.units import LATENCY_UNITS, LatencyUnit

OUTPUT_LENGTH = "output_length"


@dataclass(frozen=True, kw_only=True)
class Mapping:
    """Which column holds what; every field left as None is detected from the data."""

    timestamp: str | None = None
    latency: str | None = None
    latency_unit: LatencyUnit | None = None
    status: str | None = None
    ok_column: str | None = None
    good: tuple[str, ...] = ()
    bad: tuple[str, ...] = ()
    rate_limited_bad: bool = True
    # Error classes that count as good; None keeps the policy's default (for HTTP codes:
    # client_error). `rate_limited_bad=False` adds rate_limited to whichever set applies.
    good_classes: tuple[str, ...] | None = None
    ttft: str | None = None
    ttft_unit: LatencyUnit | None = None
    output_tokens: str | None = None
    segments: tuple[str, ...] = ()
    where: tuple[tuple[str, str], ...] = ()
    tz: str | None = None
    # Keep rows far away in time from all others (`sloview.ingest.strays`) instead of
    # setting them apart.
    keep_stray_times: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain data for session files and JSON; empty settings are left out."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if key == "good_classes" and value is not None:
                out[key] = list(value)  # an empty list (every class bad) is a choice too
                continue
            if value in (None, (), []) or (key == "rate_limited_bad" and value is True):
                continue
            if key == "keep_stray_times" and value is False:
                continue
            if key == "where":
                value = [f"{c}={v}" for c, v in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "mapping") -> Mapping:
        """Build from plain data; errors name the offending key."""
        if not isinstance(data, dict):
            raise SpecError("must be a mapping of settings", where=where)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(
                f"unknown setting {unknown[0]!r}",
                where=f"{where}.{unknown[0]}",
                hint=f"known settings: {', '.join(sorted(known))}",
            )
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            path = f"{where}.{key}"
            if key in ("latency_unit", "ttft_unit") and value is not None:
                kwargs[key] = parse_unit(value, path)
            elif key in ("good", "bad", "segments"):
                if isinstance(value, str):
                    value = [v for v in value.split(",") if v.strip()]
                if not isinstance(value, list):
                    raise SpecError("must be a list", where=path)
                kwargs[key] = tuple(str(v).strip() for v in value)
            elif key == "good_classes":
                if value is None:
                    continue
                if isinstance(value, str):
                    value = [v for v in value.split(",") if v.strip()]
                if not isinstance(value, list):
                    raise SpecError("must be a list of error classes", where=path)
                kwargs[key] = ordered(
                    [parse_error_class(v, f"{path}[{i}]") for i, v in enumerate(value)]
                )
            elif key == "where":
                items = value if isinstance(value, list) else [value]
                kwargs[key] = tuple(parse_where(str(v), f"{path}") for v in items)
            elif key in ("rate_limited_bad", "keep_stray_times"):
                if not isinstance(value, bool):
                    raise SpecError("must be true or false", where=path)
                kwargs[key] = value
            else:
                if value is not None and not isinstance(value, str):
                    raise SpecError("must be a column name (text)", where=path)
                kwargs[key] = value
        return cls(**kwargs)

    def __post_init__(self) -> None:
        if self.good_classes is not None:
            names = tuple(parse_error_class(c) for c in self.good_classes)
            object.__setattr__(self, "good_classes", ordered(names))

    def with_changes(self, **changes: Any) -> Mapping:
        """A copy with some settings replaced."""
        return replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class ResolvedMapping:
    """The mapping in force after detection, with the reason each choice was made."""

    source_format: str
    timestamp: str | None
    latency: str
    latency_unit: LatencyUnit
    status: str | None
    ok_column: str | None
    policy_description: str
    ttft: str | None
    ttft_unit: LatencyUnit | None
    output_tokens: str | None
    segments: tuple[str, ...]
    where: tuple[tuple[str, str], ...]
    tz: str
    reasons: dict[str, str] = field(default_factory=dict)
    # Error classes counting as good (effective, in class order), and the columns read to
    # tell classes apart.
    good_classes: tuple[str, ...] = ()
    message_columns: tuple[str, ...] = ()
    finish_reason: str | None = None
    # The time column is marked as invented by a load generator (not measured).
    synthetic_times: bool = False
    # `output_length` in `segments` is derived from the output tokens, not a file column.
    output_length_bands: bool = False
    # Rows far away in time from the rest are kept (the user asked) instead of set apart.
    keep_stray_times: bool = False

    @property
    def file_segments(self) -> tuple[str, ...]:
        """Segment columns read from the file (derived ones left out)."""
        if not self.output_length_bands:
            return self.segments
        return tuple(s for s in self.segments if s != OUTPUT_LENGTH)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output and session files."""
        data = asdict(self)
        data["segments"] = list(self.segments)
        data["good_classes"] = list(self.good_classes)
        data["message_columns"] = list(self.message_columns)
        data["where"] = [f"{c}={v}" for c, v in self.where]
        return data


def parse_unit(value: object, where: str = "latency_unit") -> LatencyUnit:
    """A latency unit from text (`s`, `ms`, `us`, `ns`)."""
    text = str(value).strip().lower()
    aliases = {
        "sec": "s",
        "seconds": "s",
        "millis": "ms",
        "milliseconds": "ms",
        "µs": "us",
        "micros": "us",
        "microseconds": "us",
        "nanos": "ns",
        "nanoseconds": "ns",
    }
    text = aliases.get(text, text)
    if text not in LATENCY_UNITS:
        raise SpecError(
            f"{value!r} is not a latency unit", where=where, hint="use one of s, ms, us, ns"
        )
    return text


def parse_where(text: str, where: str = "--where") -> tuple[str, str]:
    """`COL=VALUE` -> (column, value)."""
    column, sep, value = text.partition("=")
    if not sep or not column.strip():
        raise SpecError(
            f"{text!r} is not a filter", where=where, hint="write COLUMN=VALUE, e.g. endpoint=chat"
        )
    return column.strip(), value.strip()
