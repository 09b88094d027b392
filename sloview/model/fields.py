"""Reading a spec's mappings: typed fields whose errors name the field's path."""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from sloview.errors import SpecError
from sloview.units import parse_duration

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def check_name(name: str) -> None:
    """Refuse a name OpenSLO, Sloth and Prometheus labels would not take (SLOs and composites)."""
    if not _NAME.match(name) or len(name) > 63:
        raise SpecError(
            f"{name!r} is not a valid SLO name",
            where="name",
            hint="use lower-case letters, digits and dashes (at most 63), e.g. chat-latency",
        )


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _mapping(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SpecError("must be a mapping (key: value pairs)", where=where or "SLO")
    return data


def _no_unknown(data: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(
            "unknown field",
            where=_path(where, unknown[0]),
            hint=f"known fields here: {', '.join(sorted(known))}",
        )


def _number(data: dict[str, Any], key: str, where: str, default: Any = None) -> float | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"must be a number, not {value!r}", where=_path(where, key))
    return float(value)


def _choice(
    data: dict[str, Any], key: str, options: tuple[str, ...], where: str, default: Any
) -> Any:
    value = data.get(key, default)
    if value not in options:
        raise SpecError(
            f"{value!r} is not allowed",
            where=_path(where, key),
            hint=f"use one of {', '.join(options)}",
        )
    return value


def _duration(data: dict[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    return parse_duration(str(value), where=_path(where, key))


def _rebase(exc: SpecError, local_root: str, where: str) -> SpecError:
    """Re-anchor an error raised with a local path (e.g. `objective.target`) under `where`."""
    path = exc.where or local_root
    if where and (path == where or path.startswith((f"{where}.", f"{where}["))):
        return exc  # raised with the full path already (e.g. by `_number(d, key, where)`)
    if local_root and path.startswith(local_root):
        path = path[len(local_root) :].lstrip(".")
    full = f"{where}.{path}" if where and path else (where or path)
    return exc.relocated(full, SpecError)


def _iso(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").tz_localize(None).isoformat() + "Z"
