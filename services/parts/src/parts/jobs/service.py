"""Jobs as parts sees them: who holds each job (as dispatch last said), the check that engineers request
parts for their own jobs, and what a job's completion or cancellation does to its parts.

Fed by dispatch's job events (``consumers.py``) in the consumer's unit of work; ``check_own_job`` is read by
``POST /v1/part-requests`` for engineer callers only (issue 5). The bus is eventually consistent: a job parts
has not heard of yet (or that nobody holds right now) is allowed and logged, never refused.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import Forbidden

from .. import access
from ..config import PartsSettings
from ..domain.stock import Movement
from ..models import catalogue, reservations
from ..requests import service as requests
from ..returns import service as returns
from ..stock import ledger

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

    Staff, dealers and malformed engineer requests are left to ``requests/service.requester``.
    """
    if not job_id or not principal.engineer_id or not access.is_engineer_caller(principal):
        return
    holder = await pool.fetchval(_LOOKUP, job_id)
    if holder is None:
        log.info("engineer %s requests parts for job %s, which parts has no engineer for yet: allowed",
                 principal.engineer_id, job_id)
    elif holder != principal.engineer_id:
        raise Forbidden(f"job {job_id} is assigned to another engineer", field="job_id",
                        code="job_of_another_engineer")


async def completed(session: AsyncSession, settings: PartsSettings, p: Any, *, at: datetime, now: datetime) -> None:
    """A job completed: keep its last engineer, issue the parts it used (its reservation, or the engineer's van
    when nothing was reserved), create expected returns for warranty must-return parts (R-P4), release the rest."""
    await record(session, p.job_id, p.engineer_id, at, keep_last=True)
    for used in p.parts_used:
        cat = (await session.execute(sa.select(catalogue).where(catalogue.c.part_no == used.part_no))
               ).mappings().first()
        if cat is None:
            continue  # a part outside our catalogue (e.g. a local consumable): nothing to issue or return
        await ledger.lock_parts(session, [used.part_no])
        q = ("SELECT id::text, warehouse_id::text, quantity FROM reservations WHERE job_id = :job AND part_no = :p "
             "AND status = 'active'" + (" AND id = CAST(:rid AS uuid)" if used.reservation_id else "") +
             " ORDER BY created_at LIMIT 1 FOR UPDATE")
        res = (await session.execute(sa.text(q), {"job": p.job_id, "p": used.part_no,
                                                  "rid": used.reservation_id})).mappings().first()
        if res is not None:
            await ledger.apply_movement(session, warehouse_id=res["warehouse_id"], part_no=used.part_no,
                                        kind=Movement.ISSUE, quantity=res["quantity"], now=now, ref_id=res["id"])
            await session.execute(sa.update(reservations).where(reservations.c.id == res["id"])
                                  .values(status="issued"))
        elif p.engineer_id and not (await session.execute(sa.select(reservations.c.id).where(
                reservations.c.job_id == p.job_id, reservations.c.part_no == used.part_no).limit(1))).first():
            # nothing was reserved for this job: the engineer used a part from the van
            van = (await session.execute(sa.text(
                "SELECT b.warehouse_id::text FROM stock_balances b JOIN warehouses w ON w.id = b.warehouse_id "
                "WHERE w.kind = 'engineer_van' AND w.engineer_id = :e AND b.part_no = :p "
                "AND b.on_hand - b.reserved >= :q LIMIT 1"),
                {"e": p.engineer_id, "p": used.part_no, "q": used.quantity})).scalar()
            if van:
                await ledger.apply_movement(session, warehouse_id=van, part_no=used.part_no,
                                            kind=Movement.ISSUE_UNRESERVED, quantity=used.quantity, now=now,
                                            ref_id=p.job_id, reason="used on job")
        if p.coverage == "warranty" and cat["must_return"]:
            await returns.create_expected(session, settings, request_id=None, job_id=p.job_id,
                                          dealer_id=p.dealer_id, engineer_id=p.engineer_id, part_no=used.part_no,
                                          quantity=used.quantity, old_serial=used.old_serial,
                                          cost_price=cat["cost_price"], now=now)
    await requests.release_job(session, settings, p.job_id, now=now, reason="job completed: part not used")


async def cancelled(session: AsyncSession, settings: PartsSettings, p: Any, *, at: datetime, now: datetime) -> None:
    """A job cancelled: keep its last engineer, cancel its open requests and release their reservations."""
    await record(session, p.job_id, p.engineer_id, at, keep_last=True)
    await requests.release_job(session, settings, p.job_id, now=now, reason="job cancelled")
