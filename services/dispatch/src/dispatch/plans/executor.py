"""Where ``plan_day`` runs (issue 14, item 4): in a worker process (default) or a thread, never on the event loop.

PyVRP's search holds the GIL, so a thread would still stall the loop (consumer heartbeats, HTTP): the default is
one spawned worker process per service process (``DISPATCH_PLANNER_EXECUTOR=process``). Planning capacity grows
with planner processes (``dispatch-planner`` replicas in one consumer group), not with threads in one.
This module imports only the pure routing core, so the spawned worker starts light.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime

from ..domain import routing as r

_pool: ProcessPoolExecutor | None = None


def _plan(jobs: Sequence[r.Job], engineers: Sequence[r.Engineer], travel: r.HaversineTravel, now: datetime,
          options: r.PlanOptions, centres: Sequence[r.ServiceCentre] = ()) -> r.Plan:
    return r.plan_day(jobs, engineers, travel, now, options, centres=centres)


async def plan_day(jobs: Sequence[r.Job], engineers: Sequence[r.Engineer], travel: r.HaversineTravel,
                   now: datetime, options: r.PlanOptions, *, executor: str = "process",
                   centres: Sequence[r.ServiceCentre] = ()) -> r.Plan:
    """``routing.plan_day`` off the event loop (routes may stop at ``centres`` to restock)."""
    global _pool
    if executor == "thread":
        return await asyncio.to_thread(_plan, list(jobs), list(engineers), travel, now, options, list(centres))
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return await asyncio.get_running_loop().run_in_executor(_pool, _plan, list(jobs), list(engineers), travel,
                                                            now, options, list(centres))


def shutdown() -> None:
    """Stop the worker process (the app's shutdown)."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
