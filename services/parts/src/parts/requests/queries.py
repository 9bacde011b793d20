"""Reading part requests: one row (scoped, optionally locked), the full view, listings, the ship-by watch list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import NotFound

from .. import access
from ..domain.request_lifecycle import OPEN
from ..models import request_lines as lines
from ..models import requests as rq
from ..models import reservations, shipments

_VIEW_FIELDS = ("requester_kind", "job_id", "ticket_id", "dealer_id", "engineer_id", "coverage", "urgent",
                "ship_to_address", "ship_to_lat", "ship_to_lon", "status", "created_at", "shippable_at", "ship_by",
                "payment_recorded_at", "payment_reference", "documents", "shipped_at", "delivered_at")
_TEXT_ID = sa.cast(rq.c.id, sa.Text).label("id")
OPEN_WITH_SHIP_BY = sa.and_(rq.c.status.in_([s.value for s in OPEN]), rq.c.ship_by.is_not(None))
"""Open requests whose ship-by clock runs (the partial index on part_requests)."""


async def load(session: AsyncSession, request_id: str, *, lock: bool = False,
               principal: Principal | None = None) -> dict[str, Any]:
    """A request row (optionally locked; with ``principal``: only if the caller may see it) or 404."""
    q = sa.select(rq).where(rq.c.id == request_id)
    if principal is not None:
        q = q.where(access.visible(principal, rq))
    if lock:
        q = q.with_for_update()
    row = (await session.execute(q)).mappings().first()
    if row is None:
        raise NotFound(f"part request {request_id} not found")
    return dict(row)


async def view(session: AsyncSession, request_id: str) -> dict[str, Any]:
    """The request with its lines, reservations and shipment, as the API returns it."""
    r = await load(session, request_id)
    line_rows = (await session.execute(
        sa.select(sa.cast(lines.c.id, sa.Text).label("id"), lines.c.line_no, lines.c.part_no, lines.c.quantity,
                  lines.c.status).where(lines.c.request_id == request_id).order_by(lines.c.line_no))).mappings()
    res = (await session.execute(
        sa.select(sa.cast(reservations.c.id, sa.Text).label("id"),
                  sa.cast(reservations.c.line_id, sa.Text).label("line_id"),
                  sa.cast(reservations.c.warehouse_id, sa.Text).label("warehouse_id"), reservations.c.part_no,
                  reservations.c.quantity, reservations.c.status)
        .where(reservations.c.request_id == request_id)
        .order_by(reservations.c.created_at, reservations.c.id))).mappings()
    ship = (await session.execute(
        sa.select(sa.cast(shipments.c.id, sa.Text).label("id"), shipments.c.carrier, shipments.c.tracking_no,
                  shipments.c.urgent_surcharge, shipments.c.shipped_at, shipments.c.delivered_at,
                  shipments.c.budget_quarter, shipments.c.budget_value, shipments.c.budget_excess)
        .where(shipments.c.request_id == request_id))).mappings().first()
    return {**{k: r[k] for k in _VIEW_FIELDS}, "id": str(r["id"]), "lines": [dict(x) for x in line_rows],
            "reservations": [dict(x) for x in res], "shipment": dict(ship) if ship else None}


async def list_requests(session: AsyncSession, principal: Principal, *, status: str | None, job_id: str | None,
                        limit: int) -> list[dict[str, Any]]:
    """Requests the caller may see, newest first."""
    q = (sa.select(_TEXT_ID, rq.c.requester_kind, rq.c.job_id, rq.c.dealer_id, rq.c.engineer_id, rq.c.coverage,
                   rq.c.urgent, rq.c.status, rq.c.ship_by, rq.c.created_at)
         .where(access.visible(principal, rq)).order_by(rq.c.created_at.desc()).limit(limit))
    if status:
        q = q.where(rq.c.status == status)
    if job_id:
        q = q.where(rq.c.job_id == job_id)
    return [dict(r) for r in (await session.execute(q)).mappings()]


async def commitments(session: AsyncSession, *, state: str, now: datetime, window: timedelta,
                      limit: int) -> list[dict[str, Any]]:
    """Open requests at risk of (or past) their ship-by, earliest first; served by the partial index."""
    due = rq.c.ship_by < now if state == "breached" else sa.and_(rq.c.ship_by >= now, rq.c.ship_by < now + window)
    q = (sa.select(_TEXT_ID, rq.c.status, rq.c.dealer_id, rq.c.job_id, rq.c.engineer_id, rq.c.coverage,
                   rq.c.urgent, rq.c.ship_by, rq.c.created_at)
         .where(OPEN_WITH_SHIP_BY, due).order_by(rq.c.ship_by).limit(limit))
    return [dict(r) for r in (await session.execute(q)).mappings()]


async def part_nos(session: AsyncSession, request_id: str) -> list[str]:
    """The distinct parts of a request (to take their stock locks first)."""
    return list((await session.execute(sa.select(lines.c.part_no).distinct().where(
        lines.c.request_id == request_id))).scalars())
