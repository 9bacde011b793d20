"""Part request use cases after creation (creation: ``hotpath.py``): who requests for whom, the R-P2/R-P3
gates and the ship-by clock (R-P1), shipping (R-P6 surcharge, R-P7 budget draw, R-P4 returns due), delivery,
cancellation. Status moves follow ``domain/request_lifecycle.py``; every function flushes, never commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, Forbidden, Unprocessable
from aftersales_shared.events.parts import ShipCommitmentAtRisk, ShipCommitmentBreached
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from .. import access
from ..budget import service as budget
from ..config import PartsSettings
from ..domain import request_lifecycle as lifecycle
from ..domain.commitment import ship_by
from ..domain.gates import GatePolicy, missing_gates
from ..domain.pricing import urgent_surcharge
from ..domain.request_lifecycle import RequestStatus
from ..domain.stock import Movement
from ..domain.terms import PartsTerms
from ..models import catalogue, request_lines, reservations, shipments
from ..models import requests as rq
from ..returns import service as returns
from ..stock import ledger
from ..terms import service as dealer_terms
from . import backorders, queries
from .events import request_payload
from .schemas import RequestCreate

S = RequestStatus


def requester(principal: Principal, body: RequestCreate) -> tuple[str, str | None, str | None]:
    """(requester_kind, dealer_id, engineer_id) of a new request; engineers order for a job, dealers for themselves."""
    if principal.has(*access.ORDERS_AS_STAFF):
        kind, dealer_id, engineer_id = "clerk", body.dealer_id, body.engineer_id
        if body.job_id and body.engineer_id:
            kind = "engineer"
        elif body.dealer_id and not body.job_id:
            kind = "dealer"
        return kind, dealer_id, engineer_id
    engineer_id, dealer_id = access.requester_ids(principal)  # 403 for a token without its tenant id
    if engineer_id is not None:
        if not body.job_id:
            raise Unprocessable("an engineer requests parts for a job", field="job_id")
        if body.engineer_id and body.engineer_id != engineer_id:
            raise Forbidden("engineers order only for themselves", field="engineer_id")
        if body.dealer_id and body.dealer_id != dealer_id:
            raise Forbidden("engineers order only for their own dealer", field="dealer_id")
        return "engineer", dealer_id, engineer_id
    if body.dealer_id and body.dealer_id != dealer_id:
        raise Forbidden("dealers order only for themselves", field="dealer_id")
    return "dealer", dealer_id, None


def _missing(r: dict[str, Any], settings: PartsSettings) -> list[str]:
    return missing_gates(coverage=r["coverage"], payment_recorded=r["payment_recorded_at"] is not None,
                         documents=set(r["documents"] or {}),
                         policy=GatePolicy(warranty_requires_documents=settings.warranty_requires_documents))


def shippable_from_start(settings: PartsSettings, coverage: str) -> bool:
    """Whether a new request (no payment, no documents yet) is shippable at once (R-P2/R-P3 gates)."""
    return not _missing({"coverage": coverage, "payment_recorded_at": None, "documents": {}}, settings)


def ship_by_of(settings: PartsSettings, shippable_at: datetime, terms: PartsTerms) -> datetime:
    """R-P1: the ship-by time of a request that became shippable at ``shippable_at``, by the dealer's ship
    clock in force on that day."""
    return ship_by(shippable_at, days=terms.ship_within_days, calendar=settings.ship_calendar,
                   tz=clock.BUSINESS_TZ)


def at_risk_window(settings: PartsSettings) -> timedelta:
    return timedelta(hours=settings.at_risk_hours)


def _still_open(r: dict[str, Any]) -> None:
    if not lifecycle.can_move(r["status"], S.CANCELLED):  # i.e. not shipped, delivered or cancelled
        raise Conflict(f"request is {r['status']}", code="request_closed")


async def _maybe_shippable(session: AsyncSession, settings: PartsSettings, r: dict[str, Any], now: datetime) -> None:
    if r["ship_by"] is None and not _missing(r, settings):
        terms = await dealer_terms.terms_on(session, settings, dealer_id=r["dealer_id"], on=clock.business_date(now))
        r["shippable_at"], r["ship_by"] = now, ship_by_of(settings, now, terms)
        await session.execute(sa.update(rq).where(rq.c.id == r["id"]).values(
            shippable_at=now, ship_by=r["ship_by"]))


async def regate(session: AsyncSession, settings: PartsSettings, request_id: str, *, coverage: str,
                 now: datetime) -> None:
    """Issue 15: the request's ticket changed coverage. It follows the gate of ``coverage`` from now on: a ship-by
    clock already running stops when the new gate is not open (paid: no payment yet), and starts when it is."""
    r = await queries.load(session, request_id, lock=True)
    _still_open(r)
    r["coverage"] = coverage
    values: dict[str, Any] = {"coverage": coverage}
    if _missing(r, settings):
        r["shippable_at"] = r["ship_by"] = None
        values.update(shippable_at=None, ship_by=None)
    await session.execute(sa.update(rq).where(rq.c.id == r["id"]).values(**values))
    await _maybe_shippable(session, settings, r, now)


async def record_payment(session: AsyncSession, settings: PartsSettings, request_id: str, *, reference: str,
                         now: datetime) -> None:
    """R-P2: payment received; a paid request becomes shippable and its ship-by clock starts."""
    r = await queries.load(session, request_id, lock=True)
    if r["coverage"] != "paid":
        raise Conflict("only paid requests take a payment", field="coverage", code="not_paid_request")
    _still_open(r)
    if r["payment_recorded_at"] is None:
        r["payment_recorded_at"] = now
        await session.execute(sa.update(rq).where(rq.c.id == r["id"]).values(
            payment_recorded_at=now, payment_reference=reference))
    await _maybe_shippable(session, settings, r, now)


async def attach_document(session: AsyncSession, settings: PartsSettings, principal: Principal, request_id: str, *,
                          kind: str, reference: str, now: datetime) -> None:
    """R-P3: attach the replacement list or the old part's waybill (to a request the caller may see)."""
    r = await queries.load(session, request_id, lock=True, principal=principal)
    _still_open(r)
    docs = dict(r["documents"] or {})
    docs[kind] = {"reference": reference, "at": now.isoformat(), "by": principal.sub}
    r["documents"] = docs
    await session.execute(sa.update(rq).where(rq.c.id == r["id"]).values(documents=docs))
    await _maybe_shippable(session, settings, r, now)


