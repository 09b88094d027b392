"""The registry of agreed SLOs and their reviews (see `store`)."""

from sloview.registry.store import (
    AgreedVersion,
    Registry,
    ReviewRecord,
    default_url,
)

__all__ = ["AgreedVersion", "Registry", "ReviewRecord", "default_url"]
