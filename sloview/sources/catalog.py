"""What the app offers before connecting: named connections, a database's tables, a password
added to a URL typed without one."""

from __future__ import annotations

from pathlib import Path

from sloview.errors import SourceError
from sloview.sources.open import database_source, resolve_target
from sloview.sources.secrets import read_secrets


def connection_names(secrets_path: Path | None = None) -> list[str]:
    """Names of the `[connections.NAME]` sections in the secrets file (none when unreadable)."""
    try:
        table = read_secrets(secrets_path).get("connections", {})
    except SourceError:
        return []
    return (
        sorted(k for k, v in table.items() if isinstance(v, dict))
        if isinstance(table, dict)
        else []
    )


def with_password(url: str, password: str) -> str:
    """A database URL with the password set (quoted as URLs need); for Spark Connect, whose
    URLs carry no password, the token parameter."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if url.lower().startswith("sc://"):
        return url.rstrip("/") + ("" if "/;" in url else "/") + f";token={password}"
    try:
        return make_url(url).set(password=password).render_as_string(hide_password=False)
    except ArgumentError:
        raise SourceError(
            "this is not a database URL",
            where="URL",
            hint="write it as dialect+driver://user@host:port/database, e.g. "
            "postgresql+psycopg://reader@localhost:5432/logs",
        ) from None


def list_tables(text: str, secrets_path: Path | None = None) -> list[str]:
    """Tables and views a database source can read, in a read-only session."""
    target = resolve_target(text, secrets_path=secrets_path)
    if target.kind != "sql":
        raise SourceError("only a database has tables", where=target.shown)
    source = database_source(
        target.url or "", table="_", connection=target.connection, secrets_path=secrets_path
    )
    names = source.tables()
    if not names:
        raise SourceError(
            "the database has no tables this user can see",
            where=source.describe(),
            hint="check the database name in the URL and the user's grants",
        )
    return sorted(names)
