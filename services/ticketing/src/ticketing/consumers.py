"""Integration events ticketing consumes: dispatch's job lifecycle drives ticket status (one unit of work each).

Each handler makes one call into ``tickets/service.py``; which move a job step makes is
``domain/ticket_lifecycle.JOB_STEP_MOVES``. JobCompleted also adds the repair to the unit's history (R-W5, R-W8)
and creates the callback task (R-T5). Only the job of the ticket's current visit moves it (see the service).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.app import ConsumerSpec
from aftersales_shared.config import ServiceSettings
from aftersales_shared.events import IntegrationEvent
from aftersales_shared.events.dispatch import (
    JOB_TOPIC,
    JobAccepted,
    JobArrived,
    JobAssigned,
    JobCancelled,
    JobCompleted,
    JobCreated,
    JobDeclined,
    JobDiagnosed,
    JobEnRoute,
    JobPaused,
    JobRemoteResolved,
    JobResumed,
)
from aftersales_shared.events.parts import CATALOG_TOPIC, PartChanged

from .catalog import service as catalog
from .coverage import service as coverage
from .tickets import service

Handler = Callable[[AsyncSession, IntegrationEvent], Awaitable[None]]


def _ticket_id(event: IntegrationEvent) -> UUID | None:
    try:
        return UUID(event.payload.ticket_id)
    except ValueError:
        return None


def _actor(event: IntegrationEvent) -> str:
    engineer = getattr(event.payload, "engineer_id", None)
    return f"dispatch:{engineer}" if engineer else "dispatch"


async def on_job_step(session: AsyncSession, event: IntegrationEvent) -> None:
    """Assigned/accepted/declined/en_route/arrived/paused/resumed/cancelled: move the ticket accordingly."""
    if (tid := _ticket_id(event)) is not None:
        p = event.payload
        await service.follow_job_step(session, ticket_id=tid, visit=p.visit, step=event.type, job_id=p.job_id,
                                      actor=_actor(event), reason=getattr(p, "reason", None), at=p.at)


async def on_job_created(session: AsyncSession, event: IntegrationEvent) -> None:
    """Remember which dispatch job serves the ticket."""
    if (tid := _ticket_id(event)) is not None:
        await service.remember_job(session, ticket_id=tid, visit=event.payload.visit, job_id=event.payload.job_id)


async def on_job_remote_resolved(session: AsyncSession, event: IntegrationEvent) -> None:
    """Resolved without a visit: close the ticket."""
    if (tid := _ticket_id(event)) is not None:
        await service.close_remotely_resolved(session, ticket_id=tid, visit=event.payload.visit, at=event.payload.at)


async def on_job_diagnosed(session: AsyncSession, event: IntegrationEvent) -> None:
    """The engineer's diagnosis re-determines the ticket's coverage (issue 15, R-W3/R-T3)."""
    await coverage.apply_diagnosis(session, event.payload)


async def on_job_completed(session: AsyncSession, event: IntegrationEvent) -> None:
    """Repair history (R-W5/R-W8), callback task (R-T5), ticket closed."""
    p = event.payload
    await service.complete_job(
        session, ticket_id=_ticket_id(event), visit=p.visit, job_id=p.job_id, serial=p.serial,
        engineer_id=p.engineer_id, dealer_id=p.dealer_id, parts=[u.part_no for u in p.parts_used],
        component=p.components[0] if p.components else None, components=list(p.components), outcome=p.outcome,
        in_warranty=p.coverage in ("warranty", "extended"), at=p.at)


HANDLERS: dict[str, Handler] = {
    JobCreated.TYPE: on_job_created,
    JobAssigned.TYPE: on_job_step,
    JobAccepted.TYPE: on_job_step,
    JobDeclined.TYPE: on_job_step,
    JobEnRoute.TYPE: on_job_step,
    JobArrived.TYPE: on_job_step,
    JobPaused.TYPE: on_job_step,
    JobResumed.TYPE: on_job_step,
    JobCancelled.TYPE: on_job_step,
    JobRemoteResolved.TYPE: on_job_remote_resolved,
    JobCompleted.TYPE: on_job_completed,
    JobDiagnosed.TYPE: on_job_diagnosed,
}
"""Every dispatch event ticketing acts on (others on the topic are skipped); the steps are JOB_STEP_MOVES."""


async def on_part_changed(session: AsyncSession, event: IntegrationEvent) -> None:
    """Issue 15: the parts catalogue announced a part; component lists name only catalogue part numbers."""
    await catalog.part_changed(session, event.payload, clock.now())


CATALOG_HANDLERS: dict[str, Handler] = {PartChanged.TYPE: on_part_changed}
"""The parts catalogue (``parts.catalog.v1``): ticketing's read model of catalogue part numbers."""


def consumer_specs(settings: ServiceSettings) -> list[ConsumerSpec]:
    """The consumer groups of the ticketing service."""
    return [ConsumerSpec(name="dispatch-jobs", topics=[JOB_TOPIC], handlers=HANDLERS),
            ConsumerSpec(name="parts-catalog", topics=[CATALOG_TOPIC], handlers=CATALOG_HANDLERS)]