async def ship(session: AsyncSession, settings: PartsSettings, request_id: str, *, carrier: str, tracking_no: str,
               standard_freight: Decimal | None, urgent_freight: Decimal | None,
               now: datetime) -> dict[str, Any] | None:
    """Issue the reserved stock and record the shipment; gates must be open (R-P2/R-P3).

    A dealer's own in-warranty request draws on its quarterly parts budget (R-P7); returns that draw
    (quarter, value, enforced, excess) or None when the shipment is not a dealer draw."""
    await queries.load(session, request_id)
    await ledger.lock_parts(session, await queries.part_nos(session, request_id))
    r = await queries.load(session, request_id, lock=True)
    if not lifecycle.can_move(r["status"], S.SHIPPED):
        raise Conflict(f"only an allocated request ships (it is {r['status']})", code="not_allocated")
    missing = _missing(r, settings)
    if missing:
        raise Conflict(f"cannot ship yet, missing: {', '.join(missing)}", code="gate_closed",
                       extra={"missing": missing})
    res = (await session.execute(sa.text(
        "SELECT id::text, warehouse_id::text, part_no, quantity FROM reservations "
        "WHERE request_id = :id AND status = 'active' ORDER BY id"), {"id": request_id})).mappings().all()
    for x in res:
        await ledger.apply_movement(session, warehouse_id=x["warehouse_id"], part_no=x["part_no"],
                                    kind=Movement.ISSUE, quantity=x["quantity"], now=now, ref_id=x["id"])
    await session.execute(sa.update(reservations).where(
        reservations.c.request_id == request_id, reservations.c.status == "active").values(status="issued"))
    surcharge = urgent_surcharge(urgent=r["urgent"], standard_freight=standard_freight,
                                 urgent_freight=urgent_freight, default=settings.urgent_surcharge_default)
    sid = str(new_id())
    await session.execute(sa.insert(shipments).values(
        id=sid, request_id=request_id, carrier=carrier, tracking_no=tracking_no, urgent_surcharge=surcharge,
        shipped_at=now))
    event = lifecycle.move(r["status"], S.SHIPPED)
    await session.execute(sa.update(rq).where(rq.c.id == request_id).values(status=S.SHIPPED, shipped_at=now))
    r["status"] = S.SHIPPED.value
    if event is not None:
        await add_events(session, event(aggregate_id=request_id, payload=request_payload(
            r, now, shipment_id=sid, carrier=carrier, tracking_no=tracking_no, urgent=r["urgent"],
            urgent_surcharge=surcharge if r["urgent"] else None)))
    drawn = await budget.draw(session, settings, r, shipment_id=sid, now=now)
    if r["coverage"] == "warranty" and r["job_id"] is None:
        # a dealer's warranty replacement: the old part is due back (R-P4); jobs create theirs on completion
        due = (await session.execute(
            sa.select(request_lines.c.part_no, request_lines.c.quantity, catalogue.c.cost_price)
            .join(catalogue, catalogue.c.part_no == request_lines.c.part_no)
            .where(request_lines.c.request_id == request_id, catalogue.c.must_return)
            .order_by(request_lines.c.line_no))).mappings().all()
        for ln in due:
            await returns.create_expected(session, settings, request_id=request_id, job_id=None,
                                          dealer_id=r["dealer_id"], engineer_id=r["engineer_id"],
                                          part_no=ln["part_no"], quantity=ln["quantity"], old_serial=None,
                                          cost_price=ln["cost_price"], now=now)
    return drawn


