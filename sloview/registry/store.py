"""The SLO registry on SQLAlchemy: agreed versions and reviews, SQLite by default, PostgreSQL
for a team, migrated with Alembic when opened.

Writers never lose or duplicate a version: a new version is the name's highest plus one,
inserted in a transaction; (name, version) is unique, so when two writers race, one insert
fails and is retried with the next number.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from sloview.errors import SourceError, SpecError
from sloview.model import SLO
from sloview.registry.schema import reviews, versions
from sloview.sources.secrets import Connection, Scrubber, resolve

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Writers racing for the same name retry this many times before giving up.
WRITE_ATTEMPTS = 20
# Alembic's `context` is one module-level object: two migrations in one process (two sessions
# of the app opening a registry at once) take turns. Processes are kept apart by the database.
_MIGRATING = threading.Lock()


def default_url(environ: Mapping[str, str] | None = None) -> str:
    """SLOVIEW_REGISTRY, or a SQLite file under the user's data directory
    ($XDG_DATA_HOME/sloview/registry.db, by default ~/.local/share/sloview/registry.db)."""
    env = os.environ if environ is None else environ
    if env.get("SLOVIEW_REGISTRY"):
        return env["SLOVIEW_REGISTRY"]
    base = Path(
        env.get("XDG_DATA_HOME") or Path(env.get("HOME", "~")).expanduser() / ".local/share"
    )
    return f"sqlite:///{base / 'sloview' / 'registry.db'}"


@dataclass(frozen=True)
class AgreedVersion:
    """One agreed version of an SLO, as recorded (never changed afterwards)."""

    name: str
    version: int
    service: str
    slo: SLO
    agreed_by: str
    agreed_at: str
    rationale: str = ""
    data_fingerprint: str = ""
    data_start: str | None = None
    data_end: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the spec as sloview's own SLO mapping)."""
        out = asdict(self)
        out["slo"] = self.slo.to_dict()
        return out


@dataclass(frozen=True)
class ReviewRecord:
    """One review of an agreed version against the data of a period."""

    name: str
    version: int
    reviewed_at: str
    period_start: str | None
    period_end: str | None
    good: float
    total: float
    attainment: float | None
    ci_low: float | None
    ci_high: float | None
    target: float
    met: bool | None
    budget_remaining: float | None
    action: str
    suggested_threshold_ms: float | None = None
    suggested_target: float | None = None
    why: str = ""
    reviewed_by: str = ""
    source: str = ""
    data_fingerprint: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)


