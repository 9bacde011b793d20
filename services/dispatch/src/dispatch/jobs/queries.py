"""The SQL of jobs, offers and engineer capacity.

``candidates_for`` is the hot path of every assignment decision (plain column rows, not ORM entities;
measured by ``benchmarks/bench_dispatch.py``). Capacity is taken by a conditional UPDATE that the
``capacity`` CHECK backs up, and one pending offer per job is a partial unique index: both are raced in
``tests/dispatch/test_events_and_races.py``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, literal, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import NotFound

from .. import metrics
from ..config import DispatchConfig
from ..domain.assignment import Candidate, EngineerState, JobNeed, Shift, rank
from ..domain.job_lifecycle import QUEUED
from ..models import TS, Engineer, Job, Offer


def engineer_state(e: Any) -> EngineerState:
    """An engineer row (entity or column row) as the assignment domain sees it."""
    loc = (e.last_lat, e.last_lon) if e.last_lat is not None and e.last_lon is not None else (e.home_lat, e.home_lon)
    return EngineerState(
        engineer_id=e.id, skills={k: int(v) for k, v in e.skills.items()}, zones=frozenset(e.zones),
        location=loc, active_jobs=e.active_jobs, max_jobs=e.max_jobs,
        shifts=tuple(Shift(int(s["weekday"]), int(s["start_min"]), int(s["end_min"])) for s in e.shifts),
        absences=tuple((date.fromisoformat(a["from"]), date.fromisoformat(a["to"])) for a in e.absences),
        dealer_id=e.dealer_id,
    )


async def candidates_for(session: AsyncSession, cfg: DispatchConfig, job: Job, now: datetime,
                         exclude: Sequence[str] = ()) -> list[Candidate]:
    """Ranked feasible engineers for a job (the assignment decision)."""
    started = time.perf_counter()
    rows = (await session.execute(select(
        Engineer.id, Engineer.skills, Engineer.zones, Engineer.home_lat, Engineer.home_lon, Engineer.last_lat,
        Engineer.last_lon, Engineer.active_jobs, Engineer.max_jobs, Engineer.shifts, Engineer.absences,
        Engineer.dealer_id).where(
        Engineer.active.is_(True), Engineer.active_jobs < Engineer.max_jobs,
        Engineer.skills.has_key(job.required_skill), Engineer.zones.contains([job.region_code])))).all()
    location = (job.lat, job.lon) if job.lat is not None and job.lon is not None else (0.0, 0.0)
    need = JobNeed(job_id=job.id, skill=job.required_skill, region_code=job.region_code,
                   zone_class=job.zone_class, location=location, arrive_by=job.arrive_due or now)
    states = [engineer_state(r) for r in rows]
    if job.lat is None:  # no coordinates: travel cannot be estimated, rank on load alone
        states = [EngineerState(**{**s.__dict__, "location": (0.0, 0.0)}) for s in states]
    ranked = rank(need, states, cfg.estimator, now, exclude=exclude)
    metrics.ASSIGN_DECISION.observe(time.perf_counter() - started)
    return ranked


async def reserve(session: AsyncSession, engineer_id: str) -> Row[str, str | None] | None:
    """Take one unit of an engineer's capacity, only if free (conditional UPDATE, row-locked).

    Returns the engineer's (id, dealer_id) or None when a concurrent decision took the last slot.
    """
    got = await session.execute(
        update(Engineer).where(Engineer.id == engineer_id, Engineer.active_jobs < Engineer.max_jobs,
                               Engineer.active.is_(True))
        .values(active_jobs=Engineer.active_jobs + 1).returning(Engineer.id, Engineer.dealer_id)
        .execution_options(synchronize_session=False))
    return got.first()


async def release(session: AsyncSession, job: Job) -> None:
    """Give the job's unit of capacity back to its engineer (once)."""
    if job.holds_capacity and job.engineer_id:
        await session.execute(update(Engineer).where(Engineer.id == job.engineer_id)
                              .values(active_jobs=Engineer.active_jobs - 1))
        job.holds_capacity = False


async def excluded_engineers(session: AsyncSession, job_id: str) -> list[str]:
    """Engineers who declined the job or let its offer expire: not offered it again."""
    return list((await session.scalars(select(Offer.engineer_id).where(
        Offer.job_id == job_id, Offer.status.in_(["declined", "expired"])))).all())


async def close_offer(session: AsyncSession, job: Job, status: str, now: datetime, reason: str | None = None) -> None:
    await session.execute(update(Offer).where(Offer.job_id == job.id, Offer.status == "pending")
                          .values(status=status, decided_at=now, reason=reason))


async def lock_job(session: AsyncSession, job_id: str) -> Job:
    job = await session.scalar(select(Job).where(Job.id == job_id).with_for_update().execution_options(
        populate_existing=True))
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    return job


async def get_job(session: AsyncSession, job_id: str) -> Job:
    job = await session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    return job


def latest_job_of(ticket_id: str) -> Select[Job]:
    """The query for a ticket's current job: the one of its latest visit (earlier visits are finished)."""
    return select(Job).where(Job.ticket_id == ticket_id).order_by(Job.visit.desc()).limit(1)


async def queue_gauges(session: AsyncSession, now: datetime) -> tuple[int, float]:
    """How many jobs wait for an engineer, and the age in seconds of the oldest."""
    waiting, oldest = (await session.execute(select(
        func.count(), func.coalesce(func.extract("epoch", literal(now, TS) - func.min(Job.opened_at)), 0))
        .where(Job.status == QUEUED))).one()
    return int(waiting or 0), float(oldest or 0)
