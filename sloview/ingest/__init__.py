"""Ingest: any supported file -> the canonical request table (see `sloview.ingest.table`)."""

from sloview.ingest.load import build_table, convert, load_requests
from sloview.ingest.mapping import Mapping, ResolvedMapping
from sloview.ingest.readers import open_source
from sloview.ingest.table import RequestTable

__all__ = [
    "Mapping",
    "RequestTable",
    "ResolvedMapping",
    "build_table",
    "convert",
    "load_requests",
    "open_source",
]
