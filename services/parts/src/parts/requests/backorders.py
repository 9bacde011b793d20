"""Backorder refill: when stock arrives (receipt, transfer, positive adjustment, reusable return, a cancelled
request's released reservation), the part's backordered lines are filled in ship-by order.

The line's warehouse is chosen by ``domain/allocation.choose`` — the Python twin of the PL/pgSQL rule that
allocates new requests (migration parts_0003, ``hotpath.py``); the parity test is named in
``domain/allocation.py``. The caller holds the part's stock lock (``stock/ledger.lock_parts``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from ..config import PartsSettings
from ..domain import request_lifecycle as lifecycle
from ..domain.allocation import Candidate, choose
from ..domain.request_lifecycle import RequestStatus
from ..domain.stock import Movement
from ..metrics import ALLOCATIONS
from ..models import request_lines as lines
from ..models import requests as rq
from ..models import reservations
from ..stock import ledger
from . import queries
from .events import request_payload

_CANDIDATES = sa.text(
    "SELECT b.warehouse_id::text AS warehouse_id, w.lat, w.lon, b.on_hand - b.reserved AS available "
    "FROM stock_balances b JOIN warehouses w ON w.id = b.warehouse_id "
    "WHERE b.part_no = :p AND w.kind IN ('central', 'regional') AND b.on_hand > b.reserved "
    "ORDER BY b.warehouse_id FOR UPDATE OF b"
)
BACKORDERED = RequestStatus.BACKORDERED.value
FILL_ORDER = (rq.c.ship_by.asc().nulls_last(), rq.c.created_at, lines.c.line_no)
"""Who gets arriving stock first: the earliest ship-by (R-P1), requests not yet shippable last."""


async def _allocate_line(session: AsyncSession, settings: PartsSettings, r: dict[str, Any], line: dict[str, Any],
                         now: datetime) -> bool:
    """Reserve stock for one line; False means it stays backordered (nothing is partially taken)."""
    rows = (await session.execute(_CANDIDATES, {"p": line["part_no"]})).mappings().all()
    cands = [Candidate(x["warehouse_id"], x["lat"], x["lon"], x["available"]) for x in rows]
    ship_to = (r["ship_to_lat"], r["ship_to_lon"]) if r["ship_to_lat"] is not None else None
    picks = choose(quantity=line["quantity"], candidates=cands, ship_to=ship_to, allow_split=settings.allow_split)
    if not picks:
        ALLOCATIONS.labels("backordered").inc()
        return False
    for wid, qty in picks:
        rid = str(new_id())
        await ledger.apply_movement(session, warehouse_id=wid, part_no=line["part_no"], kind=Movement.RESERVE,
                                    quantity=qty, now=now, ref_id=rid, prechecked=True)
        await session.execute(sa.insert(reservations).values(
            id=rid, request_id=str(r["id"]), line_id=str(line["id"]), warehouse_id=wid, part_no=line["part_no"],
            quantity=qty, job_id=r["job_id"], status="active", created_at=now))
    ALLOCATIONS.labels("allocated").inc()
    return True


async def refill(session: AsyncSession, settings: PartsSettings, part_no: str, now: datetime) -> int:
    """Fill backordered lines of ``part_no`` in ship-by order (caller holds the part lock); returns lines filled."""
    filled = 0
    waiting = (await session.execute(
        sa.select(lines.c.id, lines.c.part_no, lines.c.quantity, lines.c.request_id)
        .join(rq, rq.c.id == lines.c.request_id)
        .where(lines.c.part_no == part_no, lines.c.status == BACKORDERED, rq.c.status == BACKORDERED)
        .order_by(*FILL_ORDER).limit(500))).mappings().all()
    for line in waiting:
        r = await queries.load(session, str(line["request_id"]), lock=True)
        if r["status"] != BACKORDERED:
            continue
        if not await _allocate_line(session, settings, r, dict(line), now):
            continue  # a smaller later line may still fit
        filled += 1
        await session.execute(sa.update(lines).where(lines.c.id == line["id"]).values(status="allocated"))
        left = (await session.execute(sa.select(sa.func.count()).select_from(lines).where(
            lines.c.request_id == r["id"], lines.c.status == BACKORDERED))).scalar_one()
        if left == 0:
            event = lifecycle.move(r["status"], RequestStatus.ALLOCATED)
            await session.execute(sa.update(rq).where(rq.c.id == r["id"]).values(status=RequestStatus.ALLOCATED))
            r["status"] = RequestStatus.ALLOCATED.value
            if event is not None:
                await add_events(session, event(aggregate_id=str(r["id"]), payload=request_payload(r, now)))
    return filled
