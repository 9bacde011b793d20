"""The live decision as it was after the first issue 14 follow-up (commit a72ed82), kept only as a baseline of
``bench_live_insert`` ("previous"): candidates and the jobs they hold read once as ORM objects (every column),
each route built from those rows, the changed routes locked and checked column by column (two queries), the
offer's ETA events written in two outbox writes and the moved ETAs locked in a query of their own. Same decisions
as ``dispatch.jobs.service.place``; not used by the service. ``live_insert_before`` builds on it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.clock import business_date
from aftersales_shared.outbox import add_events
from dispatch.config import DispatchConfig
from dispatch.domain import routing as r
from dispatch.domain.job_lifecycle import ACCEPTED, EN_ROUTE, OFFERED, ON_SITE, PAUSED
from dispatch.domain.routing_model import RouteFrame, schedule, stop_for, to_seconds
from dispatch.jobs.service import LIVE_DAYS, LIVE_TRIES, _eta_event, _hand_over, eta_changed, reflow
from dispatch.models import Engineer, Job, ServiceDuration
from dispatch.plans.durations import cached
from dispatch.plans.inputs import (
    DEFAULT_UNSERVED_COST,
    STARTED,
    at_time,
    day_bounds,
    engineer_input,
    job_input,
    works_on,
)
from dispatch.plans.inputs import service_minutes as minutes_of
from dispatch.plans.replan import mark_replan

HELD = (OFFERED, ACCEPTED, EN_ROUTE, ON_SITE, PAUSED)
"""Statuses in which a job is on its engineer's route."""
URGENT_ZONE = "in_zone"  # R-S2: 2 h to arrive; an urgent job may displace a movable one


@dataclass
class LiveDay:
    """The day sequences of some engineers, as one core ``Plan`` (epoch = now), and the rows behind it."""

    plan: r.Plan
    engineers: list[r.Engineer]
    rows: dict[str, Engineer]
    held: dict[str, Job]
    days: dict[str, date]
    durations: dict[tuple[str, str, int], int]


def current_day(e: Engineer, now: datetime) -> date | None:
    """The day the engineer's live route is: today until today's shift ends, else the next working day."""
    today = business_date(now)
    for k in range(8):
        d = today + timedelta(days=k)
        if works_on(e, d) and at_time(d, e.shift_end) > now:
            return d
    return None


def _on_day(j: Job, d: date, current: date) -> bool:
    """Whether a held job is on the engineer's route of day ``d`` (``current``: the engineer's current day)."""
    if j.status in STARTED or j.planned_arrival is None:
        return d == current
    start, end = day_bounds(d)
    if d == current:
        return j.planned_arrival < end
    return start <= j.planned_arrival < end


def _order(j: Job) -> tuple[int, datetime, datetime]:
    far = datetime.max.replace(tzinfo=j.opened_at.tzinfo)
    return (0 if j.status in STARTED else 1, j.planned_arrival or far, j.arrive_due or far)


async def durations(session: AsyncSession, cfg: DispatchConfig) -> dict[tuple[str, str, int], int]:
    """(product line, fault class) -> service minutes, what a plan uses, from the per-process cache
    (``plans/durations.cached``)."""
    return await cached(session, cfg)


async def durations_for(session: AsyncSession, lines: set[str]) -> dict[tuple[str, str, int], int]:
    """The configured minutes of ``lines`` only, read now (the path before the cache; the benchmark's baseline)."""
    rows = (await session.scalars(sa.select(ServiceDuration).where(ServiceDuration.product_line.in_(lines)))).all()
    return {(d.product_line, d.fault_class, d.skill_level): d.minutes for d in rows}


def core_job(j: Job, cfg: DispatchConfig, durations: dict[tuple[str, str, int], int], *,
             window: tuple[datetime, datetime] | None = None) -> r.Job:
    """A job row as the routing core's job: the plan's window and defaults, the booked slot's end as the latest
    start, ``urgent`` for an in-zone (2 h) job; ``window`` replaces the window (a trial slot, never late)."""
    day_end = j.arrive_due or day_bounds(business_date(j.opened_at))[1]  # the day's end only without a deadline
    base = job_input(j, minutes=minutes_of(j, durations, cfg.default_service_minutes),
                     unserved_cost=float(j.unserved_cost or DEFAULT_UNSERVED_COST), day_end=day_end)
    if window is not None:
        return replace(base, earliest=window[0], latest=window[1], late_penalty=None, urgent=False)
    return replace(base, urgent=True) if j.zone_class == URGENT_ZONE else base


def _start_of(e: Engineer, d: date, now: datetime) -> tuple[float, float]:
    seen = e.last_seen_at is not None and business_date(e.last_seen_at) == d and d == business_date(now)
    if seen and e.last_lat is not None and e.last_lon is not None:
        return (e.last_lat, e.last_lon)
    return (e.home_lat, e.home_lon)


