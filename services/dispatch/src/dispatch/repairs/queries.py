"""What the rest of dispatch reads of a job's repair (issue 15): its diagnosis, and what a completed job's event
adds from it. ``jobs/service.py`` imports this module (never ``repairs/service.py``, which imports the jobs use
cases)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Conflict

from ..domain import quote
from ..models import Diagnosis, Job, Quote


async def diagnosis_of(session: AsyncSession, job_id: str) -> Diagnosis | None:
    return await session.get(Diagnosis, job_id)


def completion_extras(job: Job, d: Diagnosis | None) -> dict[str, Any]:
    """What a completed job's event adds from the repair: the coverage reason and the diagnosed components."""
    return {"coverage_reason": job.coverage_reason,
            "components": [c["component"] for c in d.components] if d is not None else []}


async def guard_paid_completion(session: AsyncSession, job: Job, *, remote: bool) -> None:
    """R-W3/R-T3: paid work on site is quoted first — completing a paid job needs a decided quote (accepted; a
    declined one closes the job as declined through ``decline_quote``), else 409 naming ``quote``. A remote resolve
    is exempt: no paid work is done on site (a quote is presented only on site), nothing to quote."""
    if remote or job.coverage != "paid":
        return
    decided = await session.scalar(select(Quote.id).where(
        Quote.job_id == job.id, Quote.status.in_((quote.ACCEPTED, quote.DECLINED))).limit(1))
    if decided is None:
        raise Conflict("a paid repair needs the customer's accepted quote before it is completed",
                       field="quote", code="quote_required")
