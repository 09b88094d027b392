"""Which data a decision was made on: a short fingerprint that names the same data the same
way in the app and the CLI (the content of a file; the source, table or query and range of a
database or Prometheus, never its credentials)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sloview.export.source import redact_url

CHUNK = 1 << 20


def of_bytes(data: bytes) -> str:
    """The fingerprint of a file's content (an upload in the app)."""
    return hashlib.sha256(data).hexdigest()[:16]


def of_file(path: Path) -> str:
    """The fingerprint of a file's content, read in chunks (the same as `of_bytes`)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def of_source(url: str, *parts: object) -> str:
    """The fingerprint of a database or Prometheus source: its URL without credentials and
    what was read from it (table or query, range ...)."""
    text = "\0".join([redact_url(url), *(str(p) for p in parts)])
    return "src-" + hashlib.sha256(text.encode()).hexdigest()[:12]
