"""The statement run's set-based SQL (R-D1, R-D2): read the quarter's inputs with a few GROUP BY queries,
write every new revision, its lines, carry-overs and audit rows with ``INSERT ... SELECT FROM unnest``.

Hand-written on purpose: ``benchmarks/bench_settlement.py`` (docs/bench/settlement.md) measures a run over
a million ledger entries; row-by-row ORM writes are what it replaced. The use case around it is
``statements/service.py::run_quarter``; ``tests/settlement/test_api_statements.py`` and
``test_consumers_and_races.py::test_concurrent_runs_produce_one_revision`` cover it end to end.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.fees import ZERO, Category, FeeModel, MonthReport
from ..domain.quarters import Quarter, prev_month
from ..domain.statement_lifecycle import INITIAL
from ..ledger.service import STATEMENT_KINDS

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
    "sla_damages": (None, "sla_damages"),
    "sla_damages_waived": (None, "sla_damages_waived"),
    "third_party_cost": (None, "third_party_costs"),
    "repair_customer_paid": ("paid_repairs", None),
    "unit_replacement": ("unit_replacements", None),
    "repair_unregistered": ("unregistered_repairs", None),
    "registered_sale_late": ("late_registrations", None),
    "repair_fee_reversed": ("reversed_repairs", None),
    "home_visit_fee_reversed": ("reversed_home_visits", None),
}
FLAG_KINDS = ("falsified_cards", "breach")


@dataclass
class RunInputs:
    """Everything a quarter's run reads, per dealer."""

    contracts: list[tuple[str, str, str, dict[str, Any]]]  # dealer_id, contract id, fee model, parameters
    facts: dict[str, dict[str | None, dict[str, Any]]] = field(default_factory=lambda: defaultdict(
        lambda: defaultdict(dict)))
    flags: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    carry: dict[str, Decimal] = field(default_factory=dict)
    reports: dict[str, dict[tuple[int, int], MonthReport]] = field(default_factory=lambda: defaultdict(dict))
    year_fee: dict[str, Decimal] = field(default_factory=dict)
    quality_penalty_applied: set[str] = field(default_factory=set)
    latest: dict[str, Row[Any]] = field(default_factory=dict)


def _month_start(ym: tuple[int, int]) -> date:
    return date(ym[0], ym[1], 1)


async def lock_quarter(session: AsyncSession, quarter: Quarter) -> None:
    """Two runs of the same quarter serialise here; the second sees the first's statements and re-uses them."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('settlement-run:' || :q))"),
                          {"q": str(quarter)})


async def load_inputs(session: AsyncSession, quarter: Quarter, dealer_ids: list[str] | None) -> RunInputs:
    """The quarter's contracts, aggregated ledger facts, flags, carry-ins, reports and earlier statements."""
    q = str(quarter)
    flt = " AND dealer_id = ANY(CAST(:ids AS text[]))" if dealer_ids else ""
    base: dict[str, Any] = {"q": q, "ids": dealer_ids} if dealer_ids else {"q": q}
    start_d, end_d = quarter.start_date(), quarter.end_date()

    contracts = (await session.execute(text(
        "SELECT DISTINCT ON (dealer_id) dealer_id, id::text AS id, fee_model, parameters FROM contracts "
        "WHERE effective_from <= :e AND (effective_to IS NULL OR effective_to >= :s)" + flt +
        " ORDER BY dealer_id, effective_from DESC, version DESC"), {**base, "s": start_d, "e": end_d})).all()
    inp = RunInputs([(r.dealer_id, r.id, r.fee_model, r.parameters) for r in contracts])
    if not contracts:
        return inp

    agg = await session.execute(text(
        "SELECT dealer_id, kind, NULLIF(quarter, booked_quarter) AS origin, sum(quantity)::bigint AS qty, "
        "sum(amount) AS amt FROM ledger_entries WHERE booked_quarter = :q AND kind = ANY(CAST(:kinds AS text[]))"
        + flt + " GROUP BY 1, 2, 3"), {**base, "kinds": list(STATEMENT_KINDS)})
    for dealer, kind, origin, qty, amt in agg:
        if kind in FLAG_KINDS:
            inp.flags[dealer].add(kind)
            continue
        qf, af = KIND_FIELDS[kind]
        bucket = inp.facts[dealer][origin]
        if qf:
            bucket[qf] = bucket.get(qf, 0) + int(qty)
        if af:
            bucket[af] = bucket.get(af, ZERO) + Decimal(amt)

    inp.carry = {d: a for d, a in (await session.execute(text(
        "SELECT dealer_id, amount FROM carry_over_balances WHERE into_quarter = :q" + flt), base)).all()}
    first = quarter.months()[0]
    window_start = _month_start(prev_month(prev_month(first)))
    for dealer, month, rec, fb in await session.execute(text(
            "SELECT dealer_id, month, records, quality_feedback FROM monthly_reports "
            "WHERE month >= :ws AND month <= :e" + flt), {**base, "ws": window_start, "e": end_d}):
        inp.reports[dealer][(month.year, month.month)] = MonthReport(rec, fb)
    for dealer, gross, qpa in await session.execute(text(
            "SELECT dealer_id, gross_fee, quality_penalty_applied FROM ("
            " SELECT DISTINCT ON (dealer_id, quarter) dealer_id, gross_fee, quality_penalty_applied FROM statements"
            " WHERE quarter LIKE :y AND quarter < :q" + flt + " ORDER BY dealer_id, quarter, revision DESC) s"),
            {**base, "y": f"{quarter.year}Q%"}):
        inp.year_fee[dealer] = inp.year_fee.get(dealer, ZERO) + gross
        if qpa:
            inp.quality_penalty_applied.add(dealer)
    inp.latest = {r.dealer_id: r for r in await session.execute(text(
        "SELECT DISTINCT ON (dealer_id) dealer_id, id, revision, status, inputs_hash, net_amount FROM statements "
        "WHERE quarter = :q" + flt + " ORDER BY dealer_id, revision DESC"), base)}
    return inp


def _line_key(code: str, late_from: str | None) -> str:
    return f"{code}@{late_from}" if late_from else code


async def attach_changes(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
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


async def insert_revisions(session: AsyncSession, rows: list[dict[str, Any]], quarter: Quarter, actor: str,
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
        "SELECT id, dealer, :q, rev, :initial, contract, model, gross, ded, forf, adj, net, budget, cin, cout, qpa, "
        "hash, changes::jsonb, :actor, :now FROM unnest(CAST(:id AS uuid[]), CAST(:dealer AS text[]), "
        "CAST(:rev AS int[]), CAST(:contract AS uuid[]), CAST(:model AS text[]), CAST(:gross AS numeric[]), "
        "CAST(:ded AS numeric[]), CAST(:forf AS numeric[]), CAST(:adj AS numeric[]), CAST(:net AS numeric[]), "
        "CAST(:budget AS numeric[]), CAST(:cin AS numeric[]), CAST(:cout AS numeric[]), CAST(:qpa AS bool[]), "
        "CAST(:hash AS text[]), CAST(:changes AS text[])) AS u(id, dealer, rev, contract, model, gross, ded, forf, "
        "adj, net, budget, cin, cout, qpa, hash, changes)"),
        {**cols, "q": q, "actor": actor, "now": now, "initial": str(INITIAL)})
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
            "SELECT d, :nq, a, s FROM unnest(CAST(:d AS text[]), CAST(:a AS numeric[]), CAST(:s AS uuid[])) "
            "AS u(d, a, s) "
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
