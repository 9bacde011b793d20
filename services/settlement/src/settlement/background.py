"""Periodic jobs of the settlement service: each step is one unit of work (the metrics read-only; R-D7's
monthly assessment issued from the 1st, late after an outage, never skipped; the R-T4 retention job archives,
once per business day, what is past each dealer's retention term)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work

from .assessments.service import issue_due
from .metrics import refresh
from .retention import service as retention
from .terms.service import defaults_of

METRICS_EVERY_S = 30


async def retain(app: FastAPI) -> dict[str, Any] | None:
    """The clock's business day's retention run, batch after batch within its wall-time budget (None: today's run
    had already finished; tests call it)."""
    settings = app.state.settings
    return await retention.run_day(app.state.sessions, today=clock.business_today(), now=clock.now(),
                                   defaults=defaults_of(settings), batch_size=settings.retention_batch_size,
                                   max_seconds=settings.retention_max_seconds)


def jobs(app: FastAPI) -> list[Callable[[], Awaitable[None]]]:
    """The jobs ``create_service_app`` runs forever (a failing step is logged and retried)."""
    async def refresh_metrics() -> None:
        await refresh(app)
        await asyncio.sleep(METRICS_EVERY_S)

    async def issue_assessments() -> None:
        """R-D7: from the 1st of a month, last month's assessment to every dealer, once (clock-driven); by the
        dealer's day of its terms, or late after an outage — never skipped."""
        settings = app.state.settings
        async with unit_of_work(app.state.sessions) as session:
            n = await issue_due(session, today=clock.business_today(), now=clock.now(),
                                catch_up=settings.assessment_catch_up_months, defaults=defaults_of(settings))
        if n == 0:
            await asyncio.sleep(settings.assessment_issue_every_s)

    async def retention_job() -> None:
        await asyncio.sleep(app.state.settings.retention_every_seconds)
        await retain(app)

    return [refresh_metrics, issue_assessments, retention_job]
