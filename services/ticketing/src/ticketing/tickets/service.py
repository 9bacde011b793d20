"""Ticket use cases (flush, never commit): read, the lifecycle's moves (``domain/ticket_lifecycle.py``), and
following dispatch's jobs. Intake is the group-committed ``hotpath.py``.

A reopened ticket is dispatched again as a new job with the next visit number: only the job of the ticket's
current visit moves it, so a late event of an earlier visit's job cannot drag a reopened ticket backwards.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, NotFound
from aftersales_shared.events.ticketing import (
    TicketCancelled,
    TicketClosed,
    TicketOpenedPayload,
    TicketReopened,
    TicketStatusChanged,
)
from aftersales_shared.outbox import add_events

from ..access import dealer_filter, with_contact
from ..callbacks import service as callbacks_service
from ..domain.ticket_lifecycle import JOB_STEP_MOVES, MOVES, OPEN_STATUSES, REOPENABLE, can_move, visit_number
from ..metrics import OPEN_BACKLOG
from ..models import product_lines, reported_time_audit, ticket_transitions, tickets
from ..units import service as units_service
from .hotpath import duplicate_problem

log = logging.getLogger(__name__)


def ticket_read(viewer: Principal, row: Any) -> dict[str, Any]:
    """A ticket row as this caller may see it (phone, name and address masked by role, R-T7)."""
    return with_contact(viewer, row)


async def find_visible(session: AsyncSession, viewer: Principal, ref: str) -> dict[str, Any]:
    """The ticket (by id or number) if the caller may see it; 404 otherwise."""
    return await _visible(session, viewer, ref)


async def _visible(session: AsyncSession, viewer: Principal, ref: str) -> dict[str, Any]:
    cond = tickets.c.ticket_no == ref
    try:
        cond = tickets.c.id == UUID(ref)
    except ValueError:
        pass
    row = (await session.execute(sa.select(tickets).where(cond, dealer_filter(viewer, tickets.c.dealer_id)))
           ).mappings().first()
    if row is None:
        raise NotFound(f"ticket {ref} not found", field="ticket")
    return dict(row)


async def get_ticket(session: AsyncSession, *, ref: str, viewer: Principal) -> dict[str, Any]:
    """One ticket (by id or number) with its transition history and its report-time audit (issue 15, R-S7)."""
    row = await _visible(session, viewer, ref)
    history = (await session.execute(sa.select(ticket_transitions).where(ticket_transitions.c.ticket_id == row["id"])
                                     .order_by(ticket_transitions.c.id))).mappings().all()
    reported = (await session.execute(sa.select(reported_time_audit).where(
        reported_time_audit.c.ticket_id == row["id"]).order_by(reported_time_audit.c.id))).mappings().all()
    return {**ticket_read(viewer, row), "history": [dict(h) for h in history],
            "reported_time_audit": [dict(a) for a in reported]}


async def contact_to_notify(session: AsyncSession, *, ref: str, viewer: Principal) -> dict[str, Any]:
    """One ticket's customer contact, in clear, for the notifications service that messages the customer (R-T7:
    one ticket at a time, named by id or number; the route admits the notifier alone)."""
    row = await _visible(session, viewer, ref)
    return {k: row[k] for k in ("id", "ticket_no", "dealer_id", "status", "customer_name", "phone", "address")}


async def open_ticket_of(session: AsyncSession, serial: str) -> Any:
    """The serial's open (not forced) ticket, if any."""
    return (await session.execute(
        sa.select(tickets.c.id, tickets.c.ticket_no, tickets.c.status)
        .where(tickets.c.serial == serial, tickets.c.status.in_(OPEN_STATUSES), tickets.c.force_reason.is_(None))
    )).mappings().first()


