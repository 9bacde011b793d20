"""Monthly dealer assessment and yearly excellence (R-D7), computed from the ledger and report submissions."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import NotFound
from aftersales_shared.events.settlement import AssessmentIssued
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from ..dealers.service import get_dealer
from ..domain.assessment import (
    MonthActivity,
    assess_month,
    grade_of,
    is_late,
    issue_by,
    months_due,
    score_of,
    yearly_excellence,
)
from ..domain.quarters import month_bounds
from ..domain.terms import DealerTerms, callback_target, grade_floors
from ..models import dealers, issued_assessments, ledger_entries, monthly_reports
from ..terms.service import terms_on
from .schemas import AssessmentRead

SATISFIED_AT = 4  # callback satisfaction is scored 1..5; 4 and 5 count as satisfied


async def month_activity(session: AsyncSession, dealer_id: str, month: date) -> MonthActivity:
    """What a dealer did in one Shanghai calendar month, counted from its ledger and its submission."""
    start, end = month_bounds(month)
    le = ledger_entries.c
    callback = le.kind == "callback"
    satisfaction = le.details["satisfaction"].astext
    row = (await session.execute(select(
        func.coalesce(func.sum(le.quantity).filter(le.kind == "repair"), 0).label("repairs"),
        func.count().filter(callback).label("callbacks"),
        func.count().filter(callback, le.details["reached"].astext == "true").label("reached"),
        func.count().filter(callback, satisfaction.is_not(None)).label("scored"),
        func.count().filter(callback, cast(satisfaction, Integer) >= SATISFIED_AT).label("satisfied"),
        func.coalesce(func.sum(le.quantity).filter(le.kind == "complaint_upheld"), 0).label("complaints"),
        func.coalesce(func.sum(le.quantity).filter(le.kind == "registered_sale"), 0).label("sales"),
        func.count().filter(le.kind == "sla_breach").label("breaches"),
    ).where(le.dealer_id == dealer_id, le.occurred_at >= start, le.occurred_at < end))).mappings().one()
    mr = monthly_reports.c
    rep = (await session.execute(select(mr.records, mr.quality_feedback).where(
        mr.dealer_id == dealer_id, mr.month == month))).first()
    return MonthActivity(
        repairs=int(row["repairs"]), callbacks=row["callbacks"], callbacks_reached=row["reached"],
        satisfied=row["satisfied"], scored=row["scored"], complaints_upheld=int(row["complaints"]),
        registered_sales=int(row["sales"]), sla_breaches=row["breaches"],
        report_submitted=bool(rep and rep[0]), quality_feedback=bool(rep and rep[1]),
    )


async def monthly(session: AsyncSession, *, dealer_id: str, month: date, principal: Principal,
                  defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The dealer's assessment for ``month`` (the first day of it), against the callback target of its terms
    in force on that first day (R-T5); ``available_by``: the results-by day of those terms (R-D7)."""
    await get_dealer(session, dealer_id=dealer_id, principal=principal)
    return await _compute(session, dealer_id, month, await terms_on(session, dealer_id=dealer_id, on=month,
                                                                    defaults=defaults or {}))


async def _compute(session: AsyncSession, dealer_id: str, month: date, terms: DealerTerms) -> dict[str, Any]:
    act = await month_activity(session, dealer_id, month)
    return {"dealer_id": dealer_id, "month": month.strftime("%Y-%m"),
            "available_by": issue_by(month, by_day=terms.assessment_issue_by_day), "activity": asdict(act),
            **asdict(assess_month(act, callback_target=callback_target(terms)))}


