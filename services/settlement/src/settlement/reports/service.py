"""R-O1 reports read from the facts settlement holds: the monthly repair report and the quality-feedback
statistics from ``repair_records`` (written here from ``dispatch.job.completed``), the callback and complaint
rates per dealer from the ledger (the same counts as the monthly assessment, ``assessments/service.py``).

Every report is one Shanghai calendar month, filterable by dealer (and by product line where the facts carry
it), one page at a time as JSON or whole as CSV/XLSX; a dealer sees only its own rows (``access.visible``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal

from .. import access
from ..domain.assessment import MonthActivity, assess_month
from ..domain.quarters import local_date, month_bounds
from ..domain.terms import callback_target
from ..models import dealers, ledger_entries, repair_records
from ..terms.service import terms_on

UNKNOWN_CAUSE = "unknown"


def month_of(text: str) -> date:
    """``YYYY-MM`` (already validated by the boundary type) → the month's first day."""
    y, m = text.split("-")
    return date(int(y), int(m), 1)


async def record_repair(session: AsyncSession, *, event_id: str, p: Any, now: Any) -> None:
    """Keep the service record of a dealer's completed job (once per job: a redelivered or re-published
    completion changes nothing)."""
    if not p.dealer_id:
        return
    await session.execute(insert(repair_records).values(
        job_id=p.job_id, dealer_id=p.dealer_id, ticket_id=p.ticket_id, engineer_id=p.engineer_id,
        serial=p.serial, product_line=p.product_line, coverage=p.coverage, root_cause=p.root_cause,
        parts_used=[u.model_dump(mode="json", exclude={"reservation_id"}) for u in p.parts_used],
        labour_minutes=p.labour_minutes, home_visit=p.home_visit, remote=p.remote, sla_met=dict(p.sla_met),
        work_done=p.work_done, completed_at=p.at, month=local_date(p.at).replace(day=1), event_id=event_id,
        created_at=now,
    ).on_conflict_do_nothing(index_elements=["job_id"]))


def _repair_filter(principal: Principal, month: date, dealer_id: str | None,
                   product_line: str | None) -> list[sa.ColumnElement[bool]]:
    c = repair_records.c
    where = [c.month == month, access.visible(principal, c.dealer_id)]
    if dealer_id:
        where.append(c.dealer_id == dealer_id)
    if product_line:
        where.append(c.product_line == product_line)
    return where


