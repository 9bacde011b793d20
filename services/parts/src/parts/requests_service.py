"""Part requests: who may request, backorder refill, gates, shipping, delivery (creation: allocate.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from aftersales_shared.events.parts import (
    RequestAllocated, RequestDelivered, RequestShipped, ReturnDue,
)
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from . import budget, stock
from .config import PartsSettings
from .domain.allocation import Candidate, choose
from .domain.commitment import ship_by
from .domain.gates import GatePolicy, missing_gates
from .domain.money import urgent_surcharge
from .domain.returns import return_due
from .domain.stock import Movement
from .metrics import ALLOCATIONS

STAFF = ("parts_clerk", "admin", "ops", "finance")
_CANDIDATES = sa.text(
    "SELECT b.warehouse_id::text AS warehouse_id, w.lat, w.lon, b.on_hand - b.reserved AS available "
    "FROM stock_balances b JOIN warehouses w ON w.id = b.warehouse_id "
    "WHERE b.part_no = :p AND w.kind IN ('central', 'regional') AND b.on_hand > b.reserved "
    "ORDER BY b.warehouse_id FOR UPDATE OF b"
)


def _payload(r: dict[str, Any], now: datetime, **extra: Any) -> dict[str, Any]:
    return {"request_id": str(r["id"]), "job_id": r["job_id"], "ticket_id": r["ticket_id"],
            "dealer_id": r["dealer_id"], "at": now, "status": r["status"], "ship_by": r["ship_by"], **extra}


async def load(session: AsyncSession, request_id: str, *, lock: bool = False) -> dict[str, Any]:
    """A request row (optionally locked) or 404."""
    q = "SELECT * FROM part_requests WHERE id = CAST(:id AS uuid)" + (" FOR UPDATE" if lock else "")
    row = (await session.execute(sa.text(q), {"id": request_id})).mappings().first()
    if row is None:
        raise NotFound(f"part request {request_id} not found")
    return dict(row)


def check_access(principal: Principal, r: dict[str, Any]) -> None:
    """Dealers see their own requests, engineers their own jobs' requests, staff all (404 hides others')."""
    if principal.has(*STAFF):
        return
    if principal.has("dealer") and principal.dealer_id and r["dealer_id"] == principal.dealer_id \
            and r["requester_kind"] == "dealer":
        return
    if principal.has("engineer") and principal.engineer_id and r["engineer_id"] == principal.engineer_id:
        return
    raise NotFound(f"part request {r['id']} not found")


async def view(session: AsyncSession, request_id: str) -> dict[str, Any]:
    """The request with its lines and reservations, as the API returns it."""
    r = await load(session, request_id)
    lines = (await session.execute(sa.text(
        "SELECT id::text, line_no, part_no, quantity, status FROM part_request_lines WHERE request_id = :id "
        "ORDER BY line_no"), {"id": request_id})).mappings().all()
    res = (await session.execute(sa.text(
        "SELECT id::text, line_id::text, warehouse_id::text, part_no, quantity, status FROM reservations "
        "WHERE request_id = :id ORDER BY created_at, id"), {"id": request_id})).mappings().all()
    ship = (await session.execute(sa.text(
        "SELECT id::text, carrier, tracking_no, urgent_surcharge, shipped_at, delivered_at, budget_quarter, "
        "budget_value, budget_excess FROM shipments WHERE request_id = :id"), {"id": request_id})).mappings().first()
    return {**{k: r[k] for k in ("requester_kind", "job_id", "ticket_id", "dealer_id", "engineer_id", "coverage",
                                  "urgent", "ship_to_address", "ship_to_lat", "ship_to_lon", "status",
                                  "created_at", "shippable_at", "ship_by", "payment_recorded_at",
                                  "payment_reference", "documents", "shipped_at", "delivered_at")},
            "id": str(r["id"]), "lines": [dict(x) for x in lines], "reservations": [dict(x) for x in res],
            "shipment": dict(ship) if ship else None}


def _policy(settings: PartsSettings) -> GatePolicy:
    return GatePolicy(warranty_requires_documents=settings.warranty_requires_documents)


def _missing(r: dict[str, Any], settings: PartsSettings) -> list[str]:
    docs = r["documents"] if isinstance(r["documents"], dict) else json.loads(r["documents"] or "{}")
    return missing_gates(coverage=r["coverage"], payment_recorded=r["payment_recorded_at"] is not None,
                         documents=set(docs), policy=_policy(settings))


def _ship_by(settings: PartsSettings, at: datetime) -> datetime:
    return ship_by(at, days=settings.ship_within_days, calendar=settings.ship_calendar,
                   tz=settings.business_timezone)


async def _allocate_line(session: AsyncSession, settings: PartsSettings, r: dict[str, Any], line: dict[str, Any],
                         now: datetime) -> bool:
    """Reserve stock for one line (caller holds the part lock); False means it stays backordered.

    Backorder refill uses this; a new request is allocated by the database function parts.allocate_request
    (allocate.py), which applies the same rule (domain/allocation.py choose) inside one statement.
    """
    rows = (await session.execute(_CANDIDATES, {"p": line["part_no"]})).mappings().all()
    cands = [Candidate(x["warehouse_id"], x["lat"], x["lon"], x["available"]) for x in rows]
    ship_to = (r["ship_to_lat"], r["ship_to_lon"]) if r["ship_to_lat"] is not None else None
    picks = choose(quantity=line["quantity"], candidates=cands, ship_to=ship_to, allow_split=settings.allow_split)
    if not picks:
        ALLOCATIONS.labels("backordered").inc()
        return False
    for wid, qty in picks:
        rid = str(new_id())
        await stock.apply_movement(session, warehouse_id=wid, part_no=line["part_no"], kind=Movement.RESERVE,
                                   quantity=qty, now=now, ref_id=rid, prechecked=True)
        await session.execute(sa.text(
            "INSERT INTO reservations (id, request_id, line_id, warehouse_id, part_no, quantity, job_id, status, "
            "created_at) VALUES (:id, :rq, :l, :w, :p, :q, :job, 'active', :now)"),
            {"id": rid, "rq": str(r["id"]), "l": str(line["id"]), "w": wid, "p": line["part_no"], "q": qty,
             "job": r["job_id"], "now": now})
    ALLOCATIONS.labels("allocated").inc()
    return True


def engineer_caller(principal: Principal) -> bool:
    """Whether a new request is an engineer's own (staff who also hold the engineer role order as staff)."""
    return principal.has("engineer") and not principal.has("parts_clerk", "admin")


