"""Data sources beyond files: SQL databases, Prometheus, and files larger than memory.

Small results become the canonical request table (through `sloview.ingest.load.convert`);
large ones are reduced where they live to per-minute `Aggregates`.
"""

from sloview.sources.aggregates import Aggregates, Histograms, from_requests

__all__ = ["Aggregates", "Histograms", "from_requests"]