async def deliver(session: AsyncSession, principal: Principal, request_id: str, *, now: datetime) -> None:
    """Record delivery of a shipped request (one the caller may see)."""
    r = await queries.load(session, request_id, lock=True, principal=principal)
    if not lifecycle.can_move(r["status"], S.DELIVERED):
        raise Conflict(f"only a shipped request is delivered (it is {r['status']})", code="not_shipped")
    event = lifecycle.move(r["status"], S.DELIVERED)
    sid = (await session.execute(sa.update(shipments).where(shipments.c.request_id == request_id)
                                 .values(delivered_at=now).returning(sa.cast(shipments.c.id, sa.Text)))).scalar_one()
    await session.execute(sa.update(rq).where(rq.c.id == request_id).values(status=S.DELIVERED, delivered_at=now))
    r["status"] = S.DELIVERED.value
    if event is not None:
        await add_events(session, event(aggregate_id=request_id, payload=request_payload(r, now, shipment_id=sid)))


async def cancel(session: AsyncSession, settings: PartsSettings, principal: Principal, request_id: str, *,
                 now: datetime) -> None:
    """The requester (or a clerk) cancels an unshipped request; its reservations are released and refilled."""
    await queries.load(session, request_id, principal=principal)
    if not await release(session, settings, request_id, now=now, reason="cancelled by requester"):
        raise Conflict("request already shipped or cancelled", code="request_closed")


