"""Old-part returns and chargebacks (R-P4, 以旧换新): due when a warranty part is issued, received (reusable
parts back to stock, refurbished) or missed past the due date (chargeback at cost price, announced once).
Status moves and their events: ``domain/return_lifecycle.py``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from .. import access
from ..config import PartsSettings
from ..domain import return_lifecycle as lifecycle
from ..domain.pricing import chargeback
from ..domain.return_lifecycle import ReturnStatus
from ..domain.returns import return_due
from ..domain.stock import Movement
from ..models import expected_returns as er
from ..requests import backorders
from ..stock import ledger
from ..terms import service as dealer_terms

S = ReturnStatus
_READ = [sa.cast(er.c.id, sa.Text).label("id"), sa.cast(er.c.request_id, sa.Text).label("request_id"), er.c.job_id,
         er.c.dealer_id, er.c.engineer_id, er.c.part_no, er.c.quantity, er.c.old_serial, er.c.cost_price, er.c.due_on,
         er.c.status, er.c.appraisal, er.c.received_at, er.c.chargeback_amount]


def _payload(r: dict[str, Any], now: datetime, **extra: Any) -> dict[str, Any]:
    return {"return_id": str(r["id"]), "part_no": r["part_no"], "dealer_id": r["dealer_id"], "job_id": r["job_id"],
            "old_serial": r["old_serial"], "due_on": r["due_on"], "at": now, **extra}


async def create_expected(session: AsyncSession, settings: PartsSettings, *, request_id: str | None,
                          job_id: str | None, dealer_id: str | None, engineer_id: str | None, part_no: str,
                          quantity: int, old_serial: str | None, cost_price: Decimal, now: datetime) -> str:
    """An old part due back (R-P4) after the dealer's return days in force on the issue date, announced with
    ReturnDue."""
    rid = str(new_id())
    terms = await dealer_terms.terms_on(session, settings, dealer_id=dealer_id, on=clock.business_date(now))
    row: dict[str, Any] = {"id": rid, "request_id": request_id, "job_id": job_id, "dealer_id": dealer_id,
           "engineer_id": engineer_id, "part_no": part_no, "quantity": quantity, "old_serial": old_serial,
           "cost_price": cost_price, "due_on": return_due(now, days=terms.return_due_days),
           "status": S.DUE.value, "created_at": now}
    event = lifecycle.move(S.NEW, S.DUE)
    await session.execute(sa.insert(er).values(**row))
    await add_events(session, event(aggregate_id=rid, payload=_payload(row, now)))
    return rid


async def list_returns(session: AsyncSession, principal: Principal, *, status: str | None,
                       limit: int) -> list[dict[str, Any]]:
    """Expected old-part returns the caller may see, earliest due first."""
    q = sa.select(*_READ).where(access.visible(principal, er)).order_by(er.c.due_on).limit(limit)
    if status:
        q = q.where(er.c.status == status)
    return [dict(r) for r in (await session.execute(q)).mappings()]


async def receive(session: AsyncSession, settings: PartsSettings, return_id: str, *, appraisal: str,
                  warehouse_id: str | None, actor: str, now: datetime) -> dict[str, Any]:
    """Record an old part's arrival and appraisal; reusable parts go back to stock as refurbished."""
    r = (await session.execute(sa.select(er).where(er.c.id == return_id).with_for_update())).mappings().first()
    if r is None:
        raise NotFound(f"return {return_id} not found")
    if not lifecycle.can_move(r["status"], S.RECEIVED):
        raise Conflict(f"return is already {r['status']}", code="return_closed")
    event = lifecycle.move(r["status"], S.RECEIVED)
    if appraisal == "reusable":
        if not warehouse_id:
            raise Unprocessable("a reusable part goes back to a warehouse", field="warehouse_id")
        await ledger.warehouse(session, warehouse_id)
        await ledger.lock_parts(session, [r["part_no"]])
        await ledger.apply_movement(session, warehouse_id=warehouse_id, part_no=r["part_no"], kind=Movement.RETURN,
                                    quantity=r["quantity"], now=now, reason="refurbished old part",
                                    ref_id=return_id, actor=actor)
        await backorders.refill(session, settings, r["part_no"], now)
    await session.execute(sa.update(er).where(er.c.id == return_id).values(
        status=S.RECEIVED, appraisal=appraisal, received_at=now))
    await add_events(session, event(aggregate_id=return_id, payload=_payload(dict(r), now, appraisal=appraisal)))
    return {"id": return_id, "status": S.RECEIVED.value, "appraisal": appraisal}


async def mark_missed(session: AsyncSession, *, now: datetime) -> int:
    """Returns past due become chargebacks at cost price (R-P4), each announced once (the UPDATE marks them)."""
    event = lifecycle.move(S.DUE, S.MISSED)
    rows = (await session.execute(sa.text(
        "UPDATE expected_returns SET status = 'missed', missed_emitted_at = :now WHERE id IN ("
        "SELECT id FROM expected_returns WHERE status = 'due' AND due_on < :now ORDER BY due_on LIMIT 1000 "
        "FOR UPDATE SKIP LOCKED) RETURNING *"), {"now": now})).mappings().all()
    events = []
    for r in rows:
        amount = chargeback(cost_price=r["cost_price"], quantity=r["quantity"])
        await session.execute(sa.update(er).where(er.c.id == str(r["id"])).values(chargeback_amount=amount))
        events.append(event(aggregate_id=str(r["id"]), payload=_payload(dict(r), now, chargeback_amount=amount)))
    await add_events(session, *events)
    return len(rows)


async def count_missed(session: AsyncSession) -> int:
    """Returns missed (chargeback raised): a business gauge."""
    return (await session.execute(sa.select(sa.func.count()).select_from(er).where(er.c.status == S.MISSED))
            ).scalar_one()
