"""Jobs as parts sees them: who holds each job, that engineer's dealer and the job's ticket (as dispatch last
said), the check of the job or ticket a new part request names, and what a job's completion or cancellation
does to its parts.

Fed by dispatch's job events (``consumers.py``) in the consumer's unit of work; ``check_references`` is read by
``POST /v1/part-requests`` whenever the request names a job (or a dealer names a ticket), and decides with
``access.may_name_job`` / ``may_name_ticket`` (issue 13: an engineer only a job it holds, a dealer only its own
engineers' jobs). The bus is eventually consistent: a job parts has not heard of yet is refused with a
retryable 409 (``job_not_yet_known``), never allowed unchecked.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal

from .. import access
from ..access import KnownJob
from ..config import PartsSettings
from ..domain.stock import Movement
from ..models import catalogue, reservations
from ..requests import service as requests
from ..requests.schemas import RequestCreate
from ..returns import service as returns
from ..stock import ledger

log = logging.getLogger(__name__)

# An event changes the row only when it is strictly newer than the one that last did, so a late event
# never undoes a newer one and a redelivered event (same occurred_at) changes nothing. The ticket of a job
# never changes; the dealer is the one employing the engineer the event names.
_UPSERT = """
INSERT INTO job_engineers AS j (job_id, engineer_id, dealer_id, ticket_id, event_at, updated_at)
VALUES (:job, :eng, :dealer, :ticket, :at, now())
ON CONFLICT (job_id) DO UPDATE SET engineer_id = {engineer}, dealer_id = {dealer},
    ticket_id = COALESCE(EXCLUDED.ticket_id, j.ticket_id), event_at = EXCLUDED.event_at,
    updated_at = EXCLUDED.updated_at
WHERE j.event_at < EXCLUDED.event_at
"""
_SET = sa.text(_UPSERT.format(engineer="EXCLUDED.engineer_id", dealer="EXCLUDED.dealer_id"))
_KEEP = sa.text(_UPSERT.format(  # a terminal event naming no engineer keeps the last engineer and its dealer
    engineer="COALESCE(EXCLUDED.engineer_id, j.engineer_id)",
    dealer="CASE WHEN EXCLUDED.engineer_id IS NULL THEN j.dealer_id ELSE EXCLUDED.dealer_id END"))
_BY_JOB = "SELECT job_id, engineer_id, dealer_id, ticket_id FROM job_engineers WHERE job_id = $1"
_BY_TICKET = "SELECT job_id, engineer_id, dealer_id, ticket_id FROM job_engineers WHERE ticket_id = $1"


async def record(session: AsyncSession, p: Any, at: datetime, *, holds: bool = True, keep_last: bool = False) -> None:
    """Dispatch says, as of ``at``, that the engineer (and its dealer) named by the job event ``p`` holds the job.

    ``holds=False``: nobody holds it now (declined). ``keep_last``: a terminal event (completed, cancelled) whose
    engineer, when it names none, leaves the last one and its dealer.
    """
    await session.execute(_KEEP if keep_last else _SET, {
        "job": p.job_id, "ticket": p.ticket_id, "at": at,
        "eng": p.engineer_id if holds else None, "dealer": p.dealer_id if holds else None})


async def check_references(pool: asyncpg.Pool, principal: Principal, body: RequestCreate) -> None:
    """Refuse a new request naming a job or ticket that is not the caller's (``access.may_name_job``).

    One primary-key lookup when the request names a job; one index lookup when a dealer names only a ticket.
    Staff requests and dealers' requests naming neither (the benchmarked path) do no lookup."""
    if body.job_id:
        row = await pool.fetchrow(_BY_JOB, body.job_id)
        job = KnownJob(**dict(row)) if row is not None else None
        if job is None and principal.has(*access.ORDERS_AS_STAFF):
            log.info("%s requests parts for job %s, which parts has not heard of yet: staff may",
                     principal.sub, body.job_id)
        access.may_name_job(principal, body.job_id, body.ticket_id, job)
    elif body.ticket_id and not principal.has(*access.ORDERS_AS_STAFF) and not access.is_engineer_caller(principal):
        rows = await pool.fetch(_BY_TICKET, body.ticket_id)
        access.may_name_ticket(principal, body.ticket_id, [KnownJob(**dict(r)) for r in rows])


async def completed(session: AsyncSession, settings: PartsSettings, p: Any, *, at: datetime, now: datetime) -> None:
    """A job completed: keep its last engineer, issue the parts it used (its reservation, or the engineer's van
    when nothing was reserved), create expected returns for warranty must-return parts (R-P4), release the rest."""
    await record(session, p, at, keep_last=True)
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
    await record(session, p, at, keep_last=True)
    await requests.release_job(session, settings, p.job_id, now=now, reason="job cancelled")
