"""Shared pieces of the CLI: exit codes, the one-line error parser, flag converters."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from sloview.errors import SloviewError
from sloview.sources.secrets import Scrubber

EXIT_OK = 0
EXIT_BAD_INPUT = 2
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
