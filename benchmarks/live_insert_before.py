"""The live decision as it was before the issue 14 follow-up (commit 03480f4), kept only as the baseline of
``bench_live_insert``: route data read twice (before and after locking the changed routes), three queries each
time, service durations read every decision, one lock query and one outbox write per moved ETA. Same decisions
as ``dispatch.jobs.service.place``; not used by the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.clock import business_date
from dispatch.config import DispatchConfig
from dispatch.domain import routing
from dispatch.jobs.service import LIVE_DAYS, _hand_over, eta_changed
from dispatch.models import Engineer, Job
from dispatch.plans.inputs import at_time, works_on
from dispatch.plans.replan import mark_replan

from . import live_insert_previous as live


async def _load_day(session: AsyncSession, cfg: DispatchConfig, job: Job, now: datetime, *,
                    engineers: Sequence[Engineer], day: date) -> live.LiveDay:
    rows = [e for e in engineers if works_on(e, day) and at_time(day, e.shift_end) > now]
    held = (await session.scalars(sa.select(Job).where(
        Job.engineer_id.in_([e.id for e in rows]), Job.status.in_(live.HELD), Job.id != job.id))).all() if rows else []
    durations = await live.durations_for(session, {job.product_line} | {j.product_line for j in held})
    return live.build_day(cfg, job, now, engineers=engineers, held_rows=held, durations=durations, day=day)


async def place_before(session: AsyncSession, cfg: DispatchConfig, job: Job, now: datetime, *,
                exclude: Sequence[str] = (), reason: str = "insertion",
                window: tuple[datetime, datetime] | None = None) -> routing.Insertion | None:
    """Insert a locked job (queued, or held and being moved) into the best engineer's day sequence.

    The nearest qualified engineers' sequences are read and ``insert_job`` decides; then the engineers whose
    routes change are locked (``FOR UPDATE``, in id order), their sequences read again and the decision made
    again on them, so two concurrent insertions into one route never both keep a window the other broke. An
    urgent (in-zone) job may displace a movable job, which is re-inserted on time (``displaced``). The job gets
    the planned arrival of its stop; every other job on the changed routes whose planned arrival moved gets it
    too, with ``dispatch.job.eta_changed``. An urgent job that no route takes on time marks its zone-day for a
    re-plan. None: no route can take it (it stays where it is)."""
    skip = list(exclude)
    rjob: routing.Job | None = None
    today, ahead, tries = business_date(now), 0, 0
    while ahead < LIVE_DAYS and tries < 2 * LIVE_DAYS:  # today's sequences first, then each following day's
        tries += 1
        on = today + timedelta(days=ahead)
        urgent = job.zone_class == live.URGENT_ZONE and window is None
        near = await live.nearest_engineers(session, job, limit=cfg.live_candidates * (2 if urgent else 1),
                                            exclude=skip, skilled=not urgent)
        day = await _load_day(session, cfg, job, now, engineers=near, day=on)
        rjob = live.core_job(job, cfg, day.durations, window=window)
        res = routing.insert_job(day.plan, rjob, day.engineers, now, max_candidates=cfg.live_candidates)
        if res.insertion is None:
            ahead += 1
            continue
        involved = {res.insertion.engineer_id} | {m.to_engineer for m in res.insertion.displaced}
        locked = (await session.scalars(select(Engineer).where(Engineer.id.in_(involved)).order_by(Engineer.id)
                                        .with_for_update().execution_options(populate_existing=True))).all()
        fresh_day = await _load_day(session, cfg, job, now, engineers=locked, day=on)
        res = routing.insert_job(fresh_day.plan, rjob, fresh_day.engineers, now, max_candidates=len(locked))
        victims = [m.job_id for m in res.insertion.displaced] if res.insertion else []
        if victims and len((await session.scalars(select(Job.id).where(Job.id.in_(victims)).with_for_update(
                skip_locked=True))).all()) != len(victims):  # a displaced job is being changed right now
            res = routing.insert_job(fresh_day.plan, rjob, fresh_day.engineers, now, max_candidates=len(locked),
                                     allow_displace=False)
        if res.insertion is None:  # a concurrent insertion changed these routes since they were read: again
            continue
        await _take_insertion(session, cfg, job, res, fresh_day, now, reason)
        if rjob.urgent and res.insertion.lateness_s > 0:
            await mark_replan(session, cfg, zone=job.region_code, day=business_date(now),
                              reason="urgent_unplaceable", now=now)
        return res.insertion
    if rjob is not None and rjob.urgent:
        await mark_replan(session, cfg, zone=job.region_code, day=business_date(now), reason="urgent_unplaceable",
                          now=now)
    return None


async def _take_insertion(session: AsyncSession, cfg: DispatchConfig, job: Job, res: routing.InsertResult,
                          day: live.LiveDay, now: datetime, reason: str) -> None:
    assert res.insertion is not None
    ins = res.insertion
    new = live.arrivals(res.plan, set(day.rows))
    displaced = {m.job_id: m for m in ins.displaced}
    before = {job_id: row.planned_arrival for job_id, row in day.held.items()}
    for m in ins.displaced:
        victim = day.held[m.job_id]
        if m.to_engineer != victim.engineer_id:
            await _hand_over(session, cfg, victim, day.rows[m.to_engineer], new[victim.id][1], now)
    previous = job.planned_arrival
    await _hand_over(session, cfg, job, day.rows[ins.engineer_id], new[job.id][1], now)
    await eta_changed(session, job, previous, reason, now)
    for job_id, (_, arrival, _) in new.items():
        row = day.held.get(job_id)
        if row is None or job_id == job.id:
            continue
        was = before[job_id]
        moved = was is None or abs(arrival - was) >= cfg.eta_change
        if not (moved or job_id in displaced):
            continue
        if job_id not in displaced and await session.scalar(select(Job.id).where(Job.id == job_id).with_for_update(
                skip_locked=True)) is None:
            continue  # being changed right now (an app action): its next insertion or plan says its ETA
        row.planned_arrival, row.updated_at = arrival, now
        await eta_changed(session, row, was, "displaced" if job_id in displaced else "insertion", now)


