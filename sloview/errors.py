"""One exception family whose messages a workshop participant can act on."""

from __future__ import annotations

from typing import TypeVar

# The app's places that hints name; the pages title them with these same words, so an app
# hint always points at something on the screen.
MAPPING_FORM = "Correct the mapping"
IN_MAPPING_FORM = f"under '{MAPPING_FORM}' on the Data page"
METRICS_FROM = "production metrics come from"
CONNECT_FORM = "Connect a database, a warehouse or Prometheus"
PROMETHEUS_APP_HINT = (
    f"choose 'Prometheus histogram' under '{METRICS_FROM}' on this page and enter its name"
)


class SloviewError(Exception):
    """Bad input or settings: what is wrong, where, and what to do about it."""

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        hint: str | None = None,
        app_hint: str | None = None,
    ) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        # What to do in the app's words, where `hint` names command-line flags: the app shows
        # this one (`one_line(app=True)`), so nobody at a workshop is told to type --latency.
        self.app_hint = app_hint
        super().__init__(self.one_line())

    def relocated(self, where: str | None, kind: type[E]) -> E:
        """The same error placed elsewhere (a path under its parent's), as `kind`: both
        hints go with it."""
        return kind(self.message, where=where, hint=self.hint, app_hint=self.app_hint)

    def one_line(self, *, app: bool = False) -> str:
        """The message as one line: `where: message. hint` (the app's hint when `app`)."""
        text = self.message.rstrip(".")
        if self.where:
            text = f"{self.where}: {text}"
        chosen = self.app_hint if app and self.app_hint else self.hint
        if chosen:
            hint = chosen.rstrip(".")
            text = f"{text}. {hint[:1].upper()}{hint[1:]}."
        else:
            text = f"{text}."
        return " ".join(text.split())


E = TypeVar("E", bound=SloviewError)


class DataError(SloviewError):
    """A data file or table that cannot be read as requests."""


class SpecError(SloviewError):
    """An SLO definition (YAML, dict or flags) that is not valid."""


class SourceError(SloviewError):
    """A database or Prometheus server that cannot be reached or queried."""


class SpanError(DataError):
    """Requests spread over more time than sloview analyses at once (`sloview.ingest.span`)."""

    def __init__(
        self,
        message: str,
        *,
        first_ns: int,
        last_ns: int,
        where: str | None,
        hint: str | None,
        app_hint: str | None = None,
    ) -> None:
        super().__init__(message, where=where, hint=hint, app_hint=app_hint)
        self.first_ns = first_ns
        self.last_ns = last_ns
