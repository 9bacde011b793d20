"""The settlement ledger: every fact a statement is built from, traceable to its source, applied once."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .domain.money import ZERO, to_fen
from .domain.quarters import Quarter, quarter_of

CLOSED = ("approved", "paid")

# Ledger kinds that feed statements; callback and sla_breach feed only the monthly assessment.
STATEMENT_KINDS = (
    "registered_sale", "payment", "repair", "home_visit", "return_cost", "complaint_upheld",
    "part_not_returned", "urgent_surcharge", "parts_budget_excess", "void_finding", "falsified_finding", "adjustment",
    "falsified_cards", "breach",
)
ASSESSMENT_KINDS = ("callback", "sla_breach")
ALL_KINDS = STATEMENT_KINDS + ASSESSMENT_KINDS


async def lock_dealer(session: AsyncSession, dealer_id: str) -> None:
    """Serialise ledger booking against approval for one dealer (late-event routing must see closures)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('settlement-dealer:' || :d))"),
                          {"d": dealer_id})


async def open_quarter_for(session: AsyncSession, dealer_id: str, quarter: Quarter) -> Quarter:
    """The quarter a fact is booked into: its own, or the next one not yet closed (late facts)."""
    rows = await session.execute(
        text("SELECT DISTINCT quarter FROM statements WHERE dealer_id = :d AND quarter >= :q "
             "AND status IN ('approved', 'paid')"),
        {"d": dealer_id, "q": str(quarter)},
    )
    closed = {r[0] for r in rows}
    while str(quarter) in closed:
        quarter = quarter.next()
    return quarter


async def record(
    session: AsyncSession, *, dealer_id: str, kind: str, occurred_at: datetime, source_type: str, source_id: str,
    amount: Decimal = ZERO, quantity: int = 1, details: dict[str, Any] | None = None,
) -> bool:
    """Book one ledger entry; False when its source was already applied (redelivery, re-import)."""
    if kind not in ALL_KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    await lock_dealer(session, dealer_id)
    original = quarter_of(occurred_at)
    booked = await open_quarter_for(session, dealer_id, original)
    result = await session.execute(
        text("INSERT INTO ledger_entries (dealer_id, kind, amount, quantity, occurred_at, quarter, booked_quarter, "
             "source_type, source_id, details) VALUES (:d, :k, :a, :n, :t, :q, :b, :st, :sid, CAST(:det AS jsonb)) "
             "ON CONFLICT (source_type, source_id) DO NOTHING RETURNING id"),
        {"d": dealer_id, "k": kind, "a": to_fen(amount), "n": quantity, "t": occurred_at, "q": str(original),
         "b": str(booked), "st": source_type, "sid": source_id, "det": json.dumps(details or {}, default=str)},
    )
    return result.first() is not None
