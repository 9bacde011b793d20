"""Monthly dealer assessment and yearly excellence (R-D7), computed from the ledger and report submissions."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal

from ..dealers.service import get_dealer
from ..domain.assessment import MonthActivity, assess_month, yearly_excellence
from ..domain.quarters import add_months, month_bounds
from ..domain.terms import callback_target
from ..models import ledger_entries, monthly_reports
from ..terms.service import terms_on

SATISFIED_AT = 4  # callback satisfaction is scored 1..5; 4 and 5 count as satisfied
RESULTS_BY_DAY = 5  # R-D7: results within the first 5 days of the next month


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
    in force on that first day (R-T5)."""
    await get_dealer(session, dealer_id=dealer_id, principal=principal)
    act = await month_activity(session, dealer_id, month)
    terms = await terms_on(session, dealer_id=dealer_id, on=month, defaults=defaults or {})
    return {"dealer_id": dealer_id, "month": month.strftime("%Y-%m"),
            "available_by": add_months(month, 1).replace(day=RESULTS_BY_DAY), "activity": asdict(act),
            **asdict(assess_month(act, callback_target=callback_target(terms)))}


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
