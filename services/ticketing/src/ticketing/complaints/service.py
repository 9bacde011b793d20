"""Complaint use cases (flush, never commit); the moves are ``domain/complaint_lifecycle.py``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.events.ticketing import ComplaintFiled, ComplaintResolved
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from ..access import dealer_filter
from ..domain.complaint_lifecycle import MOVES, is_overdue
from ..metrics import COMPLAINTS
from ..models import complaints, tickets
from ..terms.service import terms_on
from .schemas import ComplaintCreate, ComplaintResolve

_FILE, _RESOLVE = MOVES["file"], MOVES["resolve"]


def _read(row: Any, now: datetime) -> dict[str, Any]:
    return {**row, "overdue": is_overdue(row["status"], row["respond_by"], now)}


async def file_complaint(session: AsyncSession, *, complaint: ComplaintCreate, viewer: Principal,
                         configured_hours: Mapping[str, int], now: datetime) -> dict[str, Any]:
    """Log a complaint due within the response hours of its category (R-T6) in force on the day it is filed for
    the ticket's customer service contract (``terms/``; no ticket or no contract: the configured hours); the
    ticket's dealer when none is named. The ticket must be one the caller may see (``access.dealer_filter``); an
    unknown one is 422 on ``ticket_id``."""
    dealer, contract = complaint.dealer_id, None
    if complaint.ticket_id:
        t = (await session.execute(sa.select(tickets.c.dealer_id, tickets.c.contract_code).where(
            tickets.c.id == complaint.ticket_id, dealer_filter(viewer, tickets.c.dealer_id)))).first()
        if t is None:
            raise Unprocessable(f"ticket {complaint.ticket_id} not found", field="ticket_id")
        dealer, contract = dealer or t.dealer_id, t.contract_code
    terms = await terms_on(session, contract_code=contract, on=clock.business_date(now), configured=configured_hours)
    response_hours = terms.hours_for(complaint.category)
    row = (await session.execute(sa.insert(complaints).values(
        id=new_id(), ticket_id=complaint.ticket_id, dealer_id=dealer, category=complaint.category,
        description=complaint.description, status=_FILE.to, filed_by=viewer.sub, filed_at=now,
        respond_by=now + timedelta(hours=response_hours)).returning(*complaints.c))).mappings().one()
    await add_events(session, ComplaintFiled(aggregate_id=str(row["id"]), payload={
        "complaint_id": str(row["id"]), "ticket_id": str(row["ticket_id"]) if row["ticket_id"] else None,
        "dealer_id": dealer, "category": complaint.category, "filed_at": now, "respond_by": row["respond_by"]}))
    COMPLAINTS.labels("filed").inc()
    return _read(row, now)


async def resolve_complaint(session: AsyncSession, *, complaint_id: UUID, resolution: ComplaintResolve,
                            viewer: Principal, now: datetime) -> dict[str, Any]:
    """Resolve an open complaint: upheld or not, against whom."""
    visible = dealer_filter(viewer, complaints.c.dealer_id)
    row = (await session.execute(sa.update(complaints).where(complaints.c.id == complaint_id, visible,
                                                             complaints.c.status.in_(_RESOLVE.allowed_from))
                                 .values(status=_RESOLVE.to, resolved_at=now, **resolution.model_dump())
                                 .returning(*complaints.c))).mappings().first()
    if row is None:
        if (await session.execute(sa.select(complaints.c.id).where(complaints.c.id == complaint_id, visible))
                ).scalar():
            raise Conflict("the complaint is already resolved", field="status", code="invalid_transition")
        raise NotFound(f"complaint {complaint_id} not found", field="complaint_id")
    await add_events(session, ComplaintResolved(aggregate_id=str(complaint_id), payload={
        "complaint_id": str(complaint_id), "ticket_id": str(row["ticket_id"]) if row["ticket_id"] else None,
        "dealer_id": row["dealer_id"], "upheld": resolution.upheld, "against": resolution.against,
        "resolved_at": now}))
    COMPLAINTS.labels("resolved").inc()
    return _read(row, now)


async def list_complaints(session: AsyncSession, *, viewer: Principal, dealer_id: str | None, status: str | None,
                          overdue: bool, now: datetime) -> list[dict[str, Any]]:
    """The complaints this caller may see, newest first (at most 500)."""
    where = [dealer_filter(viewer, complaints.c.dealer_id, dealer_id)]
    if status:
        where.append(complaints.c.status == status)
    if overdue:
        where += [complaints.c.status == "open", complaints.c.respond_by < now]
    rows = (await session.execute(sa.select(complaints).where(*where).order_by(complaints.c.filed_at.desc())
                                  .limit(500))).mappings().all()
    return [_read(r, now) for r in rows]


async def get_complaint(session: AsyncSession, *, complaint_id: UUID, viewer: Principal,
                        now: datetime) -> dict[str, Any]:
    """One complaint this caller may see."""
    row = (await session.execute(sa.select(complaints).where(
        complaints.c.id == complaint_id, dealer_filter(viewer, complaints.c.dealer_id)))).mappings().first()
    if row is None:
        raise NotFound(f"complaint {complaint_id} not found", field="complaint_id")
    return _read(row, now)
