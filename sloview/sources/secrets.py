"""Connection settings and credentials: from arguments, Streamlit-style secrets or environment.

Secrets are looked up, in order, in explicit arguments, `.streamlit/secrets.toml` (the
`[connections.NAME]` table Streamlit's `st.connection` reads: `url`, or `dialect`, `host`,
`port`, `database`, `username`, `password`; plus `token` for Prometheus) and environment
variables `SLOVIEW_<NAME>_URL`, `_TOKEN`, `_USERNAME`, `_PASSWORD`. Whatever is found is kept
out of every description and message: `Scrubber` removes it from any text shown.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sloview.errors import SourceError
from sloview.export.source import redact_url

SECRET_FILES = (Path(".streamlit") / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml")
KEYS = ("url", "token", "username", "password")
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
# A user name alone is no secret ("postgres" must not turn "postgresql://" into "***ql://"),
# but some services take a token in the user position (https://TOKEN@host): user parts at
# least this long with no password are treated as tokens.
TOKEN_AS_USER_LENGTH = 20


@dataclass(frozen=True)
class Connection:
    """Where to connect and with which credentials (never printed: see `describe`)."""

    url: str = ""
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    origin: str = "arguments"

    def describe(self) -> str:
        """The URL without credentials."""
        return redact_url(self.url)

    def secrets(self) -> tuple[str, ...]:
        """Every secret this connection holds, for scrubbing text."""
        found = [self.token, self.password]
        parts = urlsplit(self.url) if "://" in self.url else None
        if parts is not None:
            found += [parts.password, unquote(parts.password or "") or None]
            userinfo = parts.netloc.rpartition("@")[0]
            if ":" in userinfo or len(userinfo) >= TOKEN_AS_USER_LENGTH:
                found += [userinfo, unquote(userinfo)]
            for pair in parts.query.split("&"):
                key, _, value = pair.partition("=")
                if value and redact_url(f"x://h/?{key}=v") == "x://h/":
                    found += [value, unquote(value)]
        return tuple(s for s in found if s)


def _env_name(name: str) -> str:
    return "SLOVIEW_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def read_secrets(path: Path | None = None) -> dict[str, object]:
    """The parsed secrets file (the first that exists), or an empty dict."""
    candidates = [path] if path is not None else list(SECRET_FILES)
    for candidate in candidates:
        if candidate is not None and candidate.is_file():
            try:
                with candidate.open("rb") as fh:
                    return tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError) as exc:
                # The parser's message may quote the line it failed on, secret and all.
                raise SourceError(
                    f"the secrets file could not be read ({type(exc).__name__})",
                    where=str(candidate),
                    hint='check its TOML syntax, e.g. [connections.NAME] url = "..."',
                ) from None
    return {}


def resolve(
    url: str | None = None,
    *,
    connection: str | None = None,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    secrets_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """The connection in force: explicit arguments, then secrets file, then environment."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    origin = "arguments"
    if connection:
        table = read_secrets(secrets_path).get("connections", {})
        section = table.get(connection) if isinstance(table, dict) else None
        if isinstance(section, dict):
            found = {k: str(v) for k, v in section.items() if v is not None}
            origin = f"secrets [connections.{connection}]"
            if "url" not in found and "host" in found:
                found["url"] = _url_from_parts(found)
        prefix = _env_name(connection)
        for key in KEYS:
            value = env.get(f"{prefix}_{key.upper()}")
            if value and key not in found:
                found[key] = value
                origin = origin if origin != "arguments" else f"environment {prefix}_*"
        if not found.get("url") and not url:
            raise SourceError(
                f"no connection named {connection!r} was found",
                where="connection",
                hint=f'add [connections.{connection}] url = "..." to .streamlit/secrets.toml '
                f"or set {prefix}_URL",
            )
    return Connection(
        url=url or found.get("url", ""),
        token=token or found.get("token"),
        username=username or found.get("username"),
        password=password or found.get("password"),
        origin=origin,
    )


def _url_from_parts(parts: Mapping[str, str]) -> str:
    from sqlalchemy import URL

    return URL.create(
        drivername=parts.get("dialect", "postgresql")
        + (f"+{parts['driver']}" if "driver" in parts else ""),
        username=parts.get("username"),
        password=parts.get("password"),
        host=parts.get("host"),
        port=int(parts["port"]) if parts.get("port") else None,
        database=parts.get("database"),
    ).render_as_string(hide_password=False)


class Scrubber:
    """Removes known secrets and URL credentials from text shown to anyone."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is removed whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """The text with secrets replaced by `***` and URLs redacted."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)) or "***", text)
