"""A candidate SLO bound to the requests it judges: the one place a candidate's scope is applied.

The scope of a candidate is everything that decides which requests count and how:
- the data's filters and time range, applied once when the data are loaded (the app's sidebar,
  the CLI's `--where`/`--start`/`--end`): the engine given to `Scope.bind` already has them;
- the SLO's own segment (`endpoint=chat`), applied here and nowhere else;
- the failed-request policy, part of the SLI, read by the computations from `scope.slo`.

Every computation of a candidate (simulate, sweeps, recommendations, segment tables, goodput,
the two-dimensional design, reports, exports of figures) takes a `Scope`, never an engine and
an SLO side by side, so none can forget the segment and every view of one candidate agrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sloview.engine.core import Engine
from sloview.errors import SpecError
from sloview.model import SLO


@dataclass(frozen=True)
class Scope:
    """An SLO and the engine over exactly its requests."""

    slo: SLO
    # The requests of the candidate: the loaded data narrowed to the SLO's segment.
    engine: Engine
    # The loaded data before the segment (to bind siblings: other segments, other SLOs).
    data: Engine = field(repr=False)

    @classmethod
    def bind(cls, data: Engine, slo: SLO) -> Scope:
        """Bind an SLO to the loaded data: the SLO's segment is applied here, once."""
        if data.segment:
            # A view already carries a segment: binding to it would apply one twice (or
            # narrow a candidate to a segment it does not name).
            raise ValueError("Scope.bind takes the engine of the whole loaded data, not a view")
        return cls(slo=slo, engine=requests_of(data, slo.segment), data=data)

    def with_slo(self, slo: SLO) -> Scope:
        """The same data bound to another SLO (a moved threshold, another target ...)."""
        if slo.segment == self.slo.segment:
            return replace(self, slo=slo)
        return Scope.bind(self.data, slo)

    def split(self, column: str) -> list[Scope]:
        """The candidate on each value of a segment column, most requests first.

        Each part is the candidate with `column=value` added to its segment, so a row of a
        segments table is exactly the simulation of that narrower candidate.
        """
        own = dict(self.slo.segment)
        if column in own:
            return [self]
        parts = []
        for value in self.engine.segment_values(column):
            segment = (*self.slo.segment, (column, value))
            parts.append(Scope.bind(self.data, self.slo.with_changes(segment=segment)))
        return parts

    @property
    def segment_value(self) -> str:
        """The value of the segment column added last (the row label of a split)."""
        if not self.slo.segment:
            raise SpecError("this candidate has no segment", where=self.slo.name)
        return self.slo.segment[-1][1]


def requests_of(data: Engine, segment: tuple[tuple[str, str], ...]) -> Engine:
    """The engine over the requests a segment names (what a candidate with it would judge):
    used by `Scope.bind`, and by the editor to fit its threshold range before the candidate
    is complete."""
    return data.view(segment)
