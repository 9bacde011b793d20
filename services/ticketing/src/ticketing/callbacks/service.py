"""Callback use cases (flush, never commit); the moves are ``domain/callback_lifecycle.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, NotFound
from aftersales_shared.events.ticketing import CallbackRecorded
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from ..access import dealer_filter, visible_dealer
from ..domain.callback_lifecycle import CALLBACK_TARGET, MOVES
from ..metrics import CALLBACKS
from ..models import callbacks, tickets
from .queries import dealer_month_rows
from .schemas import CallbackOutcome, SatisfactionIn

_CREATE, _RECORD = MOVES["create"], MOVES["record"]


async def create_for_repair(session: AsyncSession, *, ticket_id: UUID, job_id: str, dealer_id: str | None,
                            completed_at: datetime) -> None:
    """The callback task of a completed repair (R-T5): one per job, so a reopened ticket gets one per visit."""
    created = (await session.execute(pg_insert(callbacks).values(
        id=new_id(), ticket_id=ticket_id, job_id=job_id, dealer_id=dealer_id, repair_completed_at=completed_at,
        status=_CREATE.to,
    ).on_conflict_do_nothing(index_elements=["job_id"]).returning(callbacks.c.id))).first()
    if created:
        CALLBACKS.labels("created").inc()


async def list_callbacks(session: AsyncSession, *, viewer: Principal, status: str | None, dealer_id: str | None,
                         limit: int, ticket_id: UUID | None = None) -> list[dict[str, Any]]:
    """The callback tasks this caller may see, oldest repair first."""
    where = [dealer_filter(viewer, callbacks.c.dealer_id, dealer_id)]
    if status:
        where.append(callbacks.c.status == status)
    if ticket_id:
        where.append(callbacks.c.ticket_id == ticket_id)
    rows = (await session.execute(sa.select(callbacks).where(*where).order_by(callbacks.c.repair_completed_at)
                                  .limit(limit))).mappings().all()
    return [dict(r) for r in rows]


async def record_outcome(session: AsyncSession, *, callback_id: UUID, outcome: CallbackOutcome, viewer: Principal,
                         now: datetime) -> dict[str, Any]:
    """Record a pending callback's outcome once; emits CallbackRecorded."""
    visible = dealer_filter(viewer, callbacks.c.dealer_id)
    row = (await session.execute(sa.update(callbacks).where(callbacks.c.id == callback_id, visible,
                                                            callbacks.c.status.in_(_RECORD.allowed_from))
                                 .values(status=_RECORD.to, recorded_by=viewer.sub, recorded_at=now,
                                         **outcome.model_dump())
                                 .returning(*callbacks.c))).mappings().first()
    if row is None:
        if (await session.execute(sa.select(callbacks.c.id).where(callbacks.c.id == callback_id, visible))).scalar():
            raise Conflict("this callback is already recorded", field="callback_id", code="invalid_transition")
        raise NotFound(f"callback {callback_id} not found", field="callback_id")
    await add_events(session, CallbackRecorded(aggregate_id=str(row["ticket_id"]), payload={
        "ticket_id": str(row["ticket_id"]), "dealer_id": row["dealer_id"], "reached": outcome.reached,
        "fixed": outcome.fixed, "satisfaction": outcome.satisfaction, "recorded_at": now}))
    CALLBACKS.labels("recorded").inc()
    return dict(row)


async def record_satisfaction(session: AsyncSession, *, ticket_id: UUID, rating: SatisfactionIn,
                              viewer: Principal, now: datetime) -> dict[str, Any]:
    """The customer's rating completes the ticket's open callback (the latest repair's; R-T5): reached, with
    the score, comment and channel; emits CallbackRecorded. Idempotent: the same rating again answers the
    recorded callback and changes nothing; a different one after the callback is done is 409, as is a ticket
    with no completed repair yet."""
    visible = dealer_filter(viewer, tickets.c.dealer_id)
    if (await session.execute(sa.select(tickets.c.id).where(tickets.c.id == ticket_id, visible))).first() is None:
        raise NotFound(f"ticket {ticket_id} not found", field="ticket_id")
    open_one = (sa.select(callbacks.c.id).where(callbacks.c.ticket_id == ticket_id,
                                                 callbacks.c.status.in_(_RECORD.allowed_from))
                .order_by(callbacks.c.repair_completed_at.desc()).limit(1).with_for_update().scalar_subquery())
    row = (await session.execute(sa.update(callbacks).where(callbacks.c.id == open_one,
                                                            callbacks.c.status.in_(_RECORD.allowed_from))
                                 .values(status=_RECORD.to, reached=True, satisfaction=rating.score,
                                         comment=rating.comment, channel=rating.channel, recorded_by=viewer.sub,
                                         recorded_at=now)
                                 .returning(*callbacks.c))).mappings().first()
    if row is None:
        last = (await session.execute(sa.select(callbacks).where(callbacks.c.ticket_id == ticket_id)
                                      .order_by(callbacks.c.repair_completed_at.desc()).limit(1))).mappings().first()
        if last is None:
            raise Conflict("the ticket has no completed repair to rate yet", field="ticket_id", code="no_callback")
        if last["satisfaction"] == rating.score and last["channel"] == rating.channel:
            return dict(last)  # the same rating again (a retried request, a second click): nothing new
        raise Conflict("this ticket's callback is already recorded", field="ticket_id", code="invalid_transition")
    await add_events(session, CallbackRecorded(aggregate_id=str(ticket_id), payload={
        "ticket_id": str(ticket_id), "dealer_id": row["dealer_id"], "reached": True, "fixed": None,
        "satisfaction": rating.score, "recorded_at": now}))
    CALLBACKS.labels("recorded").inc()
    return dict(row)


async def dealer_monthly(session: AsyncSession, *, viewer: Principal, month: str,
                         dealer_id: str | None) -> dict[str, Any]:
    """Per dealer and month: callback rate vs the 25 % target (R-T5), satisfaction, complaint rate (R-T6)."""
    rows = await dealer_month_rows(session, month=month, dealer_id=visible_dealer(viewer, dealer_id))
    out = []
    for r in rows:
        rate = r["callbacks"] / r["repairs"] if r["repairs"] else None
        out.append({
            "dealer_id": r["dealer_id"], "repairs": r["repairs"], "callbacks": r["callbacks"],
            "callback_rate": round(rate, 4) if rate is not None else None, "callback_target": CALLBACK_TARGET,
            "meets_callback_target": rate is not None and rate >= CALLBACK_TARGET,
            "reached": r["reached"], "fixed_on_callback": r["fixed"],
            "satisfaction_avg": round(float(r["satisfaction"]), 2) if r["satisfaction"] is not None else None,
            "satisfaction_responses": r["rated"], "complaints": r["complaints"],
            "upheld_complaints": r["upheld_complaints"],
            "complaint_rate": round(r["complaints"] / r["repairs"], 4) if r["repairs"] else None,
        })
    return {"month": month, "dealers": out}
