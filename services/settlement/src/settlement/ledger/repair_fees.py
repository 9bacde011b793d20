"""Issue 15: a dealer's repair fee follows what is learnt after it was booked.

``dispatch.job.completed`` books an in-warranty repair's fee (``consumers.on_job_completed``) and this module
remembers the job (``repair_fees``: ticket, serial, dealer, whether its fee is booked now). Later facts re-judge it:

- ``ticketing.ticket.coverage_changed`` (diagnosis or call-center override) making the ticket paid reverses the
  booked fee (``repair_fee_reversed`` and ``home_visit_fee_reversed`` facts: negative lines on the next
  statement); paid → warranty books it (``repair`` / ``home_visit`` facts of source ``settlement.repair_rebooked``);
- a unit fact (``ticketing.unit.recorded`` / ``.registered``) arriving after the repair and showing the warranty
  card missing or late (R-W10) reverses it the same way.

Each flip bumps the job's ``generation``, the ledger source id of what it books, so a redelivered event (or the
same decision again) books nothing twice; the job row is locked while it is re-judged. A ticket's latest decision
is kept (``ticket_coverage``) so a completion arriving after the decision is settled by it. Facts are placed at the
repair's time (its quarter, or the next open one when that is closed). Tests: ``tests/settlement/test_fee_reversal.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock

from ..models import repair_fees, ticket_coverage
from . import registration
from . import service as ledger

IN_WARRANTY = ("warranty", "extended")
REVERSED = "settlement.repair_fee_reversed"
REBOOKED = "settlement.repair_rebooked"


async def decision_of(session: AsyncSession, ticket_id: str) -> tuple[str, str] | None:
    """The ticket's latest coverage decision after intake (coverage, reason), if any reached settlement."""
    row = (await session.execute(select(ticket_coverage.c.coverage, ticket_coverage.c.reason)
                                 .where(ticket_coverage.c.ticket_id == ticket_id))).first()
    return (row[0], row[1]) if row is not None else None


async def remember(session: AsyncSession, *, job_id: str, ticket_id: str, serial: str, dealer_id: str,
                   completed_at: datetime, home_visit: bool, repaired: bool, coverage: str, fee_booked: bool,
                   now: datetime) -> None:
    """Keep a completed job as its completion settled it (a second copy of the completion changes nothing)."""
    await session.execute(insert(repair_fees).values(
        job_id=job_id, ticket_id=ticket_id, serial=serial, dealer_id=dealer_id, completed_at=completed_at,
        home_visit=home_visit, repaired=repaired, coverage=coverage, fee_booked=fee_booked, generation=0,
        updated_at=now).on_conflict_do_nothing(index_elements=["job_id"]))


async def coverage_changed(session: AsyncSession, *, ticket_id: str, coverage: str, reason: str,
                           changed_at: datetime, defaults: dict[str, Any], now: datetime) -> int:
    """A ticket's coverage changed: keep the decision (an older one than kept changes nothing) and re-judge its
    completed jobs. Returns how many fees were reversed or booked."""
    ins = insert(ticket_coverage).values(ticket_id=ticket_id, coverage=coverage, reason=reason,
                                         changed_at=changed_at)
    stmt = ins.on_conflict_do_update(
        index_elements=["ticket_id"], set_={"coverage": ins.excluded.coverage, "reason": ins.excluded.reason,
                                            "changed_at": ins.excluded.changed_at},
        where=ticket_coverage.c.changed_at < ins.excluded.changed_at).returning(ticket_coverage.c.ticket_id)
    if (await session.execute(stmt)).first() is None:
        return 0  # an older (or the same) decision: the kept one stands
    rows = (await session.execute(select(repair_fees).where(repair_fees.c.ticket_id == ticket_id)
                                  .order_by(repair_fees.c.job_id).with_for_update())).mappings().all()
    flips = 0
    for row in rows:
        flips += await _rejudge(session, row, coverage=coverage, why=reason, defaults=defaults, now=now)
    return flips


async def unit_changed(session: AsyncSession, *, serial: str, defaults: dict[str, Any], now: datetime) -> int:
    """A unit's sale/card facts arrived or changed (R-W10): re-judge the completed jobs of that serial."""
    rows = (await session.execute(select(repair_fees).where(repair_fees.c.serial == serial)
                                  .order_by(repair_fees.c.job_id).with_for_update())).mappings().all()
    flips = 0
    for row in rows:
        flips += await _rejudge(session, row, coverage=row["coverage"], why=None, defaults=defaults, now=now)
    return flips


async def _rejudge(session: AsyncSession, row: Any, *, coverage: str, why: str | None, defaults: dict[str, Any],
                   now: datetime) -> int:
    refused = None
    if coverage in IN_WARRANTY:
        refused = await registration.repair_refused(
            session, serial=row["serial"], dealer_id=row["dealer_id"],
            on=clock.business_date(row["completed_at"]), defaults=defaults)
    due = row["repaired"] and coverage in IN_WARRANTY and refused is None
    values: dict[str, Any] = {"coverage": coverage, "updated_at": now}
    flipped = 0
    if due != row["fee_booked"]:
        gen = row["generation"] + 1
        source_id = f"{row['job_id']}:{gen}"
        reason = why if why and not refused else (refused or why or "coverage changed")
        details = {"job_id": row["job_id"], "serial": row["serial"], "ticket_id": row["ticket_id"],
                   "reason": reason, "coverage": coverage}
        if due:
            await ledger.book_repair(session, dealer_id=row["dealer_id"], at=row["completed_at"],
                                     home_visit=row["home_visit"], source_type=REBOOKED, source_id=source_id,
                                     details=details, now=now)
        else:
            await ledger.record(session, dealer_id=row["dealer_id"], kind="repair_fee_reversed",
                                occurred_at=row["completed_at"], source_type=REVERSED, source_id=source_id,
                                details=details, now=now)
            if row["home_visit"]:
                await ledger.record(session, dealer_id=row["dealer_id"], kind="home_visit_fee_reversed",
                                    occurred_at=row["completed_at"], source_type=REVERSED + "#home_visit",
                                    source_id=source_id, details=details, now=now)
        values.update(fee_booked=due, generation=gen)
        flipped = 1
    await session.execute(repair_fees.update().where(repair_fees.c.job_id == row["job_id"]).values(**values))
    return flipped
