"""Which SLO format a parsed YAML file is in, with clear refusals for near misses."""

from __future__ import annotations

from typing import Any, Literal

from sloview.errors import SpecError
from sloview.export.openslo_read import is_openslo
from sloview.export.sloth import is_sloth
from sloview.export.validate import API_VERSION, document_label

Format = Literal["openslo", "sloth", "sloview"]


def detect_format(docs: list[Any]) -> Format:
    """`openslo` (apiVersion openslo/v1), `sloth` (version prometheus/v1) or `sloview`."""
    if any(is_openslo(doc) for doc in docs):
        for i, doc in enumerate(docs):
            version = doc.get("apiVersion") if isinstance(doc, dict) else None
            if is_openslo(doc) and version != API_VERSION:
                where = " ".join(p for p in (document_label(docs, i), "apiVersion") if p)
                raise SpecError(
                    f"OpenSLO {version} is not supported",
                    where=where,
                    hint=f"sloview reads and writes {API_VERSION}, what tools consume today",
                )
        return "openslo"
    if docs and all(is_sloth(doc) for doc in docs):
        return "sloth"
    first = docs[0] if docs else None
    if isinstance(first, dict):
        api = str(first.get("apiVersion", ""))
        if api.startswith("sloth.slok.dev/") and first.get("kind") == "AlertWindows":
            raise SpecError(
                "is a Sloth AlertWindows file (alert windows for an SLO period), not SLOs",
                where="kind",
                hint='give the Sloth SLO spec (version: "prometheus/v1") instead',
            )
        if "groups" in first and "name" not in first and "slos" not in first:
            raise SpecError(
                "holds Prometheus rules (groups:), such as Sloth generates, not SLOs",
                where="groups",
                hint='give the Sloth spec they were generated from (version: "prometheus/v1")',
            )
        if "version" in first and first.get("version") != "prometheus/v1":
            raise SpecError(
                f"Sloth spec version {first.get('version')!r} is not supported",
                where="version",
                hint='sloview reads version: "prometheus/v1"',
            )
    if len(docs) > 1:
        raise SpecError(
            f"holds {len(docs)} YAML documents; a sloview SLO file holds one",
            where="YAML",
            hint="put the SLOs in one list under slos:",
        )
    return "sloview"
