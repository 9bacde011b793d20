"""Who holds each job, as dispatch last said, and the check that engineers request parts for their own jobs.

Fed by dispatch's job events (consumers.py) in the consumer's unit of work; read by ``POST /part-requests``
for engineer callers only (issue 5). The bus is eventually consistent: a job parts has not heard of yet (or
that nobody holds right now) is allowed and logged, never refused.
"""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import Forbidden

from . import requests_service as svc

log = logging.getLogger(__name__)

# An event changes the row only when it is strictly newer than the one that last did, so a late event
# never undoes a newer one and a redelivered event (same occurred_at) changes nothing.
_UPSERT = """
INSERT INTO job_engineers AS j (job_id, engineer_id, event_at, updated_at) VALUES (:job, :eng, :at, now())
ON CONFLICT (job_id) DO UPDATE SET engineer_id = {engineer}, event_at = EXCLUDED.event_at,
    updated_at = EXCLUDED.updated_at
WHERE j.event_at < EXCLUDED.event_at
"""
_SET = sa.text(_UPSERT.format(engineer="EXCLUDED.engineer_id"))
_KEEP = sa.text(_UPSERT.format(engineer="COALESCE(EXCLUDED.engineer_id, j.engineer_id)"))
_LOOKUP = "SELECT engineer_id FROM job_engineers WHERE job_id = $1"


async def record(session: AsyncSession, job_id: str, engineer_id: str | None, at: datetime, *,
                 keep_last: bool = False) -> None:
    """Dispatch says ``engineer_id`` holds ``job_id`` as of ``at`` (None: nobody).

    ``keep_last``: a terminal event (completed, cancelled) whose engineer, when it names none, leaves the last one.
    """
    await session.execute(_KEEP if keep_last else _SET, {"job": job_id, "eng": engineer_id, "at": at})


async def check_own_job(pool: asyncpg.Pool, principal: Principal, job_id: str | None) -> None:
    """403 naming ``job_id`` when an engineer caller requests for a job dispatch gave to another engineer.

    Staff, dealers and malformed engineer requests are left to ``requests_service.requester``.
    """
    if not job_id or not principal.engineer_id or not svc.engineer_caller(principal):
        return
    holder = await pool.fetchval(_LOOKUP, job_id)
    if holder is None:
        log.info("engineer %s requests parts for job %s, which parts has no engineer for yet: allowed",
                 principal.engineer_id, job_id)
    elif holder != principal.engineer_id:
        raise Forbidden(f"job {job_id} is assigned to another engineer", field="job_id",
                        code="job_of_another_engineer")
