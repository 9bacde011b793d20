"""Periodic watchers (ship commitment, missed returns), returns receipt, base stock, job events."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.events.parts import (
    ReturnMissed, ReturnReceived, ShipCommitmentAtRisk, ShipCommitmentBreached,
)
from aftersales_shared.outbox import add_events

from . import metrics, stock
from .config import PartsSettings
from .domain.base_stock import months_back, suggested_quantity
from .domain.money import chargeback
from .domain.stock import Movement
from .requests_service import _payload, create_expected_return, refill, release_request

OPEN = "status IN ('allocated','backordered') AND ship_by IS NOT NULL"


async def commitment_list(session: AsyncSession, settings: PartsSettings, state: str, now: datetime,
                          limit: int, dealer_id: str | None = None) -> list[dict[str, Any]]:
    """Open requests at risk of (or past) their ship-by, earliest first; served by the partial index."""
    window = timedelta(hours=settings.at_risk_hours)
    cond = "ship_by < :now" if state == "breached" else "ship_by >= :now AND ship_by < :edge"
    extra = " AND dealer_id = :d" if dealer_id else ""
    rows = (await session.execute(sa.text(
        f"SELECT id::text, status, dealer_id, job_id, engineer_id, coverage, urgent, ship_by, created_at "
        f"FROM part_requests WHERE {OPEN} AND {cond}{extra} ORDER BY ship_by LIMIT :lim"),
        {"now": now, "edge": now + window, "lim": limit, "d": dealer_id})).mappings().all()
    return [dict(r) for r in rows]


async def watch_commitments(session: AsyncSession, settings: PartsSettings, now: datetime) -> tuple[int, int]:
    """Emit ShipCommitmentAtRisk / Breached once per request (conditional UPDATE marks them)."""
    window = timedelta(hours=settings.at_risk_hours)
    breached = (await session.execute(sa.text(
        f"UPDATE part_requests SET breached_emitted_at = :now WHERE id IN (SELECT id FROM part_requests "
        f"WHERE {OPEN} AND ship_by < :now AND breached_emitted_at IS NULL ORDER BY ship_by LIMIT 1000 "
        f"FOR UPDATE SKIP LOCKED) RETURNING *"), {"now": now})).mappings().all()
    at_risk = (await session.execute(sa.text(
        f"UPDATE part_requests SET at_risk_emitted_at = :now WHERE id IN (SELECT id FROM part_requests "
        f"WHERE {OPEN} AND ship_by >= :now AND ship_by < :edge AND at_risk_emitted_at IS NULL ORDER BY ship_by "
        f"LIMIT 1000 FOR UPDATE SKIP LOCKED) RETURNING *"), {"now": now, "edge": now + window})).mappings().all()
    await add_events(session, *[ShipCommitmentBreached(aggregate_id=str(r["id"]), payload=_payload(dict(r), now))
                                for r in breached],
                     *[ShipCommitmentAtRisk(aggregate_id=str(r["id"]), payload=_payload(dict(r), now))
                       for r in at_risk])
    return len(at_risk), len(breached)


async def watch_returns(session: AsyncSession, now: datetime) -> int:
    """Returns past due become chargebacks at cost price (R-P4), announced once."""
    rows = (await session.execute(sa.text(
        "UPDATE expected_returns SET status = 'missed', missed_emitted_at = :now WHERE id IN ("
        "SELECT id FROM expected_returns WHERE status = 'due' AND due_on < :now ORDER BY due_on LIMIT 1000 "
        "FOR UPDATE SKIP LOCKED) RETURNING *"), {"now": now})).mappings().all()
    events = []
    for r in rows:
        amount = chargeback(cost_price=r["cost_price"], quantity=r["quantity"])
        await session.execute(sa.text("UPDATE expected_returns SET chargeback_amount = :a WHERE id = :id"),
                              {"a": amount, "id": r["id"]})
        events.append(ReturnMissed(aggregate_id=str(r["id"]), payload={
            "return_id": str(r["id"]), "part_no": r["part_no"], "dealer_id": r["dealer_id"], "job_id": r["job_id"],
            "old_serial": r["old_serial"], "due_on": r["due_on"], "at": now, "chargeback_amount": amount}))
    await add_events(session, *events)
    return len(rows)


async def refresh_gauges(session: AsyncSession, settings: PartsSettings, now: datetime) -> None:
    """Business gauges for Grafana."""
    row = (await session.execute(sa.text(
        f"SELECT count(*) FILTER (WHERE ship_by < :now) AS breached, "
        f"count(*) FILTER (WHERE ship_by >= :now AND ship_by < :edge) AS at_risk "
        f"FROM part_requests WHERE {OPEN} AND ship_by < :edge"),
        {"now": now, "edge": now + timedelta(hours=settings.at_risk_hours)})).mappings().one()
    metrics.REQUESTS_BREACHED.set(row["breached"])
    metrics.REQUESTS_AT_RISK.set(row["at_risk"])
    metrics.BACKORDERS.set((await session.execute(sa.text(
        "SELECT count(*) FROM part_requests WHERE status = 'backordered'"))).scalar_one())
    metrics.RETURNS_OVERDUE.set((await session.execute(sa.text(
        "SELECT count(*) FROM expected_returns WHERE status = 'missed'"))).scalar_one())


async def receive_return(session: AsyncSession, settings: PartsSettings, return_id: str, *, appraisal: str,
                         warehouse_id: str | None, actor: str, now: datetime) -> dict[str, Any]:
    """Record an old part's arrival and appraisal; reusable parts go back to stock as refurbished."""
    r = (await session.execute(sa.text("SELECT * FROM expected_returns WHERE id = CAST(:id AS uuid) FOR UPDATE"),
                               {"id": return_id})).mappings().first()
    if r is None:
        raise NotFound(f"return {return_id} not found")
    if r["status"] != "due":
        raise Conflict(f"return is already {r['status']}", code="return_closed")
    if appraisal == "reusable":
        if not warehouse_id:
            raise Unprocessable("a reusable part goes back to a warehouse", field="warehouse_id")
        await stock.warehouse(session, warehouse_id)
        await stock.lock_parts(session, [r["part_no"]])
        await stock.apply_movement(session, warehouse_id=warehouse_id, part_no=r["part_no"], kind=Movement.RETURN,
                                   quantity=r["quantity"], now=now, reason="refurbished old part",
                                   ref_id=return_id, actor=actor)
        await refill(session, settings, r["part_no"], now)
    await session.execute(sa.text(
        "UPDATE expected_returns SET status = 'received', appraisal = :a, received_at = :now WHERE id = :id"),
        {"a": appraisal, "now": now, "id": r["id"]})
    await add_events(session, ReturnReceived(aggregate_id=return_id, payload={
        "return_id": return_id, "part_no": r["part_no"], "dealer_id": r["dealer_id"], "job_id": r["job_id"],
        "old_serial": r["old_serial"], "due_on": r["due_on"], "at": now, "appraisal": appraisal}))
    return {"id": return_id, "status": "received", "appraisal": appraisal}


