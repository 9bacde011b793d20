"""R-W10 in settlement (issue 15 item 6): each unit's sale date and warranty card registration as ticketing
reports them, and whether a repair of it is reimbursed to the dealer. The rule is the pure
``domain/terms.py::card_not_reimbursable``; the deadline is the dealer term ``card_registration_days`` in force at
the sale. A unit settlement has never heard of (recorded before ticketing reported units) is reimbursed as before.
Tests: ``tests/settlement/test_card_registration.py``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.terms import card_not_reimbursable
from ..models import unit_sales
from ..terms.service import terms_on


async def remember(session: AsyncSession, *, serial: str, dealer_id: str | None, sold_on: date | None,
                   registered_on: date | None, now: datetime, keep_known: bool = False) -> None:
    """Upsert the unit's sale facts; ``keep_known``: a card event keeps a dealer/sale date it does not name."""
    stmt = insert(unit_sales).values(serial=serial, dealer_id=dealer_id, sold_on=sold_on,
                                     registered_on=registered_on, updated_at=now)
    x, c = stmt.excluded, unit_sales.c
    stmt = stmt.on_conflict_do_update(index_elements=["serial"], set_={
        "dealer_id": func.coalesce(x.dealer_id, c.dealer_id) if keep_known else x.dealer_id,
        "sold_on": func.coalesce(x.sold_on, c.sold_on) if keep_known else x.sold_on,
        "registered_on": x.registered_on, "updated_at": x.updated_at})
    await session.execute(stmt)


async def why_not_reimbursed(session: AsyncSession, *, dealer_id: str, sold_on: date | None,
                             registered_on: date | None, on: date, defaults: dict[str, Any]) -> str | None:
    """The R-W10 reason under the dealer's card deadline in force at the sale (or on ``on``), None when fine."""
    terms = await terms_on(session, dealer_id=dealer_id, on=sold_on or on, defaults=defaults)
    return card_not_reimbursable(sold_on=sold_on, registered_on=registered_on, on=on,
                                 days=terms.card_registration_days)


async def repair_refused(session: AsyncSession, *, serial: str, dealer_id: str, on: date,
                         defaults: dict[str, Any]) -> str | None:
    """Why a repair done on ``on`` of ``serial`` earns the dealer nothing under R-W10, or None."""
    row = (await session.execute(select(unit_sales).where(unit_sales.c.serial == serial))).mappings().first()
    if row is None:
        return None
    return await why_not_reimbursed(session, dealer_id=dealer_id, sold_on=row["sold_on"],
                                    registered_on=row["registered_on"], on=on, defaults=defaults)
