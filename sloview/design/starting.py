"""The first candidate a room sees: a round threshold near the requests' p95 and a target
these requests nearly meet, not the far end of a slider."""

from __future__ import annotations

import math

from sloview.design.sweeps import TARGET_GRID
from sloview.engine.distribution import Distribution
from sloview.units import nice_values

# The percentile a starting threshold sits at or just above.
STARTING_PERCENTILE = 95.0


def threshold_options(dist: Distribution) -> list[float]:
    """Round thresholds (22 per decade) from the requests' 1st percentile to their maximum."""
    lo = dist.value_at(max(0, int(0.01 * (dist.size - 1))))
    return nice_values(lo, dist.value_at(-1), fine=True)


def starting_threshold(dist: Distribution) -> float:
    """The smallest round threshold at or above the requests' p95."""
    p95 = dist.percentile(STARTING_PERCENTILE)
    options = threshold_options(dist)
    return min((v for v in options if v >= p95), default=options[-1])


def starting_target(share_within: float) -> float:
    """The highest usual target at or below the share of requests the threshold already
    meets: a target the data nearly meet (90% when they meet less)."""
    if not math.isfinite(share_within):
        return float(TARGET_GRID[0])
    fitting = TARGET_GRID[share_within + 1e-12 >= TARGET_GRID]
    return float(fitting[-1]) if fitting.size else float(TARGET_GRID[0])


def share_within(dist: Distribution, threshold: float) -> float:
    """Share of the distribution's requests at or under `threshold`."""
    return dist.meeting(threshold, "lte") / dist.size if dist.size else math.nan
