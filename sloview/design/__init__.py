"""Target design: exact sweeps over thresholds and targets, and recommendations with CIs.

A recommendation answers two questions for the room: "what is the tightest threshold this
history supports at our target?" and "what is the highest target this history supports at our
threshold?", each for a desired share of complete periods met, and for every one of them.
A joint SLI with two latency conditions (TTFT and TPOT, say) has a threshold pair to choose:
`joint_design` computes the exact attainment and share of periods met at every pair of a grid.

Modules: `sweeps`, `recommend`, `joint`, and `starting` (the first candidate a room sees).
"""

from sloview.design.joint import JOINT_POINTS, JOINT_RANGE, JointDesign, joint_design
from sloview.design.recommend import (
    Recommendation,
    recommend,
    recommend_overall,
    segment_recommendations,
    tightest_threshold,
)
from sloview.design.sweeps import (
    SWEEP_POINTS,
    TARGET_GRID,
    Sweep,
    TargetSweep,
    default_thresholds,
    sweep_targets,
    sweep_thresholds,
)

__all__ = [
    "JOINT_POINTS",
    "JOINT_RANGE",
    "SWEEP_POINTS",
    "TARGET_GRID",
    "JointDesign",
    "Recommendation",
    "Sweep",
    "TargetSweep",
    "default_thresholds",
    "joint_design",
    "recommend",
    "recommend_overall",
    "segment_recommendations",
    "sweep_targets",
    "sweep_thresholds",
    "tightest_threshold",
]
