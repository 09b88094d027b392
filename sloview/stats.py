"""Statistics with one definition each: linear percentiles and distribution-free intervals.

Percentiles are Hyndman-Fan type 7 (numpy's default `linear`, pandas `quantile`, PostgreSQL
`percentile_cont`), everywhere in sloview.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import special

PERCENTILE_METHOD: Literal["linear"] = "linear"
PERCENTILE_DEFINITION = (
    "linear interpolation between closest ranks (Hyndman-Fan type 7; numpy's default, "
    "pandas quantile, PostgreSQL percentile_cont)"
)
CONFIDENCE = 0.95


def percentile(values: np.ndarray, q: float) -> float:
    """The q-th percentile (0..100) of values, linear interpolation; NaN when empty."""
    if values.size == 0:
        return math.nan
    return float(np.percentile(values, q, method=PERCENTILE_METHOD))


def percentile_sorted(sorted_values: np.ndarray, q: float) -> float:
    """The q-th percentile (0..100) of already sorted values, without sorting again."""
    n = sorted_values.size
    if n == 0:
        return math.nan
    h = (n - 1) * q / 100.0
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    return float(sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo]))


def percentile_rank_interval(
    n: int, q: float, confidence: float = CONFIDENCE
) -> tuple[int, int] | None:
    """0-based ranks (lo, hi) of the order statistics bracketing the q-th percentile.

    Distribution-free: P(X_(lo) <= true percentile <= X_(hi)) >= confidence, from the binomial
    distribution of how many observations fall below the true percentile. None when n is too
    small for an interval at this confidence.
    """
    if n <= 0:
        return None
    from scipy import stats as sps  # imported late: scipy.stats costs a second at CLI start

    p = q / 100.0
    alpha = 1.0 - confidence
    lo = int(sps.binom.ppf(alpha / 2, n, p))  # count below; rank lo (1-based) is the lower end
    hi = int(sps.binom.ppf(1 - alpha / 2, n, p)) + 1
    if lo < 1 or hi > n:
        return None
    return lo - 1, hi - 1


def percentile_ci(
    sorted_values: np.ndarray, q: float, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Distribution-free confidence interval of a percentile; NaNs when data are too few."""
    ranks = percentile_rank_interval(sorted_values.size, q, confidence)
    if ranks is None:
        return math.nan, math.nan
    return float(sorted_values[ranks[0]]), float(sorted_values[ranks[1]])


def clopper_pearson(good: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper-Pearson) confidence interval of a proportion good/total."""
    if total <= 0:
        return math.nan, math.nan
    alpha = 1.0 - confidence
    # betaincinv is the beta quantile without scipy.stats' per-call overhead (slider path).
    lo = 0.0 if good <= 0 else float(special.betaincinv(good, total - good + 1, alpha / 2))
    hi = 1.0 if good >= total else float(special.betaincinv(good + 1, total - good, 1 - alpha / 2))
    return lo, hi


def clopper_pearson_arrays(
    good: np.ndarray, total: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Clopper-Pearson intervals; NaN where total is 0."""
    from scipy import stats as sps

    good = np.asarray(good, dtype=float)
    total = np.asarray(total, dtype=float)
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(good > 0, sps.beta.ppf(alpha / 2, good, total - good + 1), 0.0)
        hi = np.where(good < total, sps.beta.ppf(1 - alpha / 2, good + 1, total - good), 1.0)
    empty = total <= 0
    lo = np.where(empty, np.nan, lo)
    hi = np.where(empty, np.nan, hi)
    return lo, hi


def target_rank(target: float, n: int) -> int:
    """k = ceil(target * n): how many of n valid requests must meet a threshold (1-based)."""
    # Rounded first so that 0.95 * 100 (94.99999999999999 in binary) asks for 95, not 95+.
    return max(1, math.ceil(round(target * n, 9)))


def quantile_threshold(
    ranked: np.ndarray, target: float, larger_is_better: bool
) -> tuple[float, float, float]:
    """The tightest threshold `target` of these sorted values meet, and its 95% CI.

    The k-th smallest value for k = ceil(target x n) (k-th largest when larger is better),
    with the order-statistic interval of the target quantile; NaN without values.
    """
    n = ranked.size
    if n == 0:
        return math.nan, math.nan, math.nan
    k = min(target_rank(target, n), n)
    if larger_is_better:
        value = float(ranked[n - k])
        ranks = percentile_rank_interval(n, (1 - target) * 100)
    else:
        value = float(ranked[k - 1])
        ranks = percentile_rank_interval(n, target * 100)
    if ranks is None:
        return value, math.nan, math.nan
    return value, float(ranked[ranks[0]]), float(ranked[ranks[1]])