async def base_stock(session: AsyncSession, settings: PartsSettings, dealer_id: str, today: date) -> list[dict]:
    """R-P5: per compatible part, percent of the dealer's registered sales in the window, vs depot stock."""
    start = months_back(today, settings.base_stock_months)
    sales = dict((await session.execute(sa.text(
        "SELECT product_line, count(*) FROM registered_sales WHERE dealer_id = :d AND registered_on > :s "
        "AND registered_on <= :t GROUP BY product_line"), {"d": dealer_id, "s": start, "t": today})).all())
    if not sales:
        return []
    rows = (await session.execute(sa.text(
        "SELECT c.part_no, c.name, c.product_lines, COALESCE((SELECT sum(b.on_hand) FROM stock_balances b "
        "JOIN warehouses w ON w.id = b.warehouse_id WHERE w.kind = 'dealer_depot' AND w.dealer_id = :d "
        "AND b.part_no = c.part_no), 0) AS on_hand FROM catalogue_parts c WHERE c.product_lines && :pl "
        "ORDER BY c.part_no"), {"d": dealer_id, "pl": list(sales)})).mappings().all()
    out = []
    for r in rows:
        n = sum(sales.get(pl, 0) for pl in r["product_lines"])
        q = suggested_quantity(n, percent=settings.base_stock_percent)
        if q > 0:
            out.append({"part_no": r["part_no"], "name": r["name"], "registered_sales": n, "suggested": q,
                        "depot_on_hand": int(r["on_hand"]), "shortfall": max(q - int(r["on_hand"]), 0)})
    return out


