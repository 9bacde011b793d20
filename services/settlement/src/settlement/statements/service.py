"""Statements: quarterly runs (R-D1, R-D2), revisions, the maker-checker workflow (R-D5), reads and audit.

A run is idempotent: a dealer whose inputs hash is unchanged keeps its statement; changed inputs give a new
revision listing what changed; closed (approved/paid) quarters are never rewritten. The SQL is in
``queries.py``; the arithmetic is the golden-tested ``domain/fees.py``; the status machine is
``domain/statement_lifecycle.py``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, DomainError, Forbidden, NotFound
from aftersales_shared.events.settlement import StatementPayload
from aftersales_shared.ids import new_id
from aftersales_shared.money import MAX_AMOUNT
from aftersales_shared.outbox import add_events

from ..access import visible
from ..audit import audit
from ..domain.fees import ZERO, Category, ContractTerms, Facts, FeeModel, QuarterInputs, Statement, compute_statement
from ..domain.quarters import Quarter, due_on, local_date
from ..domain.statement_lifecycle import INITIAL, ISSUED_EVENT, MOVES, StatementAction, is_closed, may_move
from ..ledger.service import lock_dealer
from ..models import audit_log, statement_lines, statements
from ..terms.service import terms_on
from . import queries


def terms_from(fee_model: str, params: dict[str, Any]) -> ContractTerms:
    """Contract parameters (JSON data) → the pure terms."""
    kw: dict[str, Any] = {}
    for k in ("per_sale_amount", "sales_percent", "budget_percent", "repair_fee", "home_visit_fee",
              "complaint_penalty", "falsified_fine_multiple", "quality_feedback_percent", "unit_replacement_fee"):
        if params.get(k) is not None:
            kw[k] = Decimal(str(params[k]))
    for k in ("months_without_records", "months_without_feedback"):
        if params.get(k) is not None:
            kw[k] = int(params[k])
    return ContractTerms(FeeModel(fee_model), **kw)


# Facts fields added after statements were first issued: hashed only when non-zero, so adding one does not
# change the digest of an unchanged statement (a re-run would otherwise issue a spurious revision).
_HASHED_WHEN_SET = frozenset({"parts_budget_excess", "sla_damages", "sla_damages_waived", "unit_replacements",
                              "third_party_costs"})


def inputs_hash(contract_id: str, params: dict[str, Any], fee_model: str, inp: QuarterInputs) -> str:
    """A canonical digest of everything a statement depends on."""
    doc = {
        "contract": contract_id, "model": fee_model, "params": params, "carry_in": str(inp.carry_in),
        "facts": {str(k): {f: str(getattr(v, f)) for f in v.__dataclass_fields__
                           if not (f in _HASHED_WHEN_SET and getattr(v, f) == ZERO)} for k, v in
                  sorted(inp.facts.items(), key=lambda kv: str(kv[0]))},
        "flags": [inp.falsified_cards, inp.breach, inp.quality_penalty_applied_this_year],
        "reports": sorted([f"{y}-{m}", r.records, r.quality_feedback] for (y, m), r in inp.reports.items()),
        "year_fee_before": str(inp.year_fee_before),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


MAX_UNIT_AMOUNT = Decimal("9999999999.9999")
"""The largest ``statement_lines.unit_amount`` (NUMERIC(14,4))."""


def unstorable(st: Statement) -> str | None:
    """What of a computed statement its columns cannot hold (an absurd contract or fact), or None."""
    totals = {"net": st.net, "budget": st.budget, "carry_out": st.carry_out, "carry_in": st.carry_in,
              **{str(c): st.total(c) for c in Category}}
    for name, amount in totals.items():
        if abs(amount) > MAX_AMOUNT:
            return f"a {name} total of {amount}"
    for ln in st.lines:
        if abs(ln.amount) > MAX_AMOUNT or abs(ln.quantity) > MAX_AMOUNT or (
                ln.unit_amount is not None and abs(ln.unit_amount) > MAX_UNIT_AMOUNT):
            return f"a {ln.code} line of {ln.amount} ({ln.quantity} × {ln.unit_amount})"
    return None


@dataclass
class RunResult:
    quarter: str
    created: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    closed: list[dict[str, Any]] = field(default_factory=list)


async def run_quarter(session: AsyncSession, *, quarter: Quarter, dealer_ids: list[str] | None, actor: str,
                      now: datetime) -> RunResult:
    """Prepare (or confirm) the statements of ``quarter`` for all or some dealers."""
    q = str(quarter)
    await queries.lock_quarter(session, quarter)
    src = await queries.load_inputs(session, quarter, dealer_ids)
    result = RunResult(q)
    if not src.contracts:
        return result

    new_rows: list[dict[str, Any]] = []
    for dealer, contract_id, fee_model, params in src.contracts:
        terms = terms_from(fee_model, params)
        dealer_facts = {o: Facts(**kw) for o, kw in src.facts.get(dealer, {}).items()} or {None: Facts()}
        inp = QuarterInputs(quarter, dealer_facts, carry_in=src.carry.get(dealer, ZERO),
                            falsified_cards="falsified_cards" in src.flags[dealer],
                            breach="breach" in src.flags[dealer], reports=src.reports.get(dealer, {}),
                            year_fee_before=src.year_fee.get(dealer, ZERO),
                            quality_penalty_applied_this_year=dealer in src.quality_penalty_applied)
        digest = inputs_hash(contract_id, params, fee_model, inp)
        prev = src.latest.get(dealer)
        if prev is not None and is_closed(prev.status):
            result.closed.append({"dealer_id": dealer, "statement_id": str(prev.id), "revision": prev.revision})
            continue
        if prev is not None and prev.inputs_hash == digest:
            result.unchanged.append({"dealer_id": dealer, "statement_id": str(prev.id), "revision": prev.revision})
            continue
        st = compute_statement(terms, inp)
        too_big = unstorable(st)
        if too_big is not None:
            raise DomainError(f"dealer {dealer}'s {q} statement has {too_big}, beyond what a statement holds "
                              "(NUMERIC(14,2)); correct its contract or facts, or run the other dealers with "
                              "dealer_ids", field="dealer_ids", code="amount_out_of_range", status=422)
        new_rows.append({"dealer": dealer, "contract_id": contract_id, "fee_model": fee_model, "st": st,
                         "hash": digest, "prev": prev, "id": new_id(),
                         "revision": (prev.revision + 1) if prev else 1})
    if not new_rows:
        return result
    await queries.attach_changes(session, new_rows)
    await queries.insert_revisions(session, new_rows, quarter, actor, now)
    events = []
    for r in new_rows:
        st = r["st"]
        result.created.append({"dealer_id": r["dealer"], "statement_id": str(r["id"]), "revision": r["revision"]})
        events.append(ISSUED_EVENT(aggregate_id=str(r["id"]), payload=StatementPayload(
            statement_id=str(r["id"]), dealer_id=r["dealer"], quarter=q, revision=r["revision"],
            status=str(INITIAL), net_amount=st.net, at=now)))
    await add_events(session, *events)
    await audit(session, actor=actor, action="statement_run", entity_type="quarter", entity_id=q, now=now,
                details={"created": len(result.created), "unchanged": len(result.unchanged),
                         "closed": len(result.closed), "dealer_ids": dealer_ids})
    return result


async def get_statement(session: AsyncSession, *, statement_id: UUID, principal: Principal) -> dict[str, Any]:
    """One statement with its lines; a dealer sees only its own (others look absent)."""
    row = (await session.execute(select(statements).where(
        statements.c.id == statement_id, visible(principal, statements.c.dealer_id)))).mappings().first()
    if row is None:
        raise NotFound(f"statement {statement_id} not found", field="statement_id")
    ln = statement_lines.c
    lines = (await session.execute(
        select(ln.line_no, ln.code, ln.category, ln.description, ln.quantity, ln.unit_amount, ln.amount, ln.late_from)
        .where(ln.statement_id == statement_id).order_by(ln.line_no))).mappings().all()
    return {**row, "lines": [dict(x) for x in lines]}


async def list_statements(session: AsyncSession, *, principal: Principal, quarter: str | None,
                          dealer_id: str | None, status: str | None, include_superseded: bool,
                          limit: int) -> list[Any]:
    """Statements the caller may see, newest quarter first, latest revisions unless asked otherwise."""
    c = statements.c
    q = select(statements).where(visible(principal, c.dealer_id))
    if quarter is not None:
        q = q.where(c.quarter == quarter)
    if dealer_id is not None:
        q = q.where(c.dealer_id == dealer_id)
    if status is not None:
        q = q.where(c.status == status)
    if not include_superseded:
        q = q.where(c.superseded.is_(False))
    q = q.order_by(c.quarter.desc(), c.dealer_id, c.revision.desc()).limit(limit)
    return list((await session.execute(q)).mappings())


async def audit_trail(session: AsyncSession, *, statement_id: UUID) -> list[Any]:
    """Who did what to a statement, in order."""
    a = audit_log.c
    return list((await session.execute(
        select(a.at, a.actor, a.action, a.details)
        .where(a.entity_type == "statement", a.entity_id == str(statement_id)).order_by(a.id))).mappings())


async def transition(session: AsyncSession, *, statement_id: UUID, action: StatementAction, actor: Principal,
                     now: datetime, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Move a statement one step of its lifecycle; the preparer may never approve their own statement."""
    move = MOVES[action]
    c = statements.c
    row = (await session.execute(select(statements).where(c.id == statement_id))).mappings().first()
    if row is None:
        raise NotFound(f"statement {statement_id} not found", field="statement_id")
    if not may_move(action, actor=actor.sub, prepared_by=row["prepared_by"]):
        raise Forbidden("maker-checker: the preparer of a statement cannot approve it", code="maker_checker")
    if action is StatementAction.APPROVE:
        await lock_dealer(session, row["dealer_id"])  # late facts booked concurrently must see the closure
    values: dict[str, Any] = {"status": str(move.target), move.by_column: actor.sub, move.at_column: now}
    if action is StatementAction.APPROVE:
        terms = await terms_on(session, dealer_id=row["dealer_id"], on=local_date(now), defaults=defaults or {})
        values["due_on"] = due_on(now, terms.payment_days)  # R-D5: the payment term in force on approval
    updated = (await session.execute(
        update(statements).where(c.id == statement_id, c.status == str(move.source), c.superseded.is_(False))
        .values(**values).returning(*statements.c))).mappings().first()
    if updated is None:
        why = "superseded by a newer revision" if row["superseded"] else f"is {row['status']}"
        raise Conflict(f"cannot {action} statement: it {why} (needs {move.source})", field="status",
                       code="invalid_transition")
    await audit(session, actor=actor.sub, action=f"statement_{move.target}", entity_type="statement",
                entity_id=str(statement_id), details={"from": str(move.source), "to": str(move.target)}, now=now)
    if move.event is not None:
        await add_events(session, move.event(aggregate_id=str(statement_id), payload=StatementPayload(
            statement_id=str(statement_id), dealer_id=updated["dealer_id"], quarter=updated["quarter"],
            revision=updated["revision"], status=str(move.target), net_amount=updated["net_amount"], at=now,
            due_on=updated["due_on"])))
    return dict(updated)
