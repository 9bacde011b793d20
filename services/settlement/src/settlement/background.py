"""Periodic jobs of the settlement service: each step is one unit of work (the metrics read-only; the R-T4
retention job archives, once per business day, what is past each dealer's retention term)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work

from .metrics import refresh
from .retention import service as retention
from .terms.service import defaults_of

METRICS_EVERY_S = 30


async def retain(app: FastAPI) -> dict[str, Any] | None:
    """One retention step on the clock's business day (None: today's run already happened; tests call it)."""
    async with unit_of_work(app.state.sessions) as s:
        return await retention.run_day(s, today=clock.business_today(), now=clock.now(),
                                       defaults=defaults_of(app.state.settings))


def jobs(app: FastAPI) -> list[Callable[[], Awaitable[None]]]:
    """The jobs ``create_service_app`` runs forever (a failing step is logged and retried)."""
    async def refresh_metrics() -> None:
        await refresh(app)
        await asyncio.sleep(METRICS_EVERY_S)

    async def retention_job() -> None:
        await asyncio.sleep(app.state.settings.retention_every_seconds)
        await retain(app)

    return [refresh_metrics, retention_job]
