"""Disputes about a statement (R-D6): opened by its dealer within 3 months, accepted (an adjustment is booked
into a later statement) or rejected once by finance. Status machine: ``domain/dispute_lifecycle.py``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, DomainError, NotFound, Unprocessable
from aftersales_shared.events.settlement import DisputePayload
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from ..access import visible
from ..audit import audit
from ..domain.dispute_lifecycle import MOVES, DisputeAction, DisputeStatus, resolution
from ..domain.quarters import Quarter, dispute_allowed, dispute_deadline, local_date, quarter_of
from ..ledger.service import record
from ..models import disputes, statements
from ..statements.service import get_statement
from ..terms.service import terms_on


async def open_dispute(session: AsyncSession, *, statement_id: UUID, actor: Principal, reason: str,
                       line_no: int | None, claimed_amount: Decimal | None, now: datetime,
                       defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """A dealer disputes its statement (or one line) within the window of its terms in force on the statement's
    issue date (R-D6)."""
    move = MOVES[DisputeAction.OPEN]
    st = await get_statement(session, statement_id=statement_id, principal=actor)
    if line_no is not None and not any(ln["line_no"] == line_no for ln in st["lines"]):
        raise Unprocessable(f"statement has no line {line_no}", field="line_no")
    terms = await terms_on(session, dealer_id=st["dealer_id"], on=local_date(st["created_at"]),
                           defaults=defaults or {})
    months = terms.dispute_window_months
    if not dispute_allowed(st["created_at"], now, months):
        raise DomainError(
            f"disputes are accepted within {months} months of the statement "
            f"(until {dispute_deadline(st['created_at'], months)}); "
            "this one is too late (R-D6)", field="statement_id", code="dispute_window_closed", status=422)
    did = new_id()
    row = (await session.execute(insert(disputes).values(
        id=did, statement_id=statement_id, dealer_id=st["dealer_id"], line_no=line_no, reason=reason,
        claimed_amount=claimed_amount, status=str(move.target), opened_by=actor.sub, opened_at=now,
    ).returning(*disputes.c))).mappings().one()
    await audit(session, actor=actor.sub, action="dispute_opened", entity_type="dispute", entity_id=str(did),
                details={"statement_id": str(statement_id), "line_no": line_no}, now=now)
    await add_events(session, move.event(aggregate_id=str(did), payload=DisputePayload(
        dispute_id=str(did), statement_id=str(statement_id), dealer_id=st["dealer_id"], status=str(move.target),
        at=now)))
    return dict(row)


async def resolve_dispute(session: AsyncSession, *, dispute_id: UUID, actor: Principal, accept: bool,
                          adjustment: Decimal | None, note: str | None, now: datetime) -> dict[str, Any]:
    """Accept (adjustment booked into the next open statement) or reject an open dispute, once."""
    move = MOVES[resolution(accept)]
    if move.books_adjustment and adjustment is None:
        raise Unprocessable("an accepted dispute needs an adjustment amount", field="adjustment")
    kept = adjustment if move.books_adjustment else None
    c = disputes.c
    row = (await session.execute(
        update(disputes).where(c.id == dispute_id, c.status == str(move.source))
        .values(status=str(move.target), resolved_by=actor.sub, resolved_at=now, adjustment=kept,
                resolution_note=note).returning(*disputes.c))).mappings().first()
    if row is None:
        exists = (await session.execute(select(c.id).where(c.id == dispute_id))).first()
        if exists is None:
            raise NotFound(f"dispute {dispute_id} not found", field="dispute_id")
        raise Conflict("dispute is already resolved", field="status", code="dispute_resolved")
    if move.books_adjustment and adjustment:
        st_quarter = (await session.execute(select(statements.c.quarter).where(
            statements.c.id == row["statement_id"]))).scalar_one()
        # The adjustment belongs to the statement after the disputed one (or later if that is closed).
        target = max(Quarter.parse(st_quarter).next(), quarter_of(now))
        start, _ = target.bounds()
        await record(session, dealer_id=row["dealer_id"], kind="adjustment",
                     occurred_at=max(start, now) if target == quarter_of(now) else start, source_type="dispute",
                     source_id=str(dispute_id), amount=adjustment, details={"statement_id": str(row["statement_id"])},
                     now=now)
    await audit(session, actor=actor.sub, action=f"dispute_{move.target}", entity_type="dispute",
                entity_id=str(dispute_id), details={"adjustment": str(kept) if kept is not None else None,
                                                    "note": note}, now=now)
    await add_events(session, move.event(aggregate_id=str(dispute_id), payload=DisputePayload(
        dispute_id=str(dispute_id), statement_id=str(row["statement_id"]), dealer_id=row["dealer_id"],
        status=str(move.target), at=now, adjustment=kept)))
    return dict(row)


async def list_disputes(session: AsyncSession, *, principal: Principal, status: DisputeStatus | None,
                        limit: int) -> list[Any]:
    """Disputes the caller may see, newest first."""
    q = select(disputes).where(visible(principal, disputes.c.dealer_id))
    if status is not None:
        q = q.where(disputes.c.status == str(status))
    return list((await session.execute(q.order_by(disputes.c.opened_at.desc()).limit(limit))).mappings())