class Registry:
    """Agreed SLO versions and their reviews in one database (migrated on open)."""

    def __init__(self, url: str | None = None, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.conn: Connection = resolve(url or default_url(env), environ=env)
        self.scrub = Scrubber(self.conn.secrets())
        self.where = f"registry {self.conn.describe()}"
        url_text = self.conn.url
        if url_text.startswith("sqlite:///"):
            Path(url_text.removeprefix("sqlite:///")).expanduser().parent.mkdir(
                parents=True, exist_ok=True
            )
        if url_text.startswith("postgresql://"):
            url_text = "postgresql+psycopg://" + url_text.removeprefix("postgresql://")
        connect_args: dict[str, Any] = {}
        if url_text.startswith("postgresql"):
            connect_args["connect_timeout"] = 10
            if self.conn.password:
                connect_args["password"] = self.conn.password
        try:
            self.engine = sa.create_engine(url_text, poolclass=NullPool, connect_args=connect_args)
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise self._error(exc, "is not a database URL sloview can open") from None
        self._migrate()

    def describe(self) -> str:
        """The registry's URL without credentials."""
        return self.conn.describe()

    def _error(self, exc: BaseException, what: str) -> SourceError:
        detail = self.scrub(
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        return SourceError(
            f"{what} ({detail})",
            where=self.where,
            hint="check --registry or SLOVIEW_REGISTRY (host, port, database, user, password)",
        )

    def _migrate(self) -> None:
        """Bring the schema to the latest revision (from empty on first use)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with _MIGRATING, self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # Two processes opening a new registry at once must not both create it.
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(5107113)"))
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise self._error(exc, "cannot be reached") from None
        except SQLAlchemyError as exc:
            raise self._error(exc, "could not be prepared") from None

    # -- versions ----------------------------------------------------------------------------

    def agree(
        self,
        slo: SLO,
        *,
        by: str,
        at: str,
        rationale: str = "",
        fingerprint: str = "",
        start: str | None = None,
        end: str | None = None,
        figures: dict[str, Any] | None = None,
    ) -> AgreedVersion:
        """Record a new agreed version of `slo` (version 1, or the latest plus one)."""
        if not by.strip():
            raise SpecError("who agreed must be named", where="agreed_by", hint="e.g. --by alice")
        row = {
            "name": slo.name,
            "service": slo.service,
            "spec": json.dumps(slo.to_dict(), sort_keys=True),
            "agreed_by": by.strip(),
            "agreed_at": at,
            "rationale": rationale,
            "data_fingerprint": fingerprint,
            "data_start": start,
            "data_end": end,
            "figures": json.dumps(figures or {}, sort_keys=True, allow_nan=False),
        }
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.engine.begin() as conn:
                    latest = conn.execute(
                        sa.select(sa.func.max(versions.c.version)).where(
                            versions.c.name == slo.name
                        )
                    ).scalar()
                    number = int(latest or 0) + 1
                    conn.execute(versions.insert().values(version=number, **row))
                return self.version(slo.name, number)
            except IntegrityError:
                # Another writer took this number first: read the new highest and try again.
                time.sleep(0.01 * (attempt + 1))
            except SQLAlchemyError as exc:
                raise self._error(exc, "could not record the version") from None
        raise SourceError(
            f"could not record a version of {slo.name} after {WRITE_ATTEMPTS} attempts",
            where=self.where,
            hint="many writers at once: try again",
        )

    def version(self, name: str, number: int) -> AgreedVersion:
        """One recorded version."""
        found = [v for v in self.versions(name) if v.version == number]
        if not found:
            raise SpecError(f"{name} has no version {number}", where=self.where)
        return found[0]

    def versions(self, name: str) -> list[AgreedVersion]:
        """Every version of a name, oldest first (empty when the name is unknown)."""
        query = sa.select(versions).where(versions.c.name == name).order_by(versions.c.version)
        return [_version(r) for r in self._rows(query)]

    def find(self, name: str) -> AgreedVersion | None:
        """The latest agreed version of a name, or None when it was never agreed."""
        found = self.versions(name)
        return found[-1] if found else None

    def latest(self, name: str) -> AgreedVersion:
        """The latest agreed version of a name (a clear error for an unknown one)."""
        found = self.versions(name)
        if not found:
            known = ", ".join(self.names()) or "none yet"
            raise SpecError(
                f"no SLO named {name!r} in the registry",
                where=self.where,
                hint=f"registered: {known}; add one with `sloview registry add FILE --by NAME`",
            )
        return found[-1]

    def names(self) -> list[str]:
        """Every registered SLO name, alphabetically."""
        query = sa.select(versions.c.name).distinct().order_by(versions.c.name)
        return [str(r[0]) for r in self._rows(query)]

    def catalogue(self) -> list[AgreedVersion]:
        """The latest version of every registered SLO."""
        return [self.latest(name) for name in self.names()]

    # -- reviews -----------------------------------------------------------------------------

    def record_review(self, record: ReviewRecord) -> ReviewRecord:
        """Store a review of an agreed version."""
        self.version(record.name, record.version)  # a review belongs to a recorded version
        try:
            with self.engine.begin() as conn:
                conn.execute(reviews.insert().values(**record.to_dict()))
        except SQLAlchemyError as exc:
            raise self._error(exc, "could not record the review") from None
        return record

    def reviews(self, name: str) -> list[ReviewRecord]:
        """Every review of a name (any version), in the order they were recorded."""
        query = sa.select(reviews).where(reviews.c.name == name).order_by(reviews.c.id)
        columns = set(ReviewRecord.__dataclass_fields__)
        return [
            ReviewRecord(**{k: v for k, v in r._mapping.items() if k in columns})
            for r in self._rows(query)
        ]

    def _rows(self, query: Any) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(query))
        except SQLAlchemyError as exc:
            raise self._error(exc, "could not be read") from None


def _version(row: Any) -> AgreedVersion:
    m = row._mapping
    return AgreedVersion(
        name=m["name"],
        version=int(m["version"]),
        service=m["service"],
        slo=SLO.from_dict(json.loads(m["spec"]), where=f"{m['name']} v{m['version']}"),
        agreed_by=m["agreed_by"],
        agreed_at=m["agreed_at"],
        rationale=m["rationale"],
        data_fingerprint=m["data_fingerprint"],
        data_start=m["data_start"],
        data_end=m["data_end"],
        figures=json.loads(m["figures"] or "{}"),
    )