async def issue_due(session: AsyncSession, *, today: date, now: datetime, limit: int = 50, catch_up: int = 3,
                    defaults: dict[str, Any] | None = None) -> int:
    """R-D7: from the 1st (Shanghai), issue last month's assessment to every dealer that existed then and has none
    yet — the row and its ``settlement.assessment.issued`` event in this unit of work. The dealer's terms in
    force on the assessed month's first day say by which day (``assessment_issue_by_day``) and the grade floors;
    a month the job could not issue by then (an outage) is issued as soon as it runs again, flagged ``late`` —
    never skipped (``catch_up`` past months are looked at). The unique (dealer, month) key makes it once per
    dealer across replicas and restarts (a racing replica inserts nothing and emits nothing). Returns how many it
    issued (``limit`` at most; the job calls again)."""
    ia = issued_assessments.c
    issued = 0
    for month in months_due(today, catch_up=catch_up):
        _start, end = month_bounds(month)
        pending = (await session.execute(
            select(dealers.c.id).where(dealers.c.created_at < end, ~select(ia.id).where(
                ia.dealer_id == dealers.c.id, ia.month == month).exists())
            .order_by(dealers.c.id).limit(limit - issued))).scalars().all()
        for dealer_id in pending:
            issued += await _issue(session, dealer_id, month, today=today, now=now, defaults=defaults or {})
        if issued >= limit:
            break
    return issued


async def _issue(session: AsyncSession, dealer_id: str, month: date, *, today: date, now: datetime,
                 defaults: dict[str, Any]) -> int:
    """One dealer's assessment of one month, by the terms in force on the month's first day (1: issued)."""
    terms = await terms_on(session, dealer_id=dealer_id, on=month, defaults=defaults)
    late = is_late(today, month, by_day=terms.assessment_issue_by_day)
    document = AssessmentRead.model_validate(await _compute(session, dealer_id, month, terms))
    assessment = assess_month(MonthActivity(**document.activity.model_dump()), callback_target=callback_target(terms))
    score = score_of(assessment)
    ia = issued_assessments.c
    row = (await session.execute(insert(issued_assessments).values(
        id=new_id(), dealer_id=dealer_id, month=month, score=score, grade=grade_of(score, grade_floors(terms)),
        document={**document.model_dump(mode="json"), "late": late}, issued_at=now,
    ).on_conflict_do_nothing(constraint="uq_issued_assessments_dealer_month").returning(ia.id, ia.grade))).first()
    if row is None:
        return 0
    await add_events(session, AssessmentIssued(aggregate_id=dealer_id, payload={
        "assessment_id": str(row.id), "dealer_id": dealer_id, "month": month.strftime("%Y-%m"),
        "score": float(score), "grade": row.grade, "at": now, "late": late,
        "callback_rate": _float(assessment.callback_rate), "sla_met_rate": _float(assessment.sla_attainment)}))
    return 1


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


async def issued_document(session: AsyncSession, *, dealer_id: str, month: date,
                          principal: Principal) -> dict[str, Any]:
    """The assessment as it was issued (R-D7), 404 before it is."""
    await get_dealer(session, dealer_id=dealer_id, principal=principal)
    ia = issued_assessments.c
    row = (await session.execute(select(issued_assessments).where(ia.dealer_id == dealer_id, ia.month == month))
           ).mappings().first()
    if row is None:
        raise NotFound(f"the {month:%Y-%m} assessment of {dealer_id} is not issued yet", field="month")
    return {"assessment_id": row["id"], "dealer_id": dealer_id, "month": month.strftime("%Y-%m"),
            "score": row["score"], "grade": row["grade"], "issued_at": row["issued_at"],
            "late": bool(row["document"].get("late", False)), "document": row["document"]}


async def yearly(session: AsyncSession, *, dealer_id: str, year: int, principal: Principal,
                 defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The dealer's yearly excellence flags (R-D7), against the thresholds of its terms in force on 1 January."""
    await get_dealer(session, dealer_id=dealer_id, principal=principal)
    months = [await month_activity(session, dealer_id, date(year, m, 1)) for m in range(1, 13)]
    terms = await terms_on(session, dealer_id=dealer_id, on=date(year, 1, 1), defaults=defaults or {})
    ex = yearly_excellence(months, complaints_per_mille=terms.excellence_complaints_per_mille,
                           satisfaction_percent=terms.excellence_satisfaction_percent,
                           feedback_percent=terms.excellence_feedback_percent)
    return {"dealer_id": dealer_id, "year": year, **asdict(ex), "excellent": ex.excellent}