def requester(principal: Principal, body: Any) -> tuple[str, str | None, str | None]:
    """(requester_kind, dealer_id, engineer_id) of a new request; engineers order for a job, dealers for themselves."""
    if principal.has("parts_clerk", "admin"):
        kind, dealer_id, engineer_id = "clerk", body.dealer_id, body.engineer_id
        if body.job_id and body.engineer_id:
            kind = "engineer"
        elif body.dealer_id and not body.job_id:
            kind = "dealer"
        return kind, dealer_id, engineer_id
    if engineer_caller(principal):
        if not principal.engineer_id:
            raise Forbidden("the token carries no engineer_id")
        if not body.job_id:
            raise Unprocessable("an engineer requests parts for a job", field="job_id")
        return "engineer", principal.dealer_id, principal.engineer_id
    if not principal.dealer_id:  # dealer
        raise Forbidden("the token carries no dealer_id")
    if body.dealer_id and body.dealer_id != principal.dealer_id:
        raise Forbidden("dealers order only for themselves")
    return "dealer", principal.dealer_id, None


def shippable_from_start(settings: PartsSettings, coverage: str) -> bool:
    """Whether a new request (no payment, no documents yet) is shippable at once (R-P2/R-P3 gates)."""
    return not _missing({"coverage": coverage, "payment_recorded_at": None, "documents": {}}, settings)


async def refill(session: AsyncSession, settings: PartsSettings, part_no: str, now: datetime) -> int:
    """Fill backordered lines of ``part_no`` in ship-by order (caller holds the part lock); returns lines filled."""
    filled = 0
    rows = (await session.execute(sa.text(
        "SELECT l.id, l.part_no, l.quantity, l.request_id FROM part_request_lines l "
        "JOIN part_requests r ON r.id = l.request_id "
        "WHERE l.part_no = :p AND l.status = 'backordered' AND r.status = 'backordered' "
        "ORDER BY r.ship_by NULLS LAST, r.created_at, l.line_no LIMIT 500"), {"p": part_no})).mappings().all()
    for line in rows:
        r = await load(session, str(line["request_id"]), lock=True)
        if r["status"] != "backordered":
            continue
        if not await _allocate_line(session, settings, r, dict(line), now):
            continue  # a smaller later line may still fit
        filled += 1
        await session.execute(sa.text("UPDATE part_request_lines SET status = 'allocated' WHERE id = :id"),
                              {"id": line["id"]})
        left = (await session.execute(sa.text(
            "SELECT count(*) FROM part_request_lines WHERE request_id = :id AND status = 'backordered'"),
            {"id": r["id"]})).scalar_one()
        if left == 0:
            await session.execute(sa.text("UPDATE part_requests SET status = 'allocated' WHERE id = :id"),
                                  {"id": r["id"]})
            r["status"] = "allocated"
            await add_events(session, RequestAllocated(aggregate_id=str(r["id"]), payload=_payload(r, now)))
    return filled


