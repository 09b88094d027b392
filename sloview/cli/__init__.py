"""The `sloview` command: one module per command, shared flags beside them."""

from sloview.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
