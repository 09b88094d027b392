"""The engine: precomputed per-minute counts and exact latency indexes of a request table."""

from sloview.engine.core import Engine
from sloview.engine.index import GroupedValues, LatencyIndex
from sloview.engine.joint import JointRows
from sloview.engine.scope import Scope
from sloview.engine.timebase import BUCKET_S, Periods, TimeBase, periods_for

__all__ = [
    "BUCKET_S",
    "Engine",
    "GroupedValues",
    "JointRows",
    "LatencyIndex",
    "Periods",
    "Scope",
    "TimeBase",
    "periods_for",
]