async def move_ticket(session: AsyncSession, *, ticket_id: UUID, move: str, actor: str, reason: str | None,
                      at: datetime, **values: Any) -> Any:
    """Make ``move`` if the ticket's status allows it (row locked); history row and status event in the same
    unit of work. None when the move does not apply."""
    old = (await session.execute(sa.select(tickets.c.status).where(tickets.c.id == ticket_id).with_for_update())
           ).scalar()
    if not can_move(old, move):
        return None
    to = MOVES[move].to
    row = (await session.execute(sa.update(tickets).where(tickets.c.id == ticket_id)
                                 .values(status=to, updated_at=at, **values).returning(*tickets.c))).mappings().one()
    await session.execute(sa.insert(ticket_transitions).values(ticket_id=ticket_id, from_status=old, to_status=to,
                                                               actor=actor, reason=reason, at=at))
    await add_events(session, TicketStatusChanged(aggregate_id=str(ticket_id), payload={
        "ticket_id": str(ticket_id), "from_status": old, "to_status": to, "actor": actor, "reason": reason,
        "changed_at": at}))
    return row


async def close_ticket(session: AsyncSession, *, ticket_id: UUID, actor: str, outcome: str, at: datetime) -> Any:
    """Close an open ticket (repair done) and announce it."""
    row = await move_ticket(session, ticket_id=ticket_id, move="close", actor=actor, reason=outcome, at=at,
                            closed_at=at)
    if row is not None:
        await add_events(session, TicketClosed(aggregate_id=str(ticket_id), payload={
            "ticket_id": str(ticket_id), "dealer_id": row["dealer_id"], "outcome": outcome, "closed_at": at}))
    return row


async def cancel_ticket(session: AsyncSession, *, ref: str, viewer: Principal, reason: str,
                        now: datetime) -> dict[str, Any]:
    """Cancel an open ticket; 409 when it is not open."""
    current = await _visible(session, viewer, ref)
    row = await move_ticket(session, ticket_id=current["id"], move="cancel", actor=viewer.sub, reason=reason, at=now,
                            closed_at=now)
    if row is None:
        raise Conflict(f"ticket {current['ticket_no']} is {current['status']} and cannot be cancelled",
                       field="status", code="invalid_transition")
    await add_events(session, TicketCancelled(aggregate_id=str(row["id"]), payload={
        "ticket_id": str(row["id"]), "reason": reason, "cancelled_at": now}))
    return ticket_read(viewer, row)


async def reopen_ticket(session: AsyncSession, *, ref: str, viewer: Principal, reason: str,
                        now: datetime) -> dict[str, Any]:
    """Reopen a closed or cancelled ticket and ask dispatch for the next visit (TicketReopened)."""
    current = await _visible(session, viewer, ref)
    if current["status"] in OPEN_STATUSES:
        raise Conflict(f"ticket {current['ticket_no']} is already open", field="status", code="invalid_transition")
    if current["force_reason"] is None and (other := await open_ticket_of(session, current["serial"])):
        raise duplicate_problem(other)
    # the finished job is no longer the ticket's job: the reopened visit's job will be remembered when it exists
    row = await move_ticket(session, ticket_id=current["id"], move="reopen", actor=viewer.sub, reason=reason, at=now,
                            closed_at=None, job_id=None)
    if row is None:
        raise Conflict("the ticket changed meanwhile; read it again", field="status", code="invalid_transition")
    skill = (await session.execute(sa.select(product_lines.c.required_skill)
                                   .where(product_lines.c.code == row["product_line"]))).scalar_one()
    await add_events(session, TicketReopened(aggregate_id=str(row["id"]), payload={
        **{k: row[k] for k in TicketOpenedPayload.model_fields if k in row},
        "ticket_id": str(row["id"]), "required_skill": skill, "visit": await current_visit(session, row["id"]),
        "reason": reason, "reopened_at": now}))
    return ticket_read(viewer, row)


async def current_visit(session: AsyncSession, ticket_id: UUID) -> int:
    """The ticket's dispatch number: 1, plus one per reopen recorded in its history."""
    t = ticket_transitions.c
    reopens = (await session.execute(sa.select(sa.func.count()).select_from(ticket_transitions).where(
        t.ticket_id == ticket_id, t.from_status.in_(REOPENABLE), t.to_status == "open"))).scalar_one()
    return visit_number(reopens)


