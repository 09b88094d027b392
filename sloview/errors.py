"""One exception family whose messages a workshop participant can act on."""

from __future__ import annotations


class SloviewError(Exception):
    """Bad input or settings: what is wrong, where, and what to do about it."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message as one line: `where: message. hint`."""
        text = self.message.rstrip(".")
        if self.where:
            text = f"{self.where}: {text}"
        if self.hint:
            hint = self.hint.rstrip(".")
            text = f"{text}. {hint[:1].upper()}{hint[1:]}."
        else:
            text = f"{text}."
        return " ".join(text.split())


class DataError(SloviewError):
    """A data file or table that cannot be read as requests."""


class SpecError(SloviewError):
    """An SLO definition (YAML, dict or flags) that is not valid."""


class SourceError(SloviewError):
    """A database or Prometheus server that cannot be reached or queried."""


class SpanError(DataError):
    """Requests spread over more time than sloview analyses at once (`sloview.ingest.span`)."""

    def __init__(
        self, message: str, *, first_ns: int, last_ns: int, where: str | None, hint: str | None
    ) -> None:
        super().__init__(message, where=where, hint=hint)
        self.first_ns = first_ns
        self.last_ns = last_ns