async def _maybe_shippable(session: AsyncSession, settings: PartsSettings, r: dict[str, Any], now: datetime) -> None:
    if r["ship_by"] is None and not _missing(r, settings):
        r["shippable_at"], r["ship_by"] = now, _ship_by(settings, now)
        await session.execute(sa.text(
            "UPDATE part_requests SET shippable_at = :s, ship_by = :b WHERE id = :id"),
            {"s": now, "b": r["ship_by"], "id": r["id"]})


async def record_payment(session: AsyncSession, settings: PartsSettings, request_id: str, reference: str,
                         now: datetime) -> None:
    """R-P2: payment received; a paid request becomes shippable and its ship-by clock starts."""
    r = await load(session, request_id, lock=True)
    if r["coverage"] != "paid":
        raise Conflict("only paid requests take a payment", field="coverage", code="not_paid_request")
    if r["status"] in ("shipped", "delivered", "cancelled"):
        raise Conflict(f"request is {r['status']}", code="request_closed")
    if r["payment_recorded_at"] is None:
        r["payment_recorded_at"] = now
        await session.execute(sa.text(
            "UPDATE part_requests SET payment_recorded_at = :now, payment_reference = :ref WHERE id = :id"),
            {"now": now, "ref": reference, "id": r["id"]})
    await _maybe_shippable(session, settings, r, now)


async def attach_document(session: AsyncSession, settings: PartsSettings, principal: Principal, request_id: str,
                          kind: str, reference: str, now: datetime) -> None:
    """R-P3: attach the replacement list or the old part's waybill."""
    r = await load(session, request_id, lock=True)
    check_access(principal, r)
    if r["status"] in ("shipped", "delivered", "cancelled"):
        raise Conflict(f"request is {r['status']}", code="request_closed")
    docs = dict(r["documents"] or {})
    docs[kind] = {"reference": reference, "at": now.isoformat(), "by": principal.sub}
    r["documents"] = docs
    await session.execute(sa.text("UPDATE part_requests SET documents = CAST(:d AS jsonb) WHERE id = :id"),
                          {"d": json.dumps(docs), "id": r["id"]})
    await _maybe_shippable(session, settings, r, now)


async def ship(session: AsyncSession, settings: PartsSettings, request_id: str, *, carrier: str, tracking_no: str,
               standard_freight: Decimal | None, urgent_freight: Decimal | None,
               now: datetime) -> dict[str, Any] | None:
    """Issue the reserved stock and record the shipment; gates must be open (R-P2/R-P3).

    A dealer's own in-warranty request draws on its quarterly parts budget (R-P7); returns that draw
    (quarter, value, enforced, excess) or None when the shipment is not a dealer draw."""
    r = await load(session, request_id)
    parts_ = (await session.execute(sa.text("SELECT DISTINCT part_no FROM part_request_lines WHERE request_id = :id"),
                                    {"id": request_id})).scalars().all()
    await stock.lock_parts(session, parts_)
    r = await load(session, request_id, lock=True)
    if r["status"] != "allocated":
        raise Conflict(f"only an allocated request ships (it is {r['status']})", code="not_allocated")
    missing = _missing(r, settings)
    if missing:
        raise Conflict(f"cannot ship yet, missing: {', '.join(missing)}", code="gate_closed",
                       extra={"missing": missing})
    res = (await session.execute(sa.text(
        "SELECT id::text, warehouse_id::text, part_no, quantity FROM reservations "
        "WHERE request_id = :id AND status = 'active' ORDER BY id"), {"id": request_id})).mappings().all()
    for x in res:
        await stock.apply_movement(session, warehouse_id=x["warehouse_id"], part_no=x["part_no"], kind=Movement.ISSUE,
                                   quantity=x["quantity"], now=now, ref_id=x["id"])
    await session.execute(sa.text("UPDATE reservations SET status = 'issued' WHERE request_id = :id "
                                  "AND status = 'active'"), {"id": request_id})
    surcharge = urgent_surcharge(urgent=r["urgent"], standard_freight=standard_freight,
                                 urgent_freight=urgent_freight, default=settings.urgent_surcharge_default)
    sid = str(new_id())
    await session.execute(sa.text(
        "INSERT INTO shipments (id, request_id, carrier, tracking_no, urgent_surcharge, shipped_at) "
        "VALUES (:id, :rq, :c, :t, :s, :now)"),
        {"id": sid, "rq": request_id, "c": carrier, "t": tracking_no, "s": surcharge, "now": now})
    await session.execute(sa.text("UPDATE part_requests SET status = 'shipped', shipped_at = :now WHERE id = :id"),
                          {"now": now, "id": request_id})
    r["status"] = "shipped"
    await add_events(session, RequestShipped(aggregate_id=request_id, payload=_payload(
        r, now, shipment_id=sid, carrier=carrier, tracking_no=tracking_no, urgent=r["urgent"],
        urgent_surcharge=surcharge if r["urgent"] else None)))
    drawn = await budget.draw(session, settings, r, shipment_id=sid, now=now)
    if r["coverage"] == "warranty" and r["job_id"] is None:
        # a dealer's warranty replacement: the old part is due back (R-P4); jobs create theirs on completion
        lines = (await session.execute(sa.text(
            "SELECT l.part_no, l.quantity, c.cost_price FROM part_request_lines l JOIN catalogue_parts c "
            "ON c.part_no = l.part_no WHERE l.request_id = :id AND c.must_return ORDER BY l.line_no"),
            {"id": request_id})).mappings().all()
        for ln in lines:
            await create_expected_return(session, settings, request_id=request_id, job_id=None,
                                         dealer_id=r["dealer_id"], engineer_id=r["engineer_id"],
                                         part_no=ln["part_no"], quantity=ln["quantity"], old_serial=None,
                                         cost_price=ln["cost_price"], now=now)
    return drawn


