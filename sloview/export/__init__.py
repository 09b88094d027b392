"""Agreed SLOs out and back in: OpenSLO v1 and Sloth `prometheus/v1` YAML, and validation.

`to_openslo` / `to_sloth` write (returning the text and warnings), `from_openslo` /
`from_sloth` read back into sloview SLOs, `validate_openslo` lists every OpenSLO rule a
file breaks, and `load_documents` parses YAML refusing unsafe tags and alias bombs.
"""

from sloview.export.common import Export
from sloview.export.formats import detect_format
from sloview.export.openslo import to_openslo
from sloview.export.openslo_read import from_openslo, is_openslo
from sloview.export.sloth import from_sloth, is_sloth, to_sloth
from sloview.export.source import MetricSource, redact_url
from sloview.export.validate import Violation, validate_documents, validate_openslo
from sloview.export.yamlio import load_documents, read_text

__all__ = [
    "Export",
    "MetricSource",
    "Violation",
    "detect_format",
    "from_openslo",
    "from_sloth",
    "is_openslo",
    "is_sloth",
    "load_documents",
    "read_text",
    "redact_url",
    "to_openslo",
    "to_sloth",
    "validate_documents",
    "validate_openslo",
]
