"""Route planning for a zone-day (issue 14; R-S2..R-S4 arrive deadlines as the latest start of service).

Pure: no I/O, no clock (``now`` is passed in), nothing imported from the rest of the service. The public API:

- :func:`plan_day` (``routing_solver``): jobs x engineers -> :class:`Plan` on PyVRP: routes per engineer (ordered
  stops with planned arrival / start / end, restock stops at a :class:`ServiceCentre`), unplanned jobs with a
  :class:`UnplannedReason`, ``plan.totals``.
- :func:`insert_job` (``routing_insert``): cheapest feasible insertion of one new job into the day's sequences
  (least added lateness, then least travel; promised windows kept; urgent jobs may displace a movable stop).
- :func:`verify` (``routing_verify``): an independent re-walk of a plan -> list of :class:`Violation`.
- travel models (``routing_travel``): :class:`HaversineTravel` (lat, lon), :class:`EuclideanTravel` (x, y; the
  DIMACS convention with ``scale=10``), :class:`MatrixTravel` (a given matrix).

Times in a plan are whole seconds from ``plan.epoch`` (= the ``now`` of :func:`plan_day`); ``plan.time(s)``.
"""

from __future__ import annotations

from .routing_insert import Insertion, InsertResult, Move, insert_job
from .routing_model import (
    RESTOCK_PREFIX,
    Engineer,
    Job,
    Plan,
    PlanOptions,
    Route,
    ServiceCentre,
    SolverInfo,
    Stop,
    Totals,
    Unplanned,
    UnplannedReason,
)
from .routing_solver import plan_day
from .routing_travel import EuclideanTravel, HaversineTravel, MatrixTravel, Point, TravelModel
from .routing_verify import Violation, verify

__all__ = [
    "RESTOCK_PREFIX", "Engineer", "EuclideanTravel", "HaversineTravel", "InsertResult", "Insertion", "Job",
    "MatrixTravel", "Move", "Plan", "PlanOptions", "Point", "Route", "ServiceCentre", "SolverInfo", "Stop", "Totals",
    "TravelModel", "Unplanned", "UnplannedReason", "Violation", "insert_job", "plan_day", "verify",
]