async def _serves_current_visit(session: AsyncSession, ticket_id: UUID, visit: int, what: str) -> bool:
    """Whether a job event of ``visit`` is about the ticket's current dispatch (checked under its row lock)."""
    found = (await session.execute(sa.select(tickets.c.id).where(tickets.c.id == ticket_id).with_for_update())
             ).first()
    if found is None:
        return False
    current = await current_visit(session, ticket_id)
    if visit != current:
        log.info("job event %s of visit %s ignored: ticket %s is on visit %s", what, visit, ticket_id, current)
        return False
    return True


async def follow_job_step(session: AsyncSession, *, ticket_id: UUID, visit: int, step: str, job_id: str,
                          actor: str, reason: str | None, at: datetime) -> None:
    """Move the ticket as its current job's ``step`` (a dispatch event type) implies, keeping who/when."""
    if not await _serves_current_visit(session, ticket_id, visit, step):
        return
    if await move_ticket(session, ticket_id=ticket_id, move=JOB_STEP_MOVES[step], actor=actor, reason=reason or step,
                         at=at, job_id=job_id) is None:
        log.info("job event %s left ticket %s unchanged", step, ticket_id)


async def remember_job(session: AsyncSession, *, ticket_id: UUID, visit: int, job_id: str) -> None:
    """Remember which dispatch job serves the ticket's current visit."""
    if await _serves_current_visit(session, ticket_id, visit, "dispatch.job.created"):
        await session.execute(sa.update(tickets).where(tickets.c.id == ticket_id).values(job_id=job_id))


async def close_remotely_resolved(session: AsyncSession, *, ticket_id: UUID, visit: int, at: datetime) -> None:
    """The current job was resolved remotely: close the ticket."""
    if await _serves_current_visit(session, ticket_id, visit, "dispatch.job.remote_resolved"):
        await close_ticket(session, ticket_id=ticket_id, actor="dispatch", outcome="remote_resolved", at=at)


async def complete_job(session: AsyncSession, *, ticket_id: UUID | None, visit: int, job_id: str, serial: str,
                       engineer_id: str | None, dealer_id: str | None, parts: list[str], in_warranty: bool,
                       at: datetime, component: str | None = None, outcome: str = "repaired",
                       components: list[str] | None = None) -> None:
    """A repair was completed: repair history (R-W5/R-W8) under the diagnosed ``component`` (the intake's guess
    when the engineer recorded none), the callback task (R-T5), the ticket closed. A job closed because the
    customer declined a paid repair's quote (``outcome="quote_declined"``, issue 15) repaired nothing: the ticket
    closes with that outcome, without a repair on record or a callback."""
    repaired = outcome == "repaired"
    ticket = (await session.execute(sa.select(tickets.c.id, tickets.c.dealer_id, tickets.c.component)
                                    .where(tickets.c.id == ticket_id))).first() if ticket_id else None
    if repaired:
        await units_service.record_repair(
            session, serial=serial, job_id=job_id, ticket_id=ticket.id if ticket else None,
            component=component or (ticket.component if ticket else None), parts=parts, in_warranty=in_warranty,
            at=at, components=components)
    if ticket is None:
        log.warning("completed job %s names unknown ticket %s; repair recorded on serial only", job_id, ticket_id)
        return
    if not await _serves_current_visit(session, ticket.id, visit, "dispatch.job.completed"):
        return  # the repair happened and is on record; the reopened ticket waits for its own job
    if repaired:
        await callbacks_service.create_for_repair(session, ticket_id=ticket.id, job_id=job_id,
                                                  dealer_id=dealer_id or ticket.dealer_id, completed_at=at)
    await close_ticket(session, ticket_id=ticket.id, actor=f"dispatch:{engineer_id or 'job'}", outcome=outcome,
                       at=at)


async def refresh_open_backlog(session: AsyncSession) -> None:
    """Set the open-backlog gauge per open status from the database (dashboards)."""
    rows = (await session.execute(
        sa.select(tickets.c.status, sa.func.count()).where(tickets.c.status.in_(OPEN_STATUSES))
        .group_by(tickets.c.status))).all()
    counts: dict[str, int] = {status: n for status, n in rows}
    for status in OPEN_STATUSES:
        OPEN_BACKLOG.labels(status).set(counts.get(status, 0))