async def create_expected_return(session: AsyncSession, settings: PartsSettings, *, request_id: str | None,
                                 job_id: str | None, dealer_id: str | None, engineer_id: str | None, part_no: str,
                                 quantity: int, old_serial: str | None, cost_price: Decimal, now: datetime) -> str:
    """An old part due back (R-P4), announced with ReturnDue."""
    rid = str(new_id())
    due = return_due(now, days=settings.return_due_days)
    await session.execute(sa.text(
        "INSERT INTO expected_returns (id, request_id, job_id, dealer_id, engineer_id, part_no, quantity, old_serial, "
        "cost_price, due_on, status, created_at) VALUES (:id, :rq, :job, :d, :e, :p, :q, :s, :c, :due, 'due', :now)"),
        {"id": rid, "rq": request_id, "job": job_id, "d": dealer_id, "e": engineer_id, "p": part_no, "q": quantity,
         "s": old_serial, "c": cost_price, "due": due, "now": now})
    await add_events(session, ReturnDue(aggregate_id=rid, payload={
        "return_id": rid, "part_no": part_no, "dealer_id": dealer_id, "job_id": job_id, "old_serial": old_serial,
        "due_on": due, "at": now}))
    return rid


async def deliver(session: AsyncSession, principal: Principal, request_id: str, now: datetime) -> None:
    """Record delivery of a shipped request."""
    r = await load(session, request_id, lock=True)
    check_access(principal, r)
    if r["status"] != "shipped":
        raise Conflict(f"only a shipped request is delivered (it is {r['status']})", code="not_shipped")
    sid = (await session.execute(sa.text(
        "UPDATE shipments SET delivered_at = :now WHERE request_id = :id RETURNING id::text"),
        {"now": now, "id": request_id})).scalar_one()
    await session.execute(sa.text("UPDATE part_requests SET status = 'delivered', delivered_at = :now "
                                  "WHERE id = :id"), {"now": now, "id": request_id})
    r["status"] = "delivered"
    await add_events(session, RequestDelivered(aggregate_id=request_id, payload=_payload(r, now, shipment_id=sid)))


async def release_request(session: AsyncSession, settings: PartsSettings, request_id: str, now: datetime,
                          reason: str) -> bool:
    """Release active reservations and cancel an unshipped request; False when it had already shipped."""
    parts_ = (await session.execute(sa.text("SELECT DISTINCT part_no FROM part_request_lines WHERE request_id = :id"),
                                    {"id": request_id})).scalars().all()
    await stock.lock_parts(session, parts_)
    r = await load(session, request_id, lock=True)
    if r["status"] not in ("allocated", "backordered"):
        return False
    res = (await session.execute(sa.text(
        "SELECT id::text, warehouse_id::text, part_no, quantity FROM reservations "
        "WHERE request_id = :id AND status = 'active' ORDER BY id"), {"id": request_id})).mappings().all()
    for x in res:
        await stock.apply_movement(session, warehouse_id=x["warehouse_id"], part_no=x["part_no"],
                                   kind=Movement.RELEASE, quantity=x["quantity"], now=now, ref_id=x["id"],
                                   reason=reason)
    await session.execute(sa.text("UPDATE reservations SET status = 'released' WHERE request_id = :id "
                                  "AND status = 'active'"), {"id": request_id})
    await session.execute(sa.text("UPDATE part_request_lines SET status = 'cancelled' WHERE request_id = :id"),
                          {"id": request_id})
    await session.execute(sa.text("UPDATE part_requests SET status = 'cancelled' WHERE id = :id"),
                          {"id": request_id})
    for p in sorted({x["part_no"] for x in res}):  # released stock may fill other backorders
        await refill(session, settings, p, now)
    return True


def at_risk_window(settings: PartsSettings) -> timedelta:
    return timedelta(hours=settings.at_risk_hours)
