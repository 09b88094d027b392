"""Workshop sessions: the candidates, decisions and notes of a meeting, saved and restored.

A session file is JSON: where the data came from (a name, never file contents or secrets),
the column mapping, every shortlisted candidate with its note and whether it was agreed,
and the generation time passed in by the caller. A single candidate also travels in a link
as URL-safe base64 of its compact JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from sloview.errors import SpecError
from sloview.ingest.mapping import Mapping
from sloview.model import SLO

SESSION_VERSION = 1
MAX_LINK_CHARS = 6000


@dataclass(frozen=True)
class Candidate:
    """A shortlisted SLO with the room's note and decision."""

    slo: SLO
    note: str = ""
    agreed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"slo": self.slo.to_dict(), "note": self.note, "agreed": self.agreed}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Candidate:
        """Build from plain data; errors name the path."""
        if not isinstance(data, dict) or "slo" not in data:
            raise SpecError("must be a mapping with an `slo`", where=where)
        return cls(
            slo=SLO.from_dict(data["slo"], f"{where}.slo"),
            note=str(data.get("note", "")),
            agreed=bool(data.get("agreed", False)),
        )


@dataclass(frozen=True)
class Session:
    """Everything a workshop decided, without the data itself."""

    source: str
    mapping: Mapping = field(default_factory=Mapping)
    candidates: tuple[Candidate, ...] = ()
    saved_at: str = ""

    def to_json(self) -> str:
        """Deterministic JSON text (keys in a fixed order)."""
        data = {
            "sloview_session": SESSION_VERSION,
            "saved_at": self.saved_at,
            "source": self.source,
            "mapping": self.mapping.to_dict(),
            "candidates": [c.to_dict() for c in self.candidates],
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Session:
        """Read a session file; errors name the path inside it."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"not a sloview session file ({exc})", where="session") from None
        if not isinstance(data, dict) or data.get("sloview_session") != SESSION_VERSION:
            raise SpecError(
                "not a sloview session file (missing `sloview_session: 1`)", where="session"
            )
        items = data.get("candidates", [])
        if not isinstance(items, list):
            raise SpecError("must be a list", where="candidates")
        return cls(
            source=str(data.get("source", "")),
            mapping=Mapping.from_dict(data.get("mapping", {}), "mapping"),
            candidates=tuple(
                Candidate.from_dict(c, f"candidates[{i}]") for i, c in enumerate(items)
            ),
            saved_at=str(data.get("saved_at", "")),
        )


def encode_slo(slo: SLO) -> str:
    """A candidate as URL-safe text for a shareable link."""
    raw = json.dumps(slo.to_dict(), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_slo(text: str) -> SLO:
    """The candidate a link carries; a clear error for a damaged link."""
    if len(text) > MAX_LINK_CHARS:
        raise SpecError("the link's candidate is too long", where="link")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise SpecError(
            "the link does not hold a readable candidate",
            where="link",
            hint="copy the whole link again from the Export page",
        ) from exc
    return SLO.from_dict(data, "link")


def agreement_conflicts(candidates: list[Candidate] | tuple[Candidate, ...]) -> list[str]:
    """One sentence per kind of SLI agreed more than once (a service has one agreed SLO per
    kind): it stands until the room unticks all but one."""
    by_kind: dict[str, list[str]] = {}
    for c in candidates:
        if c.agreed:
            by_kind.setdefault(c.slo.sli.kind, []).append(c.slo.name)
    return [
        f"{' and '.join(names)} are all agreed {kind} SLOs: keep one agreed (untick the "
        "others) before exporting."
        for kind, names in by_kind.items()
        if len(names) > 1
    ]