def _route(e: r.Engineer, jobs: list[r.Job], epoch: datetime, travel: r.HaversineTravel) -> r.Route:
    shift_start = to_seconds(epoch, e.shift_start, up=True)
    shift_end = to_seconds(epoch, e.shift_end, up=False)
    stops = []
    for rj in jobs:
        st = stop_for(rj, epoch)
        if rj.started:
            s0 = min(0, to_seconds(epoch, rj.started_at or epoch, up=False))
            st = replace(st, arrival_s=s0, start_s=s0, end_s=s0 + rj.service_s)
        stops.append(st)
    frame = RouteFrame(e.id, e.start, e.end_point, max(0, shift_start), shift_start, shift_end, shift_end)
    return schedule(frame, stops, travel, now_s=0)


async def nearest_engineers(session: AsyncSession, job: Job, *, limit: int, exclude: Sequence[str] = (),
                            only: Sequence[str] | None = None, skilled: bool = True) -> list[Engineer]:
    """Active engineers who serve the job's zone and hold its skills (any level: the core checks levels),
    nearest first by last known position or home; the pinned engineer alone for a pinned job. Not ``skilled``
    (an urgent job): any skills, so a job it displaces can go to an engineer who may do that one."""
    q = _nearest(job, exclude=exclude, only=only, skilled=skilled)
    return list((await session.scalars(q.limit(limit))).all())


def _nearest(job: Job, *, exclude: Sequence[str], only: Sequence[str] | None,
             skilled: bool) -> sa.Select[Any]:
    assert job.lat is not None and job.lon is not None
    k = math.cos(math.radians(job.lat))
    lat = sa.func.coalesce(Engineer.last_lat, Engineer.home_lat) - job.lat
    lon = (sa.func.coalesce(Engineer.last_lon, Engineer.home_lon) - job.lon) * k
    q = sa.select(Engineer).where(Engineer.active.is_(True))
    if only is not None:
        q = q.where(Engineer.id.in_(list(only)))
    elif job.pinned_engineer_id is not None:
        q = q.where(Engineer.id == job.pinned_engineer_id)
    else:
        q = q.where(Engineer.zones.contains([job.region_code]))
        for skill in () if not skilled else ({k: 1 for k in (job.required_skills or {})} or {job.required_skill: 1}):
            q = q.where(Engineer.skills.has_key(skill))
    if exclude:
        q = q.where(Engineer.id.not_in(list(exclude)))
    return q.order_by(lat * lat + lon * lon, Engineer.id)


async def lock_engineers(session: AsyncSession, ids: Sequence[str], *, skip_locked: bool = False) -> list[Engineer]:
    """The engineers' rows, locked (``FOR UPDATE``) in id order, as they are now: while a decision holds them, no
    other insertion can change their routes, so one read of their jobs under the lock is the truth.
    ``skip_locked``: rows another transaction holds are left out instead of waited for."""
    if not ids:
        return []
    return list((await session.scalars(sa.select(Engineer).where(Engineer.id.in_(list(ids))).order_by(Engineer.id)
                                       .with_for_update(skip_locked=skip_locked)
                                       .execution_options(populate_existing=True))).all())


async def held_jobs(session: AsyncSession, engineer_ids: Sequence[str], job_id: str, *,
                    fresh: bool = False) -> list[Job]:
    """Every job the engineers hold (on a route), but ``job_id``: one query (``fresh``: rows already in the
    session are read again too)."""
    if not engineer_ids:
        return []
    q = sa.select(Job).where(Job.engineer_id.in_(list(engineer_ids)), Job.status.in_(HELD), Job.id != job_id)
    return list((await session.scalars(q.execution_options(populate_existing=fresh))).all())


ROUTE_COLUMNS = ("id", "engineer_id", "status", "planned_arrival", "earliest_start", "booked_end", "arrive_due",
                 "opened_at", "lat", "lon", "service_minutes", "product_line", "fault_class", "required_skills",
                 "required_skill", "unserved_cost", "pinned_engineer_id", "arrived_at", "last_action_at",
                 "zone_class")
"""What of a held job its route is built from (``build_day``, ``core_job``)."""
ENGINEER_COLUMNS = ("active", "skills", "zones", "shifts", "absences", "shift_start", "shift_end", "home_lat",
                    "home_lon", "last_lat", "last_lon", "last_seen_at")
"""What of an engineer the route's frame and the insertion use."""


