"""Statement runs: aggregate the quarter's ledger in Postgres (GROUP BY), apply the golden-tested pure
fee rules once per dealer, and write statements + lines with set-based INSERT ... SELECT FROM unnest.

A run is idempotent: a dealer whose inputs hash is unchanged keeps its statement; changed inputs give a
new revision listing what changed; closed (approved/paid) quarters are never rewritten.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.events.settlement import StatementIssued, StatementPayload
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from .audit import audit
from .domain.fees import Category, ContractTerms, Facts, FeeModel, MonthReport, QuarterInputs, compute_statement
from .domain.money import ZERO
from .domain.quarters import Quarter, prev_month
from .ledger import STATEMENT_KINDS

# ledger kind → (Facts field fed by sum(quantity), Facts field fed by sum(amount))
KIND_FIELDS: dict[str, tuple[str | None, str | None]] = {
    "registered_sale": ("registered_units", "sales_value"),
    "payment": (None, "payments"),
    "repair": ("repairs", None),
    "home_visit": ("home_visits", None),
    "return_cost": (None, "return_costs"),
    "complaint_upheld": ("upheld_complaints", None),
    "part_not_returned": (None, "parts_not_returned"),
    "urgent_surcharge": (None, "urgent_surcharges"),
    "parts_budget_excess": (None, "parts_budget_excess"),
    "void_finding": (None, "void_value"),
    "falsified_finding": (None, "falsified_value"),
    "adjustment": (None, "adjustments"),
}


def terms_from(fee_model: str, params: dict[str, Any]) -> ContractTerms:
    """Contract parameters (JSON data) → the pure terms."""
    kw: dict[str, Any] = {}
    for k in ("per_sale_amount", "sales_percent", "budget_percent", "repair_fee", "home_visit_fee",
              "complaint_penalty", "falsified_fine_multiple", "quality_feedback_percent"):
        if params.get(k) is not None:
            kw[k] = Decimal(str(params[k]))
    for k in ("months_without_records", "months_without_feedback"):
        if params.get(k) is not None:
            kw[k] = int(params[k])
    return ContractTerms(FeeModel(fee_model), **kw)


@dataclass
class RunResult:
    quarter: str
    created: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    closed: list[dict[str, Any]] = field(default_factory=list)


def _month_start(ym: tuple[int, int]) -> date:
    return date(ym[0], ym[1], 1)


# Facts fields added after statements were first issued: hashed only when non-zero, so adding one does not
# change the digest of an unchanged statement (a re-run would otherwise issue a spurious revision).
_HASHED_WHEN_SET = frozenset({"parts_budget_excess"})


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


async def run_quarter(session: AsyncSession, *, quarter: Quarter, dealer_ids: list[str] | None, actor: str,
                      now: datetime) -> RunResult:
    """Prepare (or confirm) the statements of ``quarter`` for all or some dealers."""
    q = str(quarter)
    # Two runs of the same quarter serialise here; the second sees the first's statements and re-uses them.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('settlement-run:' || :q))"), {"q": q})
    flt = " AND dealer_id = ANY(CAST(:ids AS text[]))" if dealer_ids else ""
    base = {"q": q, "ids": dealer_ids} if dealer_ids else {"q": q}
    start_d, end_d = quarter.start_date(), quarter.end_date()

    contracts = (await session.execute(text(
        "SELECT DISTINCT ON (dealer_id) dealer_id, id::text AS id, fee_model, parameters FROM contracts "
        "WHERE effective_from <= :e AND (effective_to IS NULL OR effective_to >= :s)" + flt +
        " ORDER BY dealer_id, effective_from DESC, version DESC"), {**base, "s": start_d, "e": end_d})).all()
    result = RunResult(q)
    if not contracts:
        return result

    facts: dict[str, dict[str | None, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    flags: dict[str, set[str]] = defaultdict(set)
    agg = await session.execute(text(
        "SELECT dealer_id, kind, NULLIF(quarter, booked_quarter) AS origin, sum(quantity)::bigint AS qty, "
        "sum(amount) AS amt FROM ledger_entries WHERE booked_quarter = :q AND kind = ANY(CAST(:kinds AS text[]))"
        + flt + " GROUP BY 1, 2, 3"), {**base, "kinds": list(STATEMENT_KINDS)})
    for dealer, kind, origin, qty, amt in agg:
        if kind in ("falsified_cards", "breach"):
            flags[dealer].add(kind)
            continue
        qf, af = KIND_FIELDS[kind]
        bucket = facts[dealer][origin]
        if qf:
            bucket[qf] = bucket.get(qf, 0) + int(qty)
        if af:
            bucket[af] = bucket.get(af, ZERO) + Decimal(amt)

    carry = dict((await session.execute(text(
        "SELECT dealer_id, amount FROM carry_over_balances WHERE into_quarter = :q" + flt), base)).all())
    first = quarter.months()[0]
    window_start = _month_start(prev_month(prev_month(first)))
    reports: dict[str, dict[tuple[int, int], MonthReport]] = defaultdict(dict)
    for dealer, month, rec, fb in await session.execute(text(
            "SELECT dealer_id, month, records, quality_feedback FROM monthly_reports "
            "WHERE month >= :ws AND month <= :e" + flt), {**base, "ws": window_start, "e": end_d}):
        reports[dealer][(month.year, month.month)] = MonthReport(rec, fb)
    year_fee: dict[str, Decimal] = {}
    qp_applied: set[str] = set()
    for dealer, gross, qpa in await session.execute(text(
            "SELECT dealer_id, gross_fee, quality_penalty_applied FROM ("
            " SELECT DISTINCT ON (dealer_id, quarter) dealer_id, gross_fee, quality_penalty_applied FROM statements"
            " WHERE quarter LIKE :y AND quarter < :q" + flt + " ORDER BY dealer_id, quarter, revision DESC) s"),
            {**base, "y": f"{quarter.year}Q%"}):
        year_fee[dealer] = year_fee.get(dealer, ZERO) + gross
        if qpa:
            qp_applied.add(dealer)
    latest = {r.dealer_id: r for r in await session.execute(text(
        "SELECT DISTINCT ON (dealer_id) dealer_id, id, revision, status, inputs_hash, net_amount FROM statements "
        "WHERE quarter = :q" + flt + " ORDER BY dealer_id, revision DESC"), base)}

    new_rows: list[dict[str, Any]] = []
    for dealer, contract_id, fee_model, params in contracts:
        terms = terms_from(fee_model, params)
        dealer_facts = {o: Facts(**kw) for o, kw in facts.get(dealer, {}).items()} or {None: Facts()}
        inp = QuarterInputs(quarter, dealer_facts, carry_in=carry.get(dealer, ZERO),
                            falsified_cards="falsified_cards" in flags[dealer], breach="breach" in flags[dealer],
                            reports=reports.get(dealer, {}), year_fee_before=year_fee.get(dealer, ZERO),
                            quality_penalty_applied_this_year=dealer in qp_applied)
        digest = inputs_hash(contract_id, params, fee_model, inp)
        prev = latest.get(dealer)
        if prev is not None and prev.status in ("approved", "paid"):
            result.closed.append({"dealer_id": dealer, "statement_id": str(prev.id), "revision": prev.revision})
            continue
        if prev is not None and prev.inputs_hash == digest:
            result.unchanged.append({"dealer_id": dealer, "statement_id": str(prev.id), "revision": prev.revision})
            continue
        st = compute_statement(terms, inp)
        new_rows.append({"dealer": dealer, "contract_id": contract_id, "fee_model": fee_model, "st": st,
                         "hash": digest, "prev": prev, "id": new_id(),
                         "revision": (prev.revision + 1) if prev else 1})
    if not new_rows:
        return result
    await _attach_changes(session, new_rows)
    await _insert(session, new_rows, quarter, actor, now)
    events = []
    for r in new_rows:
        st = r["st"]
        result.created.append({"dealer_id": r["dealer"], "statement_id": str(r["id"]), "revision": r["revision"]})
        events.append(StatementIssued(aggregate_id=str(r["id"]), payload=StatementPayload(
            statement_id=str(r["id"]), dealer_id=r["dealer"], quarter=q, revision=r["revision"], status="draft",
            net_amount=st.net, at=now)))
    await add_events(session, *events)
    await audit(session, actor=actor, action="statement_run", entity_type="quarter", entity_id=q,
                details={"created": len(result.created), "unchanged": len(result.unchanged),
                         "closed": len(result.closed), "dealer_ids": dealer_ids})
    return result


def _line_key(code: str, late_from: str | None) -> str:
    return f"{code}@{late_from}" if late_from else code


async def _attach_changes(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """For each new revision, list the lines whose amounts differ from the previous revision."""
    prev_ids = [r["prev"].id for r in rows if r["prev"] is not None]
    old: dict[Any, dict[str, Decimal]] = defaultdict(dict)
    if prev_ids:
        for sid, code, late, amount in await session.execute(text(
                "SELECT statement_id, code, late_from, sum(amount) FROM statement_lines "
                "WHERE statement_id = ANY(CAST(:ids AS uuid[])) GROUP BY 1, 2, 3"), {"ids": prev_ids}):
            old[sid][_line_key(code, late)] = amount
    for r in rows:
        if r["prev"] is None:
            r["changes"] = []
            continue
        new: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for ln in r["st"].lines:
            new[_line_key(ln.code, ln.late_from)] += ln.amount
        before = old.get(r["prev"].id, {})
        changes = [{"line": k, "before": str(before.get(k, ZERO)), "after": str(new.get(k, ZERO))}
                   for k in sorted(set(before) | set(new)) if before.get(k, ZERO) != new.get(k, ZERO)]
        changes.append({"line": "net", "before": str(r["prev"].net_amount), "after": str(r["st"].net)})
        r["changes"] = changes


async def _insert(session: AsyncSession, rows: list[dict[str, Any]], quarter: Quarter, actor: str,
                  now: datetime) -> None:
    q = str(quarter)
    prev_ids = [r["prev"].id for r in rows if r["prev"] is not None]
    if prev_ids:
        await session.execute(text("UPDATE statements SET superseded = true WHERE id = ANY(CAST(:ids AS uuid[]))"),
                              {"ids": prev_ids})
    cols: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        st = r["st"]
        cols["id"].append(r["id"])
        cols["dealer"].append(r["dealer"])
        cols["rev"].append(r["revision"])
        cols["contract"].append(r["contract_id"])
        cols["model"].append(r["fee_model"])
        cols["gross"].append(st.gross_fee)
        cols["ded"].append(st.total(Category.DEDUCTION))
        cols["forf"].append(st.total(Category.FORFEIT))
        cols["adj"].append(st.total(Category.ADJUSTMENT))
        cols["net"].append(st.net)
        cols["budget"].append(st.budget)
        cols["cin"].append(st.carry_in)
        cols["cout"].append(st.carry_out)
        cols["qpa"].append(st.quality_penalty_applied)
        cols["hash"].append(r["hash"])
        cols["changes"].append(json.dumps(r["changes"]))
    await session.execute(text(
        "INSERT INTO statements (id, dealer_id, quarter, revision, status, contract_id, fee_model, gross_fee, "
        "deductions, forfeits, adjustments, net_amount, budget, carry_in, carry_out, quality_penalty_applied, "
        "inputs_hash, changes, prepared_by, created_at) "
        "SELECT id, dealer, :q, rev, 'draft', contract, model, gross, ded, forf, adj, net, budget, cin, cout, qpa, "
        "hash, changes::jsonb, :actor, :now FROM unnest(CAST(:id AS uuid[]), CAST(:dealer AS text[]), "
        "CAST(:rev AS int[]), CAST(:contract AS uuid[]), CAST(:model AS text[]), CAST(:gross AS numeric[]), "
        "CAST(:ded AS numeric[]), CAST(:forf AS numeric[]), CAST(:adj AS numeric[]), CAST(:net AS numeric[]), "
        "CAST(:budget AS numeric[]), CAST(:cin AS numeric[]), CAST(:cout AS numeric[]), CAST(:qpa AS bool[]), "
        "CAST(:hash AS text[]), CAST(:changes AS text[])) AS u(id, dealer, rev, contract, model, gross, ded, forf, "
        "adj, net, budget, cin, cout, qpa, hash, changes)"),
        {**cols, "q": q, "actor": actor, "now": now})
    lines: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        for no, ln in enumerate(r["st"].lines, start=1):
            lines["sid"].append(r["id"])
            lines["no"].append(no)
            lines["code"].append(ln.code)
            lines["cat"].append(str(ln.category))
            lines["descr"].append(ln.description[:300])
            lines["qty"].append(ln.quantity)
            lines["unit"].append(ln.unit_amount)
            lines["amount"].append(ln.amount)
            lines["late"].append(ln.late_from)
    if lines:
        await session.execute(text(
            "INSERT INTO statement_lines (statement_id, line_no, code, category, description, quantity, unit_amount, "
            "amount, late_from) SELECT * FROM unnest(CAST(:sid AS uuid[]), CAST(:no AS int[]), CAST(:code AS text[]), "
            "CAST(:cat AS text[]), CAST(:descr AS text[]), CAST(:qty AS numeric[]), CAST(:unit AS numeric[]), "
            "CAST(:amount AS numeric[]), CAST(:late AS text[]))"), lines)
    carry = [r for r in rows if r["fee_model"] == FeeModel.PAYMENT_BUDGET.value]
    if carry:
        await session.execute(text(
            "INSERT INTO carry_over_balances (dealer_id, into_quarter, amount, statement_id) "
            "SELECT d, :nq, a, s FROM unnest(CAST(:d AS text[]), CAST(:a AS numeric[]), CAST(:s AS uuid[])) AS u(d, a, s) "
            "ON CONFLICT (dealer_id, into_quarter) DO UPDATE SET amount = EXCLUDED.amount, "
            "statement_id = EXCLUDED.statement_id"),
            {"nq": str(quarter.next()), "d": [r["dealer"] for r in carry], "a": [r["st"].carry_out for r in carry],
             "s": [r["id"] for r in carry]})
    await session.execute(text(
        "INSERT INTO audit_log (actor, action, entity_type, entity_id, details, at) "
        "SELECT :actor, 'statement_prepared', 'statement', id::text, "
        "jsonb_build_object('revision', rev, 'net_amount', net::text), :now "
        "FROM unnest(CAST(:id AS uuid[]), CAST(:rev AS int[]), CAST(:net AS numeric[])) AS u(id, rev, net)"),
        {"actor": actor, "now": now, "id": cols["id"], "rev": cols["rev"], "net": cols["net"]})


