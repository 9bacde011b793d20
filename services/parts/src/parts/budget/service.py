"""R-P7 the dealer's quarterly parts budget: set by finance, consumed by dealer shipments (rules: domain/budget.py).

Quarters are counted on the business calendar (``clock.BUSINESS_TZ``, Asia/Shanghai)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.errors import Conflict, NotFound
from aftersales_shared.events.parts import BudgetExcessCharged
from aftersales_shared.money import MAX_AMOUNT
from aftersales_shared.outbox import add_events

from ..config import PartsSettings
from ..domain.budget import ZERO, budget_amount, draw_value, excess, quarter_of

_COLS = "dealer_id, quarter, remittance, percent, budget, used, excess_charged, updated_at, updated_by"


def _view(row: Any) -> dict[str, Any]:
    r = dict(row)
    r["remaining"] = max(r["budget"] - r["used"], ZERO)
    return r


async def put(session: AsyncSession, settings: PartsSettings, *, dealer_id: str, quarter: str,
              remittance: Decimal, percent: Decimal | None, actor: str, now: datetime) -> tuple[dict[str, Any], bool]:
    """Record the quarter's remittance; the budget is re-computed, what was already used (and charged) stays.

    Returns the row and whether it was created. The upsert takes the row lock a concurrent shipment takes."""
    pct = settings.budget_percent if percent is None else percent
    row = (await session.execute(sa.text(
        f"INSERT INTO dealer_parts_budgets (dealer_id, quarter, remittance, percent, budget, updated_at, updated_by) "
        f"VALUES (:d, :q, :r, :p, :b, :now, :by) ON CONFLICT (dealer_id, quarter) DO UPDATE SET "
        f"remittance = EXCLUDED.remittance, percent = EXCLUDED.percent, budget = EXCLUDED.budget, "
        f"updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by "
        f"RETURNING {_COLS}, (xmax = 0) AS created"),
        {"d": dealer_id, "q": quarter, "r": remittance, "p": pct, "b": budget_amount(remittance, pct), "now": now,
         "by": actor})).mappings().one()
    r = _view(row)
    return r, bool(r.pop("created"))


async def get(session: AsyncSession, dealer_id: str, quarter: str) -> dict[str, Any]:
    row = (await session.execute(sa.text(
        f"SELECT {_COLS} FROM dealer_parts_budgets WHERE dealer_id = :d AND quarter = :q"),
        {"d": dealer_id, "q": quarter})).mappings().first()
    if row is None:
        raise NotFound(f"no parts budget for dealer {dealer_id} in {quarter}", field="quarter")
    return _view(row)


async def draw(session: AsyncSession, settings: PartsSettings, r: dict[str, Any], *, shipment_id: str,
               now: datetime) -> dict[str, Any] | None:
    """A dealer's own request ships: consume its list-price value from the quarter's budget (R-P7).

    Only dealer draws for repairs count: in-warranty requests the dealer placed for itself. Job requests
    (engineer/clerk) are not dealer draws, and paid requests are bought (R-P2), never supplied from the budget.
    One UPDATE ... RETURNING on the budget row serialises concurrent shipments of the same dealer and
    quarter: each sees the ``used`` the previous one left. Returns what the shipment records, or None.
    """
    if r["requester_kind"] != "dealer" or not r["dealer_id"] or r["coverage"] != "warranty":
        return None
    quarter = quarter_of(now, clock.BUSINESS_TZ)
    lines = (await session.execute(sa.text(
        "SELECT c.list_price, l.quantity FROM part_request_lines l JOIN catalogue_parts c ON c.part_no = l.part_no "
        "WHERE l.request_id = :id AND l.status = 'allocated'"), {"id": str(r["id"])})).all()
    value = draw_value([(price, qty) for price, qty in lines])
    params = {"v": value, "d": r["dealer_id"], "q": quarter, "max": MAX_AMOUNT}
    row = (await session.execute(sa.text(
        "UPDATE dealer_parts_budgets SET used = used + :v WHERE dealer_id = :d AND quarter = :q "
        "AND used + :v <= :max RETURNING used, budget"), params)).first()
    if value > MAX_AMOUNT or (row is None and (await session.execute(sa.text(
            "SELECT 1 FROM dealer_parts_budgets WHERE dealer_id = :d AND quarter = :q"), params)).first()):
        raise Conflict(f"the shipment's list-price value {value} would exceed what the budget books hold",
                       field="lines", code="amount_out_of_range")
    if row is None:
        drawn = {"quarter": quarter, "value": value, "enforced": False, "excess": None,
                 "reason": f"no parts budget recorded for {quarter}"}
    else:
        used_after, budget = row
        over = excess(value=value, used_before=used_after - value, budget=budget)
        drawn = {"quarter": quarter, "value": value, "enforced": True, "excess": over}
        if over > 0:
            await session.execute(sa.text(
                "UPDATE dealer_parts_budgets SET excess_charged = excess_charged + :x "
                "WHERE dealer_id = :d AND quarter = :q"), {"x": over, "d": r["dealer_id"], "q": quarter})
            await add_events(session, BudgetExcessCharged(
                aggregate_id=f"{r['dealer_id']}:{quarter}", payload={
                    "dealer_id": r["dealer_id"], "request_id": str(r["id"]), "shipment_id": shipment_id,
                    "quarter": quarter, "value": value, "excess_amount": over, "at": now}))
    await session.execute(sa.text(
        "UPDATE shipments SET budget_quarter = :q, budget_value = :v, budget_excess = :x WHERE id = :id"),
        {"q": quarter, "v": value, "x": drawn["excess"], "id": shipment_id})
    return drawn