def _state(rows: Sequence[Any], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    return sorted((tuple(getattr(x, c) for c in columns) for x in rows), key=lambda t: str(t[0]))


async def still_as_read(session: AsyncSession, engineers: Sequence[Engineer], held_rows: Sequence[Job],
                        job_id: str) -> bool:
    """Lock ``engineers`` (``FOR UPDATE``, id order) and tell whether their rows and the jobs they hold are as
    read for a decision (``held_rows``): then no other decision changed their routes since, and none can until
    this transaction ends. False: read again and decide again (the rows are refreshed by the lock)."""
    ids = sorted(e.id for e in engineers)
    before_e = _state(engineers, ("id", *ENGINEER_COLUMNS))
    before_j = _state([j for j in held_rows if j.engineer_id in ids], ROUTE_COLUMNS)
    locked = await lock_engineers(session, ids)
    cols = [getattr(Job, c) for c in ROUTE_COLUMNS]
    now_j = (await session.execute(sa.select(*cols).where(
        Job.engineer_id.in_(ids), Job.status.in_(HELD), Job.id != job_id))).all()
    return _state(locked, ("id", *ENGINEER_COLUMNS)) == before_e and _state(now_j, ROUTE_COLUMNS) == before_j


async def load_day(session: AsyncSession, cfg: DispatchConfig, job: Job, now: datetime, *,
                   engineers: Sequence[Engineer], day: date | None = None) -> LiveDay:
    """The day sequences of ``engineers`` at ``now`` (their current day, or ``day``: then only those working
    that day and whose shift has not ended), without ``job`` itself (the one being inserted: a job held already
    is taken out of its route first)."""
    held_rows = await held_jobs(session, [e.id for e in engineers], job.id)
    return build_day(cfg, job, now, engineers=engineers, held_rows=held_rows,
                     durations=await durations(session, cfg), day=day)


def build_day(cfg: DispatchConfig, job: Job, now: datetime, *, engineers: Sequence[Engineer],
              held_rows: Sequence[Job], durations: dict[tuple[str, str, int], int], day: date | None = None) -> LiveDay:
    """:func:`load_day` from rows already read (no query): several days from one read."""
    days: dict[str, date] = {}
    for e in engineers:
        if day is not None:
            d = day if works_on(e, day) and at_time(day, e.shift_end) > now else None
        else:
            d = current_day(e, now)
        if d is not None:
            days[e.id] = d
    rows = {e.id: e for e in engineers if e.id in days}
    travel = r.HaversineTravel(speed_kmh=cfg.speed_kmh(job.zone_class), road_factor=cfg.road_factor)
    by_eng: dict[str, list[Job]] = {}
    currents = {eid: current_day(e, now) or days[eid] for eid, e in rows.items()}
    for j in held_rows:
        eid = j.engineer_id
        if eid not in rows:
            continue
        if _on_day(j, days[eid], currents[eid]) and j.lat is not None and j.lon is not None:
            by_eng.setdefault(eid, []).append(j)
    core_engineers, routes, held = [], [], {}
    for eid, e in rows.items():
        d = days[eid]
        ce = engineer_input(e, d)
        ce = replace(ce, start=_start_of(e, d, now), end=(e.home_lat, e.home_lon))
        mine = sorted(by_eng.get(eid, []), key=_order)
        held.update({j.id: j for j in mine})
        core_engineers.append(ce)
        routes.append(_route(ce, [core_job(j, cfg, durations) for j in mine], now, travel))
    return LiveDay(r.Plan(now, tuple(routes), (), travel), core_engineers, rows, held, days, durations)


def arrivals(plan: r.Plan, engineer_ids: set[str]) -> dict[str, tuple[str, datetime, int]]:
    """job id -> (engineer, planned arrival, position) on the routes of ``engineer_ids``."""
    out = {}
    for route in plan.routes:
        if route.engineer_id in engineer_ids:
            for pos, s in enumerate(route.stops):
                out[s.job_id] = (route.engineer_id, plan.time(s.arrival_s), pos)
    return out


# --- jobs/service.py of the same commit ---

async def place(session: AsyncSession, cfg: DispatchConfig, job: Job, now: datetime, *,
                exclude: Sequence[str] = (), reason: str = "insertion",
                window: tuple[datetime, datetime] | None = None) -> r.Insertion | None:
    """Insert a locked job (queued, or held and being moved) into the best engineer's day sequence.

    The nearest qualified engineers and the jobs they hold are read once; ``insert_job`` decides on that, for
    today's sequences, then each following day's (no further query). Then the engineers whose routes change are
    locked (``FOR UPDATE``, in id order) and checked to be as read (``still_as_read``): if a concurrent
    decision changed them, they are read again and the decision made again, so two concurrent insertions into one
    route never both keep a window the other broke; only those engineers stay locked to the end of the
    transaction (a queue retry placing many jobs does not hold every candidate of each). An urgent (in-zone) job
    may displace a movable job, which is re-inserted on time (``displaced``). The job gets the planned arrival of
    its stop; every other job on the changed routes whose planned arrival moved gets it too, with
    ``dispatch.job.eta_changed``. An urgent job that no route takes on time marks its zone-day for a re-plan. None:
    no route can take it (it stays where it is)."""
    urgent = job.zone_class == URGENT_ZONE and window is None
    near = await nearest_engineers(session, job, limit=cfg.live_candidates * (2 if urgent else 1),
                                        exclude=exclude, skilled=not urgent)
    ids = [e.id for e in near]
    held = await held_jobs(session, ids, job.id)
    durations = await cached(session, cfg)
    rjob = core_job(job, cfg, durations, window=window)
    today, displace = business_date(now), None
    for _ in range(LIVE_TRIES):
        found = None
        for ahead in range(LIVE_DAYS):  # today's sequences first, then each following day's (same read)
            day = build_day(cfg, job, now, engineers=near, held_rows=held, durations=durations,
                                 day=today + timedelta(days=ahead))
            res = r.insert_job(day.plan, rjob, day.engineers, now, max_candidates=cfg.live_candidates,
                                     allow_displace=displace)
            if res.insertion is not None:
                found = (res, day)
                break
        if found is None:
            break
        res, day = found
        assert res.insertion is not None
        involved = {res.insertion.engineer_id} | {m.to_engineer for m in res.insertion.displaced}
        if not await still_as_read(session, [day.rows[e] for e in involved], held, job.id):
            held = await held_jobs(session, ids, job.id, fresh=True)  # a concurrent decision: again
            continue
        victims = [m.job_id for m in res.insertion.displaced]
        if victims and len((await session.scalars(select(Job.id).where(Job.id.in_(victims)).with_for_update(
                skip_locked=True))).all()) != len(victims):  # a displaced job is being changed right now
            displace = False
            continue
        await _take_insertion(session, cfg, job, res, day, now, reason)
        if rjob.urgent and res.insertion.lateness_s > 0:
            await mark_replan(session, cfg, zone=job.region_code, day=business_date(now),
                              reason="urgent_unplaceable", now=now)
        return res.insertion
    if rjob.urgent:
        await mark_replan(session, cfg, zone=job.region_code, day=business_date(now), reason="urgent_unplaceable",
                          now=now)
    return None


async def _take_insertion(session: AsyncSession, cfg: DispatchConfig, job: Job, res: r.InsertResult,
                          day: LiveDay, now: datetime, reason: str) -> None:
    assert res.insertion is not None
    ins = res.insertion
    new = arrivals(res.plan, {ins.engineer_id} | {m.to_engineer for m in ins.displaced})  # routes changed
    displaced = {m.job_id: m for m in ins.displaced}
    before = {job_id: row.planned_arrival for job_id, row in day.held.items()}
    for m in ins.displaced:
        victim = day.held[m.job_id]
        if m.to_engineer != victim.engineer_id:
            await _hand_over(session, cfg, victim, day.rows[m.to_engineer], new[victim.id][1], now)
    previous, holder = job.planned_arrival, job.engineer_id if job.status in HELD else None
    await _hand_over(session, cfg, job, day.rows[ins.engineer_id], new[job.id][1], now)
    await eta_changed(session, job, previous, reason, now)
    await _move_etas(session, cfg, day.held, new, before, now, reasons={
        job_id: "displaced" if job_id in displaced else "insertion" for job_id in new}, locked=set(displaced))
    if holder is not None and holder != ins.engineer_id:  # moved off a route (a booking): the rest moves up
        await reflow(session, cfg, holder, job, now)


async def _move_etas(session: AsyncSession, cfg: DispatchConfig, rows: dict[str, Job],
                     new: dict[str, tuple[str, datetime, int]], before: dict[str, datetime | None], now: datetime,
                     *, reasons: dict[str, str], locked: Collection[str] = ()) -> int:
    """Jobs of ``rows`` whose planned arrival in ``new`` moved by ``cfg.eta_change`` or more (or that are in
    ``locked``, already locked and always told) get it, with ``dispatch.job.eta_changed`` (one outbox write); a
    job being changed right then by an app action (row locked elsewhere) is skipped: its next insertion or plan
    says its ETA. The number of jobs told."""
    moved = {}
    for job_id, (_, arrival, _) in new.items():
        row, was = rows.get(job_id), before.get(job_id)
        if row is None:
            continue
        if job_id in locked or was is None or abs(arrival - was) >= cfg.eta_change:
            moved[job_id] = (row, was, arrival)
    free = set(locked)
    ask = [job_id for job_id in moved if job_id not in locked]
    if ask:
        free |= set((await session.scalars(select(Job.id).where(Job.id.in_(ask)).with_for_update(
            skip_locked=True))).all())
    events = []
    for job_id, (row, was, arrival) in moved.items():
        if job_id not in free:
            continue
        row.planned_arrival, row.updated_at = arrival, now
        if arrival != was:
            events.append(_eta_event(row, was, reasons[job_id], now))
    if events:
        await add_events(session, *events)
    return len(events)


