"""SLA attainment: the share of milestones met, per milestone and one dimension."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Unprocessable

from ..domain.sla import MILESTONES
from ..models import Job
from .schemas import AttainmentRow, Dimension, SlaAttainmentRead


async def sla_attainment(session: AsyncSession, *, visible: ColumnElement[bool], date_from: date, date_to: date,
                         by: Dimension) -> SlaAttainmentRead:
    """Over jobs opened in [from, to] (UTC days); an open job already past a deadline counts as missed."""
    if date_to < date_from or (date_to - date_from).days > 366:
        raise Unprocessable("date_to must follow date_from within a year", field="date_to")
    start = datetime.combine(date_from, time(0), tzinfo=UTC)
    end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=UTC)
    q = select(Job.zone_class, Job.contract_code, Job.engineer_dealer_id, Job.engineer_id, Job.opened_at,
               Job.sla_met, Job.warnings_sent).where(Job.opened_at >= start, Job.opened_at < end, visible)
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for zc, contract, dealer, eng, opened, met, warned in (await session.execute(q)).all():
        key = {"zone_class": zc, "contract": contract or "default", "dealer": dealer or "manufacturer",
               "engineer": eng or "unassigned", "day": opened.date().isoformat(),
               "month": opened.strftime("%Y-%m")}[by]
        for m in MILESTONES:
            if m in met:
                tally[(m, key)][0 if met[m] else 1] += 1
            elif f"{m}:breach" in warned:
                tally[(m, key)][1] += 1  # still open but already late: counts as missed
    rows = [AttainmentRow(milestone=m, met=a, missed=b, attainment=round(a / (a + b), 4), **{by: k})
            for (m, k), (a, b) in sorted(tally.items())]
    return SlaAttainmentRead(by=by, date_from=date_from, date_to=date_to, rows=rows)
