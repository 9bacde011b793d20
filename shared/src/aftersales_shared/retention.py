"""The pieces every service's R-T4 retention job shares (``services/*/src/*/retention/``): the cut-off day of a
retention term, the first instant of a Shanghai business day, the once-per-business-day claim of a run (a unique
``run_on``: a second replica, or a second tick of the same day, waits on the first one's row and then does nothing)
and the run report's page. What is archived, and how, stays each service's own."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .clock import BUSINESS_TZ

MIN_YEARS = 5
"""R-T4: records are kept at least five years."""


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def business_midnight(day: date) -> datetime:
    """The first instant of a Shanghai calendar day."""
    return datetime.combine(day, time.min, BUSINESS_TZ)


async def claim_run(session: AsyncSession, runs: sa.Table, *, today: date, values: dict[str, Any]) -> int | None:
    """Insert today's run row (``run_on`` unique); its id, or None when today's run already happened."""
    return (await session.execute(insert(runs).values(run_on=today, **values)
                                  .on_conflict_do_nothing(index_elements=["run_on"]).returning(runs.c.id))).scalar()


async def list_runs(session: AsyncSession, runs: sa.Table, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """The retention job's runs, newest first."""
    q = sa.select(runs).order_by(runs.c.run_on.desc()).offset(offset).limit(limit)
    return [dict(r) for r in (await session.execute(q)).mappings()]
