"""SLO definition files: sloview's own YAML (one SLO, a list, or `slos:`), read safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sloview.composite_slo import CompositeSLO, spec_from_dict
from sloview.errors import SpecError
from sloview.export import detect_format, from_sloth, load_documents, read_text
from sloview.export.openslo_read import from_openslo_specs
from sloview.model import SLO

MAX_SPEC_BYTES = 5_000_000


def specs_from_data(data: Any, name: str = "SLO file") -> list[SLO | CompositeSLO]:
    """SLOs and composite SLOs from parsed sloview YAML: one mapping, a list, or `slos:`."""
    if isinstance(data, dict) and "slos" in data:
        items, prefix = data["slos"], "slos"
    elif isinstance(data, list):
        items, prefix = data, ""
    elif isinstance(data, dict):
        return [spec_from_dict(data)]
    else:
        raise SpecError(
            "holds no SLO", where=name, hint="write a mapping with name, sli and objective"
        )
    if not isinstance(items, list) or not items:
        raise SpecError("must be a non-empty list of SLOs", where=prefix or name)
    return [spec_from_dict(item, f"{prefix}[{i}]") for i, item in enumerate(items)]


def slos_from_data(data: Any, name: str = "SLO file") -> list[SLO]:
    """SLOs from parsed YAML; a composite SLO contributes each of its objectives."""
    return flatten(specs_from_data(data, name))


def flatten(specs: list[SLO | CompositeSLO]) -> list[SLO]:
    """The plain SLOs of a list, composites replaced by their objectives (an objective that
    is also in the list, as a combined candidate is, comes once)."""
    out: list[SLO] = []
    for spec in specs:
        if isinstance(spec, CompositeSLO):
            out.extend(slo for slo in spec.objectives if slo not in out)
        else:
            out.append(spec)
    return out


def load_specs(path: Path | str) -> list[SLO | CompositeSLO]:
    """Read SLOs and composite SLOs (sloview YAML, OpenSLO v1) from an SLO file."""
    try:
        docs = load_documents(read_text(path), str(path))
        fmt = detect_format(docs)
        if fmt == "openslo":
            return from_openslo_specs(docs)
        if fmt == "sloth":
            return list(from_sloth(docs))
        return specs_from_data(docs[0] if docs else None, str(path))
    except SpecError as exc:
        if exc.where and not exc.where.startswith(str(path)):
            raise exc.relocated(f"{path}: {exc.where}", SpecError) from None
        raise


def load_slo_file(path: Path | str) -> list[SLO]:
    """Read SLOs from a sloview, OpenSLO v1 or Sloth `prometheus/v1` YAML file (composites
    contribute their objectives)."""
    return flatten(load_specs(path))


def dump_slos(slos: list[SLO]) -> str:
    """sloview YAML for SLOs (round-trips through `slos_from_data`)."""
    return yaml.safe_dump(
        {"slos": [s.to_dict() for s in slos]}, sort_keys=False, allow_unicode=True
    )
