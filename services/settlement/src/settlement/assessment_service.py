"""Monthly dealer assessment (R-D7) computed from the ledger and report submissions."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .domain.assessment import MonthActivity, assess_month, yearly_excellence
from .domain.quarters import SHANGHAI, add_months

SATISFIED_AT = 4  # callback satisfaction is scored 1..5; 4 and 5 count as satisfied


async def month_activity(session: AsyncSession, dealer_id: str, month: date) -> MonthActivity:
    start = datetime.combine(month, time.min, SHANGHAI)
    end = datetime.combine(add_months(month, 1), time.min, SHANGHAI)
    row = (await session.execute(text(
        "SELECT coalesce(sum(quantity) FILTER (WHERE kind = 'repair'), 0) AS repairs, "
        "count(*) FILTER (WHERE kind = 'callback') AS callbacks, "
        "count(*) FILTER (WHERE kind = 'callback' AND details->>'reached' = 'true') AS reached, "
        "count(*) FILTER (WHERE kind = 'callback' AND (details->>'satisfaction') IS NOT NULL) AS scored, "
        "count(*) FILTER (WHERE kind = 'callback' AND (details->>'satisfaction')::int >= :sat) AS satisfied, "
        "coalesce(sum(quantity) FILTER (WHERE kind = 'complaint_upheld'), 0) AS complaints, "
        "coalesce(sum(quantity) FILTER (WHERE kind = 'registered_sale'), 0) AS sales, "
        "count(*) FILTER (WHERE kind = 'sla_breach') AS breaches "
        "FROM ledger_entries WHERE dealer_id = :d AND occurred_at >= :s AND occurred_at < :e"),
        {"d": dealer_id, "s": start, "e": end, "sat": SATISFIED_AT})).mappings().one()
    rep = (await session.execute(text(
        "SELECT records, quality_feedback FROM monthly_reports WHERE dealer_id = :d AND month = :m"),
        {"d": dealer_id, "m": month})).first()
    return MonthActivity(
        repairs=int(row["repairs"]), callbacks=row["callbacks"], callbacks_reached=row["reached"],
        satisfied=row["satisfied"], scored=row["scored"], complaints_upheld=int(row["complaints"]),
        registered_sales=int(row["sales"]), sla_breaches=row["breaches"],
        report_submitted=bool(rep and rep[0]), quality_feedback=bool(rep and rep[1]),
    )


async def monthly(session: AsyncSession, dealer_id: str, month: date) -> dict[str, Any]:
    act = await month_activity(session, dealer_id, month)
    return {"dealer_id": dealer_id, "month": month.strftime("%Y-%m"),
            "available_by": add_months(month, 1).replace(day=5), "activity": asdict(act),
            **asdict(assess_month(act))}


async def yearly(session: AsyncSession, dealer_id: str, year: int) -> dict[str, Any]:
    months = [await month_activity(session, dealer_id, date(year, m, 1)) for m in range(1, 13)]
    ex = yearly_excellence(months)
    return {"dealer_id": dealer_id, "year": year, **asdict(ex), "excellent": ex.excellent}
