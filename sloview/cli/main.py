"""The `sloview` command: the same functions as the app, for scripts and CI."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from sloview import __version__
from sloview.cli import (
    export_cmd,
    registry_cmd,
    report_cmd,
    review_cmd,
    simulate_cmd,
    summarize_cmd,
)
from sloview.cli.base import EXIT_BAD_INPUT, Parser
from sloview.errors import SloviewError
from sloview.sources.open import source_secrets
from sloview.sources.secrets import Scrubber


def build_parser() -> argparse.ArgumentParser:
    """The full command-line interface."""
    parser = Parser(prog="sloview", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sloview {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for command in (summarize_cmd, simulate_cmd, export_cmd, report_cmd, review_cmd, registry_cmd):
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; bad input exits 2 with one line on stderr, never a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # Sources scrub their own messages; this catches whatever else might quote SOURCE or --url
    # (a driver's exception in the internal-error line, say).
    scrub = Scrubber(())
    try:
        scrub = Scrubber(_secrets_of(args))
        return int(args.handler(args))
    except SloviewError as exc:
        sys.stderr.write(scrub(f"sloview: error: {exc.one_line()}") + "\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`sloview summarize ... | head`): nothing left to say to it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:  # a bug, not bad input: still one line, never a traceback
        sys.stderr.write(
            scrub(
                f"sloview: internal error: {type(exc).__name__}: {exc} (please report this with "
                "the command you ran, without its passwords)"
            )
            + "\n"
        )
        return 1


def _secrets_of(args: argparse.Namespace) -> tuple[str, ...]:
    """Secrets SOURCE (or export's --source/--url, or --registry) carries or resolves to."""
    found: list[str] = []
    for text in (
        getattr(args, "source", None),
        getattr(args, "url", None),
        getattr(args, "registry", None),
    ):
        if text:
            found += source_secrets(text)
    return tuple(found)
