"""Shared pieces of the CLI: exit codes, the one-line error parser, flag converters."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

from sloview.errors import SloviewError, SpecError
from sloview.sources.secrets import Scrubber

EXIT_OK = 0
EXIT_BAD_INPUT = 2
# `sloview review`: an agreed SLO was missed (or could not be judged) in the period reviewed.
EXIT_MISSED = 3
SOURCE_HELP = (
    "a request file (CSV/TSV, Parquet, JSON(L), JTL ...), a database URL such as "
    "postgresql://HOST/DB or sqlite:///FILE (with --table or --query), "
    "prometheus+http://HOST:PORT (with --histogram, --start, --end), or @NAME for a connection "
    "in .streamlit/secrets.toml or SLOVIEW_NAME_URL"
)


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag on one line (exit 2) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        # argparse may quote an argument back (an unrecognised one, say): a URL with a
        # password among them must not be echoed.
        text = Scrubber(())(f"sloview: error: {message} (see `{self.prog} --help`)")
        sys.stderr.write(text + "\n")
        raise SystemExit(EXIT_BAD_INPUT)


def flag(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """Wrap a parser so argparse reports its message as a bad flag value."""

    def parse(text: str) -> Any:
        try:
            return convert(text)
        except SloviewError as exc:
            raise argparse.ArgumentTypeError(
                exc.message + (f"; {exc.hint}" if exc.hint else "")
            ) from exc

    parse.__name__ = convert.__name__
    return parse


def share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a share in (0, 1], e.g. 0.9")
    return value


def csv_list(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def default_target(kind: str) -> float:
    return {"latency": 0.95, "availability": 0.995, "throughput": 0.99, "joint": 0.95}[kind]


def now() -> datetime:
    """Now in UTC, or SOURCE_DATE_EPOCH when set (reproducible builds and tests)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise SpecError(
                f"{epoch!r} is not a Unix time",
                where="SOURCE_DATE_EPOCH",
                hint="unset it or give whole seconds since 1970",
            ) from None
    # The CLI is the edge where the clock may be read; renderers and the registry get text.
    return datetime.now(tz=UTC)


def now_text() -> str:
    """`2026-12-04 09:00 UTC`: the time a report prints."""
    return f"{now():%Y-%m-%d %H:%M} UTC"


def now_iso() -> str:
    """`2026-12-04T09:00:12Z`: the time the registry records (sorts as text)."""
    return f"{now():%Y-%m-%dT%H:%M:%SZ}"
