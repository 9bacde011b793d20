"""Statement workflow (draft → reviewed → approved → paid, maker-checker, R-D5) and disputes (R-D6)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal, Role
from aftersales_shared.errors import Conflict, DomainError, Forbidden, NotFound, Unprocessable
from aftersales_shared.events.settlement import (
    DisputeOpened,
    DisputePayload,
    DisputeResolved,
    StatementApproved,
    StatementPaid,
    StatementPayload,
)
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from .audit import audit
from .domain.quarters import Quarter, dispute_allowed, dispute_deadline, due_on, quarter_of
from .ledger import lock_dealer, record

TRANSITIONS = {"review": ("draft", "reviewed"), "approve": ("reviewed", "approved"), "pay": ("approved", "paid")}
EVENTS = {"approve": StatementApproved, "pay": StatementPaid}


async def get_statement(session: AsyncSession, statement_id: UUID, principal: Principal) -> dict[str, Any]:
    """One statement with its lines; dealers see only their own (others look absent)."""
    row = (await session.execute(text("SELECT * FROM statements WHERE id = :id"), {"id": statement_id})).mappings().first()
    if row is None or (_dealer_only(principal) and row["dealer_id"] != principal.dealer_id):
        raise NotFound(f"statement {statement_id} not found", field="statement_id")
    lines = (await session.execute(text(
        "SELECT line_no, code, category, description, quantity, unit_amount, amount, late_from FROM statement_lines "
        "WHERE statement_id = :id ORDER BY line_no"), {"id": statement_id})).mappings().all()
    return {**row, "lines": [dict(ln) for ln in lines]}


def _dealer_only(p: Principal) -> bool:
    return not p.has(Role.FINANCE, Role.ADMIN, Role.OPS)


async def transition(session: AsyncSession, *, statement_id: UUID, action: str, actor: Principal,
                     now: datetime) -> dict[str, Any]:
    """Move a statement one step; the preparer may never approve their own statement."""
    src, dst = TRANSITIONS[action]
    row = (await session.execute(text("SELECT * FROM statements WHERE id = :id"), {"id": statement_id})).mappings().first()
    if row is None:
        raise NotFound(f"statement {statement_id} not found", field="statement_id")
    if action == "approve":
        if row["prepared_by"] == actor.sub:
            raise Forbidden("maker-checker: the preparer of a statement cannot approve it", code="maker_checker")
        await lock_dealer(session, row["dealer_id"])
    sets = {"review": "reviewed_by = :who, reviewed_at = :now",
            "approve": "approved_by = :who, approved_at = :now, due_on = :due",
            "pay": "paid_by = :who, paid_at = :now"}[action]
    updated = (await session.execute(text(
        f"UPDATE statements SET status = :dst, {sets} WHERE id = :id AND status = :src AND NOT superseded "
        "RETURNING *"), {"dst": dst, "src": src, "id": statement_id, "who": actor.sub, "now": now,
                         "due": due_on(now)})).mappings().first()
    if updated is None:
        why = "superseded by a newer revision" if row["superseded"] else f"is {row['status']}"
        raise Conflict(f"cannot {action} statement: it {why} (needs {src})", field="status",
                       code="invalid_transition")
    await audit(session, actor=actor.sub, action=f"statement_{dst}", entity_type="statement",
                entity_id=str(statement_id), details={"from": src, "to": dst})
    if action in EVENTS:
        await add_events(session, EVENTS[action](aggregate_id=str(statement_id), payload=StatementPayload(
            statement_id=str(statement_id), dealer_id=updated["dealer_id"], quarter=updated["quarter"],
            revision=updated["revision"], status=dst, net_amount=updated["net_amount"], at=now,
            due_on=updated["due_on"])))
    return dict(updated)


async def open_dispute(session: AsyncSession, *, statement_id: UUID, actor: Principal, reason: str,
                       line_no: int | None, claimed_amount: Decimal | None, now: datetime) -> dict[str, Any]:
    """A dealer disputes a statement (or one line) within 3 months of issue (R-D6)."""
    st = await get_statement(session, statement_id, actor)
    if line_no is not None and not any(ln["line_no"] == line_no for ln in st["lines"]):
        raise Unprocessable(f"statement has no line {line_no}", field="line_no")
    if not dispute_allowed(st["created_at"], now):
        raise DomainError(
            f"disputes are accepted within 3 months of the statement (until {dispute_deadline(st['created_at'])}); "
            "this one is too late (R-D6)", field="statement_id", code="dispute_window_closed", status=422)
    did = new_id()
    await session.execute(text(
        "INSERT INTO disputes (id, statement_id, dealer_id, line_no, reason, claimed_amount, status, opened_by, "
        "opened_at) VALUES (:id, :s, :d, :ln, :r, :c, 'open', :by, :now)"),
        {"id": did, "s": statement_id, "d": st["dealer_id"], "ln": line_no, "r": reason, "c": claimed_amount,
         "by": actor.sub, "now": now})
    await audit(session, actor=actor.sub, action="dispute_opened", entity_type="dispute", entity_id=str(did),
                details={"statement_id": str(statement_id), "line_no": line_no})
    await add_events(session, DisputeOpened(aggregate_id=str(did), payload=DisputePayload(
        dispute_id=str(did), statement_id=str(statement_id), dealer_id=st["dealer_id"], status="open", at=now)))
    return await get_dispute(session, did)


async def get_dispute(session: AsyncSession, dispute_id: UUID) -> dict[str, Any]:
    row = (await session.execute(text("SELECT * FROM disputes WHERE id = :id"), {"id": dispute_id})).mappings().first()
    if row is None:
        raise NotFound(f"dispute {dispute_id} not found", field="dispute_id")
    return dict(row)


async def resolve_dispute(session: AsyncSession, *, dispute_id: UUID, actor: Principal, accept: bool,
                          adjustment: Decimal | None, note: str | None, now: datetime) -> dict[str, Any]:
    """Accept (adjustment booked into the next statement) or reject an open dispute."""
    if accept and adjustment is None:
        raise Unprocessable("an accepted dispute needs an adjustment amount", field="adjustment")
    status = "accepted" if accept else "rejected"
    row = (await session.execute(text(
        "UPDATE disputes SET status = :st, resolved_by = :by, resolved_at = :now, adjustment = :adj, "
        "resolution_note = :note WHERE id = :id AND status = 'open' RETURNING *"),
        {"st": status, "by": actor.sub, "now": now, "adj": adjustment if accept else None, "note": note,
         "id": dispute_id})).mappings().first()
    if row is None:
        await get_dispute(session, dispute_id)
        raise Conflict("dispute is already resolved", field="status", code="dispute_resolved")
    if accept and adjustment:
        st_quarter = (await session.execute(text("SELECT quarter FROM statements WHERE id = :id"),
                                            {"id": row["statement_id"]})).scalar_one()
        # The adjustment belongs to the statement after the disputed one (or later if that is closed).
        target = max(Quarter.parse(st_quarter).next(), quarter_of(now))
        start, _ = target.bounds()
        await record(session, dealer_id=row["dealer_id"], kind="adjustment", occurred_at=max(start, now)
                     if target == quarter_of(now) else start, source_type="dispute", source_id=str(dispute_id),
                     amount=adjustment, details={"statement_id": str(row["statement_id"])})
    await audit(session, actor=actor.sub, action=f"dispute_{status}", entity_type="dispute",
                entity_id=str(dispute_id), details={"adjustment": str(adjustment) if accept else None, "note": note})
    await add_events(session, DisputeResolved(aggregate_id=str(dispute_id), payload=DisputePayload(
        dispute_id=str(dispute_id), statement_id=str(row["statement_id"]), dealer_id=row["dealer_id"],
        status=status, at=now, adjustment=adjustment if accept else None)))
    return dict(row)
