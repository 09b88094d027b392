"""sloview: decide Service Level Objectives from raw request samples."""

from sloview.errors import DataError, SloviewError, SourceError, SpecError

__version__ = "0.1.0"

__all__ = ["DataError", "SloviewError", "SourceError", "SpecError", "__version__"]
