"""What the rest of dispatch reads of a job's repair (issue 15): its diagnosis, and what a completed job's event
adds from it. ``jobs/service.py`` imports this module (never ``repairs/service.py``, which imports the jobs use
cases)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Diagnosis, Job


async def diagnosis_of(session: AsyncSession, job_id: str) -> Diagnosis | None:
    return await session.get(Diagnosis, job_id)


def completion_extras(job: Job, d: Diagnosis | None) -> dict[str, Any]:
    """What a completed job's event adds from the repair: the coverage reason and the diagnosed components."""
    return {"coverage_reason": job.coverage_reason,
            "components": [c["component"] for c in d.components] if d is not None else []}