async def repairs(session: AsyncSession, *, principal: Principal, month: date, dealer_id: str | None = None,
                  product_line: str | None = None, offset: int = 0,
                  limit: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    """The month's repairs (``limit`` None: every row, for the exports), oldest first, and how many there are."""
    c = repair_records.c
    where = _repair_filter(principal, month, dealer_id, product_line)
    total = (await session.execute(sa.select(sa.func.count()).select_from(repair_records).where(*where))).scalar_one()
    q = (sa.select(c.job_id, c.dealer_id, c.ticket_id, c.engineer_id, c.completed_at, c.product_line, c.serial,
                   c.coverage, c.root_cause, c.parts_used.label("parts"), c.labour_minutes, c.home_visit, c.remote,
                   c.sla_met)
         .where(*where).order_by(c.completed_at, c.job_id).offset(offset).limit(limit))
    return total, [dict(r) for r in (await session.execute(q)).mappings()]


async def quality(session: AsyncSession, *, principal: Principal, month: date, dealer_id: str | None = None,
                  product_line: str | None = None, offset: int = 0,
                  limit: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Failures by product line × part × root cause (one failure per job and part; a job with no part counts
    under part None), largest first."""
    c = repair_records.c
    part = sa.func.jsonb_array_elements(c.parts_used).table_valued(sa.column("value", JSONB)).lateral("p")
    part_no = part.c.value["part_no"].astext
    cause = sa.func.coalesce(c.root_cause, UNKNOWN_CAUSE)
    grouped = (sa.select(c.product_line, part_no.label("part_no"), cause.label("root_cause"),
                         sa.func.count(sa.distinct(c.job_id)).label("failures"),
                         sa.func.coalesce(sa.func.sum(part.c.value["quantity"].astext.cast(sa.Integer)), 0)
                         .label("quantity"))
               .select_from(repair_records.outerjoin(part, sa.true()))
               .where(*_repair_filter(principal, month, dealer_id, product_line))
               .group_by(c.product_line, part_no, cause)).subquery()
    total = (await session.execute(sa.select(sa.func.count()).select_from(grouped))).scalar_one()
    g = grouped.c
    q = (sa.select(grouped).order_by(g.failures.desc(), g.product_line, g.part_no.asc().nulls_last(), g.root_cause)
         .offset(offset).limit(limit))
    rows = [dict(r) for r in (await session.execute(q)).mappings()]
    return total, [{**r, "quantity": int(r["quantity"])} for r in rows]


def line_of_fact() -> sa.ColumnElement[Any]:
    """The product line of a rate fact (a ledger entry): a registered sale carries it; a repair is its job's
    service record's; a callback or an upheld complaint is its ticket's (the service record of that ticket's job).
    Null when settlement holds no service record for it (then no product-line filter matches it)."""
    le, r = ledger_entries.c, repair_records.c
    by_job = sa.select(r.product_line).where(r.job_id == le.details["job_id"].astext).limit(1).scalar_subquery()
    by_ticket = (sa.select(r.product_line).where(r.ticket_id == le.details["ticket_id"].astext)
                 .order_by(r.completed_at.desc()).limit(1).scalar_subquery())
    return sa.case((le.kind == "registered_sale", le.details["product_line"].astext),
                   (le.kind == "repair", by_job), else_=by_ticket)


async def rates(session: AsyncSession, *, principal: Principal, month: date, dealer_id: str | None = None,
                product_line: str | None = None, offset: int = 0, limit: int | None = None,
                defaults: dict[str, Any] | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Each visible dealer's callback and complaint rates in the month, by dealer id; with ``product_line``, only
    the facts of that product line count (``line_of_fact``)."""
    start, end = month_bounds(month)
    d, le = dealers.c, ledger_entries.c
    where = [access.visible(principal, d.id)]
    if dealer_id:
        where.append(d.id == dealer_id)
    of_line = [line_of_fact() == product_line] if product_line else []
    total = (await session.execute(sa.select(sa.func.count()).select_from(dealers).where(*where))).scalar_one()
    facts = (sa.select(
        le.dealer_id,
        sa.func.coalesce(sa.func.sum(le.quantity).filter(le.kind == "repair"), 0).label("repairs"),
        sa.func.count().filter(le.kind == "callback").label("callbacks"),
        sa.func.coalesce(sa.func.sum(le.quantity).filter(le.kind == "complaint_upheld"), 0).label("complaints"),
        sa.func.coalesce(sa.func.sum(le.quantity).filter(le.kind == "registered_sale"), 0).label("sales"),
    ).where(le.occurred_at >= start, le.occurred_at < end,
            le.kind.in_(("repair", "callback", "complaint_upheld", "registered_sale")), *of_line)
        .group_by(le.dealer_id)).subquery()
    f = facts.c
    q = (sa.select(d.id.label("dealer_id"), f.repairs, f.callbacks, f.complaints, f.sales)
         .select_from(dealers.outerjoin(facts, f.dealer_id == d.id)).where(*where)
         .order_by(d.id).offset(offset).limit(limit))
    out = []
    for r in (await session.execute(q)).mappings():
        act = MonthActivity(repairs=int(r["repairs"] or 0), callbacks=int(r["callbacks"] or 0),
                            complaints_upheld=int(r["complaints"] or 0), registered_sales=int(r["sales"] or 0))
        terms = await terms_on(session, dealer_id=r["dealer_id"], on=month, defaults=defaults or {})
        target = callback_target(terms)
        a = assess_month(act, callback_target=target)
        out.append({"dealer_id": r["dealer_id"], "repairs": act.repairs, "callbacks": act.callbacks,
                    "callback_rate": a.callback_rate, "callback_target": target,
                    "callback_target_met": a.callback_target_met, "complaints_upheld": act.complaints_upheld,
                    "registered_sales": act.registered_sales, "complaint_rate": a.complaint_rate})
    return total, out