async def job_completed(session: AsyncSession, settings: PartsSettings, p: Any, now: datetime) -> None:
    """Issue the parts a job used, create expected returns for warranty must-return parts, release the rest."""
    for used in p.parts_used:
        cat = (await session.execute(sa.text("SELECT * FROM catalogue_parts WHERE part_no = :p"),
                                     {"p": used.part_no})).mappings().first()
        if cat is None:
            continue  # a part outside our catalogue (e.g. a local consumable): nothing to issue or return
        await stock.lock_parts(session, [used.part_no])
        q = ("SELECT id::text, warehouse_id::text, quantity FROM reservations WHERE job_id = :job AND part_no = :p "
             "AND status = 'active'" + (" AND id = CAST(:rid AS uuid)" if used.reservation_id else "") +
             " ORDER BY created_at LIMIT 1 FOR UPDATE")
        res = (await session.execute(sa.text(q), {"job": p.job_id, "p": used.part_no,
                                                  "rid": used.reservation_id})).mappings().first()
        if res is not None:
            await stock.apply_movement(session, warehouse_id=res["warehouse_id"], part_no=used.part_no,
                                       kind=Movement.ISSUE, quantity=res["quantity"], now=now, ref_id=res["id"])
            await session.execute(sa.text("UPDATE reservations SET status = 'issued' WHERE id = :id"),
                                  {"id": res["id"]})
        elif p.engineer_id and not (await session.execute(sa.text(
                "SELECT 1 FROM reservations WHERE job_id = :job AND part_no = :p LIMIT 1"),
                {"job": p.job_id, "p": used.part_no})).first():
            # nothing was reserved for this job: the engineer used a part from the van
            van = (await session.execute(sa.text(
                "SELECT b.warehouse_id::text FROM stock_balances b JOIN warehouses w ON w.id = b.warehouse_id "
                "WHERE w.kind = 'engineer_van' AND w.engineer_id = :e AND b.part_no = :p "
                "AND b.on_hand - b.reserved >= :q LIMIT 1"),
                {"e": p.engineer_id, "p": used.part_no, "q": used.quantity})).scalar()
            if van:
                await stock.apply_movement(session, warehouse_id=van, part_no=used.part_no,
                                           kind=Movement.ISSUE_UNRESERVED, quantity=used.quantity, now=now,
                                           ref_id=p.job_id, reason="used on job")
        if p.coverage == "warranty" and cat["must_return"]:
            await create_expected_return(session, settings, request_id=None, job_id=p.job_id, dealer_id=p.dealer_id,
                                         engineer_id=p.engineer_id, part_no=used.part_no, quantity=used.quantity,
                                         old_serial=used.old_serial, cost_price=cat["cost_price"], now=now)
    await release_job(session, settings, p.job_id, now, "job completed: part not used")


async def release_job(session: AsyncSession, settings: PartsSettings, job_id: str, now: datetime, reason: str) -> int:
    """Cancel the job's open requests and release their reservations."""
    ids = (await session.execute(sa.text(
        "SELECT id::text FROM part_requests WHERE job_id = :j AND status IN ('allocated','backordered') ORDER BY id"),
        {"j": job_id})).scalars().all()
    n = 0
    for rid in ids:
        n += await release_request(session, settings, rid, now, reason)
    return n


async def record_sale(session: AsyncSession, p: Any) -> None:
    """A registered sale counts toward the dealer's base stock (R-P5)."""
    if not p.dealer_id:
        return
    await session.execute(sa.text(
        "INSERT INTO registered_sales (serial, dealer_id, product_line, registered_on) VALUES (:s, :d, :pl, :r) "
        "ON CONFLICT (serial) DO NOTHING"),
        {"s": p.serial, "d": p.dealer_id, "pl": p.product_line, "r": p.registered_on})
