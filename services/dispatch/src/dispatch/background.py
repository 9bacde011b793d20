"""Periodic jobs: offer expiry, queue retry, the R-S8 routing check and SLA alerts.

Each step is one unit of work calling one service function with ``clock.now()`` (so a moved development
clock moves them too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work

from .config import DispatchConfig, DispatchSettings
from .jobs import service as jobs
from .sla import service as sla

Job = Callable[[], Awaitable[None]]
Step = Callable[[AsyncSession, DispatchConfig], Awaitable[int]]

STEPS: tuple[Step, ...] = (
    lambda s, cfg: jobs.expire_offers(s, cfg, clock.now()),
    lambda s, cfg: jobs.retry_queue(s, cfg, clock.now()),
    lambda s, cfg: sla.check_routing(s, cfg, clock.now()),
    lambda s, _cfg: sla.scan_sla(s, clock.now()),
)


def background_jobs(settings: DispatchSettings, cfg: DispatchConfig) -> Callable[[FastAPI], list[Job]]:
    """The service's periodic jobs (none when ``run_background`` is off)."""

    def jobs_of(app: FastAPI) -> list[Job]:
        if not settings.run_background or settings.planner_only:
            return []

        async def tick() -> None:
            for step in STEPS:
                async with unit_of_work(app.state.sessions) as session:
                    await step(session, cfg)
            await asyncio.sleep(settings.background_interval_seconds)

        return [tick]

    return jobs_of
