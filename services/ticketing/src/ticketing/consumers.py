"""Integration events ticketing consumes: dispatch's job lifecycle drives ticket status (one unit of work each).

JobCompleted also adds the repair to the unit's history (R-W5, R-W8) and creates the callback task (R-T5).
A reopened ticket is dispatched again as a new job with the next visit number: only the job of the ticket's
current visit moves it, so a late event of an earlier visit's job cannot drag a reopened ticket backwards.
"""

from __future__ import annotations

import logging
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.app import ConsumerSpec
from aftersales_shared.config import ServiceSettings
from aftersales_shared.events import IntegrationEvent
from aftersales_shared.events.dispatch import JOB_TOPIC
from aftersales_shared.ids import new_id

from .api.tickets import close_ticket, current_visit, transition
from .domain.warranty import UNIT
from .metrics import CALLBACKS
from .models import OPEN_STATUSES, callbacks, tickets, unit_repairs
from .api.units import SHANGHAI

log = logging.getLogger(__name__)

# dispatch step -> ticket status; any open ticket may move (events of one job arrive in order per partition).
STEP_STATUS = {
    "dispatch.job.assigned": "assigned",
    "dispatch.job.accepted": "assigned",
    "dispatch.job.declined": "open",
    "dispatch.job.en_route": "en_route",
    "dispatch.job.arrived": "on_site",
    "dispatch.job.paused": "paused",
    "dispatch.job.resumed": "on_site",
    "dispatch.job.cancelled": "open",
}


def _ticket_id(event: IntegrationEvent) -> UUID | None:
    try:
        return UUID(event.payload.ticket_id)
    except ValueError:
        return None


async def _serves_current_visit(session: AsyncSession, tid: UUID, event: IntegrationEvent) -> bool:
    """Whether the event's job is the ticket's current dispatch (checked under the ticket's row lock)."""
    found = (await session.execute(sa.select(tickets.c.id).where(tickets.c.id == tid).with_for_update())).first()
    if found is None:
        return False
    current = await current_visit(session, tid)
    if event.payload.visit != current:
        log.info("job event %s of visit %s ignored: ticket %s is on visit %s", event.type, event.payload.visit, tid,
                 current)
        return False
    return True


async def on_job_step(session: AsyncSession, event: IntegrationEvent) -> None:
    """Move the ticket to the status the job step implies, keeping who/when."""
    tid = _ticket_id(event)
    if tid is None or not await _serves_current_visit(session, tid, event):
        return
    p = event.payload
    actor = f"dispatch:{p.engineer_id}" if getattr(p, "engineer_id", None) else "dispatch"
    moved = await transition(session, ticket_id=tid, to=STEP_STATUS[event.type], allowed_from=OPEN_STATUSES,
                             actor=actor, reason=getattr(p, "reason", None) or event.type, at=p.at, job_id=p.job_id)
    if moved is None:
        log.info("job event %s left ticket %s unchanged", event.type, tid)


async def on_job_created(session: AsyncSession, event: IntegrationEvent) -> None:
    """Remember which dispatch job serves the ticket."""
    tid = _ticket_id(event)
    if tid is not None and await _serves_current_visit(session, tid, event):
        await session.execute(sa.update(tickets).where(tickets.c.id == tid).values(job_id=event.payload.job_id))


async def on_remote_resolved(session: AsyncSession, event: IntegrationEvent) -> None:
    tid = _ticket_id(event)
    if tid is not None and await _serves_current_visit(session, tid, event):
        await close_ticket(session, ticket_id=tid, actor="dispatch", outcome="remote_resolved", at=event.payload.at)


async def on_job_completed(session: AsyncSession, event: IntegrationEvent) -> None:
    """Repair history (R-W5/R-W8), callback task (R-T5), ticket closed."""
    p = event.payload
    tid = _ticket_id(event)
    ticket = (await session.execute(sa.select(tickets.c.id, tickets.c.dealer_id, tickets.c.component)
                                    .where(tickets.c.id == tid))).first() if tid else None
    completed_on = p.at.astimezone(SHANGHAI).date()
    await session.execute(pg_insert(unit_repairs).values(
        id=new_id(), serial=p.serial, job_id=p.job_id, ticket_id=ticket.id if ticket else None,
        completed_on=completed_on, component=ticket.component if ticket else UNIT,
        parts_replaced=[u.part_no for u in p.parts_used], in_warranty=p.coverage in ("warranty", "extended"),
    ).on_conflict_do_nothing(index_elements=["job_id"]))
    if ticket is None:
        log.warning("completed job %s names unknown ticket %s; repair recorded on serial only", p.job_id, p.ticket_id)
        return
    if not await _serves_current_visit(session, ticket.id, event):
        return  # the repair happened and is on record; the reopened ticket waits for its own job
    created = (await session.execute(pg_insert(callbacks).values(
        id=new_id(), ticket_id=ticket.id, job_id=p.job_id, dealer_id=p.dealer_id or ticket.dealer_id,
        repair_completed_at=p.at, status="pending",
    ).on_conflict_do_nothing(index_elements=["job_id"]).returning(callbacks.c.id))).first()
    if created:
        CALLBACKS.labels("created").inc()
    await close_ticket(session, ticket_id=ticket.id, actor=f"dispatch:{p.engineer_id or 'job'}",
                       outcome="repaired", at=p.at)


def consumer_specs(settings: ServiceSettings) -> list[ConsumerSpec]:
    """The consumer groups of the ticketing service."""
    handlers = {t: on_job_step for t in STEP_STATUS}
    handlers.update({"dispatch.job.created": on_job_created, "dispatch.job.completed": on_job_completed,
                     "dispatch.job.remote_resolved": on_remote_resolved})
    return [ConsumerSpec(name="dispatch-jobs", topics=[JOB_TOPIC], handlers=handlers)]
