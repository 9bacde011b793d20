"""Warehouses, the stock movements clerks make, reorder points and base stock (R-P5).

Every movement that adds sellable stock (receipt, transfer, positive adjustment) re-runs allocation of the
part's backorders in ship-by order (``requests/backorders.py``) in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, NotFound

from .. import access
from ..config import PartsSettings
from ..domain.base_stock import months_back, suggested_quantity
from ..domain.stock import Movement
from ..models import balances, registered_sales, warehouses
from ..requests import backorders
from ..terms import service as dealer_terms
from . import ledger
from .schemas import Adjustment, Receipt, ReorderPoint, Transfer, WarehouseCreate

_WAREHOUSE = [sa.cast(warehouses.c.id, sa.Text).label("id"), warehouses.c.code, warehouses.c.name,
              warehouses.c.kind, warehouses.c.lat, warehouses.c.lon, warehouses.c.dealer_id, warehouses.c.engineer_id]
_AVAILABLE = (balances.c.on_hand - balances.c.reserved).label("available")


async def create_warehouse(session: AsyncSession, body: WarehouseCreate, *, now: datetime) -> dict[str, Any]:
    """Register a warehouse; a depot names its dealer, a van its engineer; codes are unique."""
    if body.kind == "dealer_depot" and not body.dealer_id:
        raise Conflict("a dealer depot names its dealer", field="dealer_id", code="owner_required", status=422)
    if body.kind == "engineer_van" and not body.engineer_id:
        raise Conflict("an engineer van names its engineer", field="engineer_id", code="owner_required", status=422)
    if (await session.execute(sa.select(warehouses.c.id).where(warehouses.c.code == body.code))).first():
        raise Conflict(f"warehouse code {body.code} exists", field="code", code="duplicate_warehouse")
    wid = str(uuid.uuid4())
    await session.execute(sa.insert(warehouses).values(id=wid, created_at=now, **body.model_dump()))
    return {"id": wid, **body.model_dump()}


async def list_warehouses(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    """Warehouses the caller may see (dealers: own depots; engineers: own van)."""
    q = sa.select(*_WAREHOUSE).where(access.visible(principal, warehouses)).order_by(warehouses.c.code)
    return [dict(r) for r in (await session.execute(q)).mappings()]


async def warehouse_stock(session: AsyncSession, principal: Principal, warehouse_id: str) -> list[dict[str, Any]]:
    """On-hand, reserved and available per part in one warehouse the caller may see (else 404)."""
    seen = (await session.execute(sa.select(warehouses.c.id).where(
        warehouses.c.id == warehouse_id, access.visible(principal, warehouses)))).first()
    if seen is None:
        raise NotFound(f"warehouse {warehouse_id} not found")
    q = (sa.select(balances.c.part_no, balances.c.on_hand, balances.c.reserved, _AVAILABLE, balances.c.reorder_point)
         .where(balances.c.warehouse_id == warehouse_id).order_by(balances.c.part_no))
    return [dict(r) for r in (await session.execute(q)).mappings()]


async def receive(session: AsyncSession, settings: PartsSettings, body: Receipt, *, actor: str,
                  now: datetime) -> dict[str, Any]:
    """Goods received into a warehouse; then the part's backorders are filled in ship-by order."""
    await ledger.warehouse(session, body.warehouse_id)
    await ledger.part(session, body.part_no)
    await ledger.lock_parts(session, [body.part_no])
    bal = await ledger.apply_movement(session, warehouse_id=body.warehouse_id, part_no=body.part_no,
                                      kind=Movement.RECEIPT, quantity=body.quantity, now=now,
                                      reason=body.reference, actor=actor)
    filled = await backorders.refill(session, settings, body.part_no, now)
    return {"on_hand": bal["on_hand"], "backorder_lines_filled": filled}


async def transfer(session: AsyncSession, settings: PartsSettings, body: Transfer, *, actor: str,
                   now: datetime) -> dict[str, Any]:
    """Move stock between warehouses (out + in movements in one transaction); re-runs allocation."""
    if body.from_warehouse_id == body.to_warehouse_id:
        raise Conflict("source and destination are the same", field="to_warehouse_id", status=422)
    await ledger.warehouse(session, body.from_warehouse_id, "from_warehouse_id")
    await ledger.warehouse(session, body.to_warehouse_id, "to_warehouse_id")
    await ledger.part(session, body.part_no)
    await ledger.lock_parts(session, [body.part_no])
    await ledger.apply_movement(session, warehouse_id=body.from_warehouse_id, part_no=body.part_no,
                                kind=Movement.TRANSFER_OUT, quantity=body.quantity, now=now, actor=actor,
                                ref_id=body.to_warehouse_id)
    await ledger.apply_movement(session, warehouse_id=body.to_warehouse_id, part_no=body.part_no,
                                kind=Movement.TRANSFER_IN, quantity=body.quantity, now=now, actor=actor,
                                ref_id=body.from_warehouse_id)
    filled = await backorders.refill(session, settings, body.part_no, now)
    return {"moved": body.quantity, "backorder_lines_filled": filled}


