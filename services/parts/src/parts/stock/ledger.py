"""The stock ledger: every change is a movement row plus the balance row, in one transaction.

Used by every aggregate that moves stock (receipts, transfers, allocation refill, shipping, job completion,
returns). Hand-written SQL on purpose: it runs under the per-part advisory lock (the same key the PL/pgSQL
allocation in migration parts_0003 takes) on the tables ``models.balances`` / ``models.movements``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.events.parts import LowStock
from aftersales_shared.outbox import add_events

from ..domain.stock import Movement, deltas

_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext('parts.stock:' || :p))")
_INT_MAX = 2_147_483_647  # the balance columns are INTEGER
_UPDATE = sa.text(
    "UPDATE stock_balances SET on_hand = on_hand + :dh, reserved = reserved + :dr, updated_at = :now "
    "WHERE warehouse_id = :w AND part_no = :p "
    f"AND on_hand::bigint + :dh <= {_INT_MAX} AND reserved::bigint + :dr <= {_INT_MAX} "
    "RETURNING on_hand, reserved, reorder_point, low_alerted"
)
_EXISTS = sa.text("SELECT 1 FROM stock_balances WHERE warehouse_id = :w AND part_no = :p")
_INSERT_BAL = sa.text(
    "INSERT INTO stock_balances (warehouse_id, part_no, on_hand, reserved, reorder_point, low_alerted, updated_at) "
    "VALUES (:w, :p, :dh, :dr, 0, false, :now) RETURNING on_hand, reserved, reorder_point, low_alerted"
)
_INSERT_MOVE = sa.text(
    "INSERT INTO stock_movements (warehouse_id, part_no, kind, quantity, on_hand_delta, reserved_delta, reason, "
    "ref_id, actor, at) VALUES (:w, :p, :k, :q, :dh, :dr, :reason, :ref, :actor, :now)"
)


async def lock_parts(session: AsyncSession, part_nos: Iterable[str]) -> None:
    """Serialise stock changes per part (sorted, so two transactions never wait on each other in a cycle)."""
    for p in sorted(set(part_nos)):
        await session.execute(_LOCK, {"p": p})


async def apply_movement(
    session: AsyncSession, *, warehouse_id: str, part_no: str, kind: Movement, quantity: int, now: datetime,
    reason: str | None = None, ref_id: str | None = None, actor: str | None = None, prechecked: bool = False,
) -> dict[str, Any]:
    """Append a movement and update the balance; a broken invariant (negative, over-reserved) is a 409.

    ``prechecked`` skips the savepoint when the caller already locked and checked the balance (allocation);
    the CHECK constraints still stop any oversell, they would just abort the whole transaction.
    """
    dh, dr = deltas(kind, quantity)
    params = {"w": warehouse_id, "p": part_no, "dh": dh, "dr": dr, "now": now}
    if prechecked:
        row = (await session.execute(_UPDATE, params)).mappings().one()
        await session.execute(_INSERT_MOVE, {**params, "k": kind.value, "q": quantity, "reason": reason,
                                             "ref": ref_id, "actor": actor})
        await _low_stock_check(session, warehouse_id, part_no, dict(row), now)
        return dict(row)
    try:
        async with session.begin_nested():
            found = (await session.execute(_UPDATE, params)).mappings().first()
            if found is None and (await session.execute(_EXISTS, params)).first() is not None:
                raise Conflict(f"the balance of {part_no} would exceed {_INT_MAX} units", field="quantity",
                               code="stock_out_of_range")
            if found is None:
                if dh < 0 or dr < 0:
                    raise Conflict(f"no stock of {part_no} in this warehouse", field="quantity",
                                   code="insufficient_stock")
                found = (await session.execute(_INSERT_BAL, params)).mappings().one()
            row = found
            await session.execute(_INSERT_MOVE, {**params, "k": kind.value, "q": quantity, "reason": reason,
                                                 "ref": ref_id, "actor": actor})
    except IntegrityError as exc:
        raise Conflict(f"not enough stock of {part_no} for this movement", field="quantity",
                       code="insufficient_stock") from exc
    await _low_stock_check(session, warehouse_id, part_no, dict(row), now)
    return dict(row)


async def _low_stock_check(session: AsyncSession, w: str, p: str, row: dict[str, Any], now: datetime) -> None:
    available = row["on_hand"] - row["reserved"]
    low = row["reorder_point"] > 0 and available < row["reorder_point"]
    if low and not row["low_alerted"]:
        await session.execute(sa.text("UPDATE stock_balances SET low_alerted = true WHERE warehouse_id = :w "
                                      "AND part_no = :p"), {"w": w, "p": p})
        await add_events(session, LowStock(aggregate_id=f"{w}:{p}", payload={
            "warehouse_id": w, "part_no": p, "available": available, "reorder_point": row["reorder_point"],
            "at": now}))
    elif not low and row["low_alerted"]:
        await session.execute(sa.text("UPDATE stock_balances SET low_alerted = false WHERE warehouse_id = :w "
                                      "AND part_no = :p"), {"w": w, "p": p})


async def warehouse(session: AsyncSession, warehouse_id: str, field: str = "warehouse_id") -> dict[str, Any]:
    """A warehouse row or 404 naming ``field`` (422 when the id is not a UUID)."""
    try:
        uuid.UUID(warehouse_id)
    except ValueError as exc:
        raise Unprocessable("not a valid warehouse id", field=field) from exc
    row = (await session.execute(sa.text("SELECT * FROM warehouses WHERE id = CAST(:id AS uuid)"),
                                 {"id": warehouse_id})).mappings().first()
    if row is None:
        raise NotFound(f"warehouse {warehouse_id} not found", field=field)
    return dict(row)


async def part(session: AsyncSession, part_no: str, field: str = "part_no") -> dict[str, Any]:
    """A catalogue row or 422 naming the field."""
    row = (await session.execute(sa.text("SELECT * FROM catalogue_parts WHERE part_no = :p"),
                                 {"p": part_no})).mappings().first()
    if row is None:
        raise Unprocessable(f"unknown part {part_no}", field=field, code="unknown_part")
    return dict(row)


async def set_reorder_point(session: AsyncSession, *, warehouse_id: str, part_no: str, reorder_point: int,
                            now: datetime) -> dict[str, Any]:
    """Set (creating an empty balance if needed) a reorder point and re-evaluate the low-stock alert."""
    await lock_parts(session, [part_no])
    row = (await session.execute(sa.text(
        "INSERT INTO stock_balances (warehouse_id, part_no, on_hand, reserved, reorder_point, low_alerted, updated_at) "
        "VALUES (:w, :p, 0, 0, :rp, false, :now) ON CONFLICT (warehouse_id, part_no) DO UPDATE SET "
        "reorder_point = EXCLUDED.reorder_point, updated_at = EXCLUDED.updated_at "
        "RETURNING on_hand, reserved, reorder_point, low_alerted"),
        {"w": warehouse_id, "p": part_no, "rp": reorder_point, "now": now})).mappings().one()
    await _low_stock_check(session, warehouse_id, part_no, dict(row), now)
    return dict(row)
