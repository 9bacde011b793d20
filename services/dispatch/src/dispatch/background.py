"""Periodic jobs: offer expiry, queue retry, the R-S8 routing check, overrun marks, the nightly plan of tomorrow
(from ``DISPATCH_NIGHTLY_PLAN_AT``, once per day across replicas: ``nightly_runs``), due re-plans (debounced
``replan_marks``), publishing those plans when done (``DISPATCH_AUTO_PUBLISH``), the SLA watcher and, on its own
timer, the R-T4 retention job (``retention/``: once per business day across replicas).

Each step is one unit of work calling one service function with ``clock.now()`` (so a moved development
clock moves them too); the SLA watcher is one unit of work per keyset batch (:func:`watch_sla`), so a pass over
any number of due jobs holds each batch's row locks only for that batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work

from .config import DispatchConfig, DispatchSettings
from .contracts import service as contracts
from .jobs import service as jobs
from .plans import service as plans
from .retention import service as retention
from .sla import service as sla
from .spares import service as spares

Job = Callable[[], Awaitable[None]]
Step = Callable[[AsyncSession, DispatchConfig], Awaitable[int]]

STEPS: tuple[Step, ...] = (
    lambda s, cfg: jobs.expire_offers(s, cfg, clock.now()),
    lambda s, cfg: jobs.retry_queue(s, cfg, clock.now()),
    lambda s, cfg: sla.check_routing(s, cfg, clock.now()),
    # issue 14: tomorrow planned each evening, disruptions re-planned (debounced), those plans published
    lambda s, cfg: jobs.flag_overruns(s, cfg, clock.now()),
    lambda s, cfg: plans.plan_tomorrow(s, cfg, clock.now()),
    lambda s, cfg: plans.request_due_replans(s, cfg, clock.now()),
    lambda s, cfg: plans.publish_automatic(s, cfg, clock.now()),
    lambda s, cfg: spares.remind_overdue(s, clock.now()),  # issue 16, R-S6: a lent spare past its due-back time
)


async def watch_sla(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """One pass of the SLA watcher at ``now``: every open job whose next warning or breach is due, batch after
    batch in ``(next_due_at, id)`` order, each batch its own unit of work; the alerts emitted."""
    emitted, after = 0, None
    while True:
        async with unit_of_work(sessions) as session:
            batch = await sla.scan_sla_batch(session, now, after=after)
        emitted += batch.emitted
        if batch.after is None:
            return emitted
        after = batch.after


async def retain(sessions: async_sessionmaker[AsyncSession], cfg: DispatchConfig,
                 settings: DispatchSettings) -> dict[str, Any] | None:
    """R-T4: the clock's business day's retention run, batch after batch within its wall-time budget (None: today's
    run had already finished; tests call it)."""
    return await retention.run_day(sessions, today=clock.business_today(), now=clock.now(),
                                   defaults=contracts.defaults_of(cfg), batch_size=settings.retention_batch_size,
                                   max_seconds=settings.retention_max_seconds)


def background_jobs(settings: DispatchSettings, cfg: DispatchConfig) -> Callable[[FastAPI], list[Job]]:
    """The service's periodic jobs (none when ``run_background`` is off)."""

    def jobs_of(app: FastAPI) -> list[Job]:
        if not settings.run_background or settings.planner_only:
            return []

        async def tick() -> None:
            for step in STEPS:
                async with unit_of_work(app.state.sessions) as session:
                    await step(session, cfg)
            await watch_sla(app.state.sessions, clock.now())
            await asyncio.sleep(settings.background_interval_seconds)

        async def retention_job() -> None:  # R-T4: daily, once across replicas (retention_runs.run_on)
            await retain(app.state.sessions, cfg, settings)
            await asyncio.sleep(settings.retention_every_seconds)

        return [tick, retention_job]

    return jobs_of