async def release(session: AsyncSession, settings: PartsSettings, request_id: str, *, now: datetime,
                  reason: str) -> bool:
    """Release active reservations and cancel an unshipped request; False when it had already shipped."""
    await ledger.lock_parts(session, await queries.part_nos(session, request_id))
    r = await queries.load(session, request_id, lock=True)
    if not lifecycle.can_move(r["status"], S.CANCELLED):
        return False
    lifecycle.move(r["status"], S.CANCELLED)  # a silent move: no event
    res = (await session.execute(sa.text(
        "SELECT id::text, warehouse_id::text, part_no, quantity FROM reservations "
        "WHERE request_id = :id AND status = 'active' ORDER BY id"), {"id": request_id})).mappings().all()
    for x in res:
        await ledger.apply_movement(session, warehouse_id=x["warehouse_id"], part_no=x["part_no"],
                                    kind=Movement.RELEASE, quantity=x["quantity"], now=now, ref_id=x["id"],
                                    reason=reason)
    await session.execute(sa.update(reservations).where(
        reservations.c.request_id == request_id, reservations.c.status == "active").values(status="released"))
    await session.execute(sa.update(request_lines).where(request_lines.c.request_id == request_id)
                          .values(status="cancelled"))
    await session.execute(sa.update(rq).where(rq.c.id == request_id).values(status=S.CANCELLED))
    for p in sorted({x["part_no"] for x in res}):  # released stock may fill other backorders
        await backorders.refill(session, settings, p, now)
    return True


async def release_job(session: AsyncSession, settings: PartsSettings, job_id: str, *, now: datetime,
                      reason: str) -> int:
    """Cancel the job's open requests and release their reservations."""
    ids = (await session.execute(sa.select(sa.cast(rq.c.id, sa.Text)).where(
        rq.c.job_id == job_id, rq.c.status.in_([s.value for s in lifecycle.OPEN])).order_by(rq.c.id))).scalars()
    n = 0
    for rid in list(ids):
        n += await release(session, settings, rid, now=now, reason=reason)
    return n


async def warn_ship_by(session: AsyncSession, settings: PartsSettings, *, now: datetime) -> tuple[int, int]:
    """R-P1 watcher: emit ShipCommitmentAtRisk / Breached once per open request (the UPDATE marks them).

    Hand-written ``UPDATE … FOR UPDATE SKIP LOCKED`` on ``part_requests``: two watchers never take the same rows."""
    window = at_risk_window(settings)
    open_ = "status IN ('allocated','backordered') AND ship_by IS NOT NULL"
    breached = (await session.execute(sa.text(
        f"UPDATE part_requests SET breached_emitted_at = :now WHERE id IN (SELECT id FROM part_requests "
        f"WHERE {open_} AND ship_by < :now AND breached_emitted_at IS NULL ORDER BY ship_by LIMIT 1000 "
        f"FOR UPDATE SKIP LOCKED) RETURNING *"), {"now": now})).mappings().all()
    at_risk = (await session.execute(sa.text(
        f"UPDATE part_requests SET at_risk_emitted_at = :now WHERE id IN (SELECT id FROM part_requests "
        f"WHERE {open_} AND ship_by >= :now AND ship_by < :edge AND at_risk_emitted_at IS NULL ORDER BY ship_by "
        f"LIMIT 1000 FOR UPDATE SKIP LOCKED) RETURNING *"), {"now": now, "edge": now + window})).mappings().all()
    await add_events(session, *[ShipCommitmentBreached(aggregate_id=str(r["id"]), payload=request_payload(dict(r), now))
                                for r in breached],
                     *[ShipCommitmentAtRisk(aggregate_id=str(r["id"]), payload=request_payload(dict(r), now))
                       for r in at_risk])
    return len(at_risk), len(breached)


async def count_open(session: AsyncSession, settings: PartsSettings, *, now: datetime) -> dict[str, int]:
    """Open requests breached / at risk (R-P1) and backordered: the business gauges."""
    edge = now + at_risk_window(settings)
    row = (await session.execute(
        sa.select(sa.func.count().filter(rq.c.ship_by < now).label("breached"),
                  sa.func.count().filter(rq.c.ship_by >= now).label("at_risk"))
        .where(queries.OPEN_WITH_SHIP_BY, rq.c.ship_by < edge))).mappings().one()
    backordered = (await session.execute(sa.select(sa.func.count()).select_from(rq).where(
        rq.c.status == S.BACKORDERED))).scalar_one()
    return {"breached": row["breached"], "at_risk": row["at_risk"], "backordered": backordered}