async def adjust(session: AsyncSession, settings: PartsSettings, body: Adjustment, *, actor: str,
                 now: datetime) -> dict[str, Any]:
    """A counted correction (with reason) or a scrap; never below what is reserved."""
    await ledger.warehouse(session, body.warehouse_id)
    await ledger.part(session, body.part_no)
    kind = Movement.SCRAP if body.kind == "scrap" else Movement.ADJUST
    if kind is Movement.SCRAP and body.quantity < 0:
        raise Conflict("scrap quantity is positive", field="quantity", status=422)
    await ledger.lock_parts(session, [body.part_no])
    bal = await ledger.apply_movement(session, warehouse_id=body.warehouse_id, part_no=body.part_no, kind=kind,
                                      quantity=body.quantity, now=now, reason=body.reason, actor=actor)
    filled = 0
    if body.quantity > 0 and kind is Movement.ADJUST:
        filled = await backorders.refill(session, settings, body.part_no, now)
    return {"on_hand": bal["on_hand"], "reserved": bal["reserved"], "backorder_lines_filled": filled}


async def set_reorder_point(session: AsyncSession, body: ReorderPoint, *, now: datetime) -> dict[str, Any]:
    """Set a warehouse's reorder point for a part (low-stock alert threshold)."""
    await ledger.warehouse(session, body.warehouse_id)
    await ledger.part(session, body.part_no)
    bal = await ledger.set_reorder_point(session, warehouse_id=body.warehouse_id, part_no=body.part_no,
                                         reorder_point=body.reorder_point, now=now)
    return {**body.model_dump(), "available": bal["on_hand"] - bal["reserved"]}


async def low_stock(session: AsyncSession, *, limit: int) -> list[dict[str, Any]]:
    """Balances below their reorder point."""
    q = (sa.select(sa.cast(balances.c.warehouse_id, sa.Text).label("warehouse_id"), balances.c.part_no,
                   balances.c.on_hand, balances.c.reserved, _AVAILABLE, balances.c.reorder_point)
         .where(balances.c.reorder_point > 0, balances.c.on_hand - balances.c.reserved < balances.c.reorder_point)
         .order_by(balances.c.warehouse_id, balances.c.part_no).limit(limit))
    return [dict(r) for r in (await session.execute(q)).mappings()]


async def base_stock(session: AsyncSession, settings: PartsSettings, dealer_id: str,
                     today: date) -> list[dict[str, Any]]:
    """R-P5: per compatible part, the dealer's base-stock percent in force today of its registered sales in the
    window, vs depot stock."""
    terms = await dealer_terms.terms_on(session, settings, dealer_id=dealer_id, on=today)
    start = months_back(today, settings.base_stock_months)
    sales: dict[str, int] = {pl: n for pl, n in (await session.execute(sa.text(
        "SELECT product_line, count(*) FROM registered_sales WHERE dealer_id = :d AND registered_on > :s "
        "AND registered_on <= :t GROUP BY product_line"), {"d": dealer_id, "s": start, "t": today})).all()}
    if not sales:
        return []
    rows = (await session.execute(sa.text(
        "SELECT c.part_no, c.name, c.product_lines, COALESCE((SELECT sum(b.on_hand) FROM stock_balances b "
        "JOIN warehouses w ON w.id = b.warehouse_id WHERE w.kind = 'dealer_depot' AND w.dealer_id = :d "
        "AND b.part_no = c.part_no), 0) AS on_hand FROM catalogue_parts c WHERE c.product_lines && :pl "
        "ORDER BY c.part_no"), {"d": dealer_id, "pl": list(sales)})).mappings().all()
    found = []
    for r in rows:
        n = sum(sales.get(pl, 0) for pl in r["product_lines"])
        q = suggested_quantity(n, percent=terms.base_stock_percent)
        if q > 0:
            found.append({"part_no": r["part_no"], "name": r["name"], "registered_sales": n, "suggested": q,
                          "depot_on_hand": int(r["on_hand"]), "shortfall": max(q - int(r["on_hand"]), 0)})
    return found


async def record_sale(session: AsyncSession, p: Any) -> None:
    """A registered sale counts toward the dealer's base stock (R-P5); a serial counts once."""
    if not p.dealer_id:
        return
    await session.execute(insert(registered_sales).values(
        serial=p.serial, dealer_id=p.dealer_id, product_line=p.product_line, registered_on=p.registered_on,
    ).on_conflict_do_nothing(index_elements=["serial"]))
