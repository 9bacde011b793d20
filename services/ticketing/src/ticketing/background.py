"""Periodic jobs of the ticketing service: each step one unit of work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

from aftersales_shared import clock
from aftersales_shared.auth import Principal, Role
from aftersales_shared.db import unit_of_work
from aftersales_shared.errors import DomainError

from .maintenance import service as pm_service
from .retention import service as retention
from .terms.service import record_defaults
from .tickets import service as tickets_service
from .tickets.hotpath import Intake, MaintenanceWindow, Opened, Replayed
from .tickets.schemas import TicketCreate

log = logging.getLogger(__name__)
BACKLOG_REFRESH_SECONDS = 15
PM_STEP_SECONDS = 5
PM_ACTOR = Principal(sub="ticketing:pm", roles=frozenset({Role.ADMIN}))


async def pm_step(app: FastAPI) -> None:
    """Preventive maintenance (R-S10), clock-driven: generate the periods due (once per plan, unit and period),
    open the visits' maintenance tickets, mark windows closed without a result as missed."""
    now, today = clock.now(), clock.business_today()
    async with unit_of_work(app.state.sessions) as session:
        await pm_service.generate(session, today=today, now=now)
    async with app.state.sessions() as session:
        pending = await pm_service.to_schedule(session)
    for occ in pending:
        body = pm_service.ticket_body(occ)
        if body is None:
            log.warning("PM occurrence %s: unit %s has no contact to visit; left due", occ["id"], occ["serial"])
            continue
        item = Intake.of(TicketCreate.model_validate(body), PM_ACTOR, f"pm-{occ['id']}")
        item.maintenance = MaintenanceWindow(occ["window_start"], occ["window_end"])
        try:
            outcome = await app.state.intake.submit(item)
        except DomainError as exc:
            log.warning("PM occurrence %s: maintenance ticket refused: %s", occ["id"], exc)
            continue
        if isinstance(outcome, Opened | Replayed):
            ticket_id = pm_service.ticket_id_of(outcome.response)
            async with unit_of_work(app.state.sessions) as session:
                await pm_service.mark_scheduled(session, occurrence_id=occ["id"], ticket_id=ticket_id)
    async with unit_of_work(app.state.sessions) as session:
        await pm_service.miss_overdue(session, now=clock.now())


async def retain(app: FastAPI) -> dict[str, Any] | None:
    """R-T4: the clock's business day's retention run, batch after batch within its wall-time budget (None: today's
    run had already finished; tests call it)."""
    settings = app.state.settings
    return await retention.run_day(app.state.sessions, today=clock.business_today(), now=clock.now(),
                                   defaults=record_defaults(settings), batch_size=settings.retention_batch_size,
                                   max_seconds=settings.retention_max_seconds)


def jobs(app: FastAPI) -> list[Callable[[], Awaitable[None]]]:
    """The periodic jobs ``create_service_app`` runs (forever, logging failures)."""

    async def refresh_backlog() -> None:
        """Open backlog by status for the dashboards; the database is the truth, so read it."""
        async with app.state.sessions() as session:
            await tickets_service.refresh_open_backlog(session)
        await asyncio.sleep(BACKLOG_REFRESH_SECONDS)

    async def preventive_maintenance() -> None:
        await pm_step(app)
        await asyncio.sleep(PM_STEP_SECONDS)

    async def retention_job() -> None:
        await retain(app)
        await asyncio.sleep(app.state.settings.retention_every_seconds)

    return [refresh_backlog, preventive_maintenance, retention_job]
