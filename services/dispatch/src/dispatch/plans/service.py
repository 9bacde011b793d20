"""Plan use cases (issue 14): what a plan needs (job planning data, service durations), requesting a zone-day
plan, running it (the planner worker), publishing it, and the reads (a plan, an engineer's route for a day).

Every function runs inside the caller's unit of work (it flushes, never commits), except the planner's claim
(:func:`run_plan`), which commits ``running`` in its own short transaction so everyone sees the plan is taken
while the solver works. One active (requested/running) plan per zone-day is a partial unique index: a racing
second request inserts nothing and gets the active plan (``INSERT .. ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from aftersales_shared.clock import BUSINESS_TZ, business_date
from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.events import dispatch as ev
from aftersales_shared.ids import new_id
from aftersales_shared.money import to_fen
from aftersales_shared.outbox import add_events

from ..config import DispatchConfig
from ..domain import plan_lifecycle as lifecycle
from ..domain import routing as r
from ..domain.durations import SKILL_LEVELS
from ..domain.job_lifecycle import ACCEPTED, OFFERED, OPEN_STATUSES, QUEUED, TERMINAL
from ..jobs import queries as job_queries
from ..jobs import service as jobs
from ..jobs.live import HELD as ROUTE_HELD
from ..jobs.live import RESTOCK_MINUTES
from ..models import (
    TS,
    Engineer,
    Job,
    NightlyRun,
    PlanRestock,
    PlanRoute,
    PlanRow,
    PlanStop,
    PlanUnplanned,
    ReplanMark,
    ServiceCentre,
    ServiceDuration,
    SlaPolicyRow,
)
from ..sla.service import zone_class_of
from . import durations, executor, stock, tools
from .inputs import (
    DEFAULT_UNSERVED_COST,
    STARTED,
    Inputs,
    StoredRestock,
    StoredRoute,
    StoredStop,
    day_bounds,
    engineer_input,
    job_input,
    required_skills,
    service_by_level,
    service_minutes,
    snapshot,
    window,
    works_on,
)
from .schemas import DurationUpsert, JobPlanningRead, JobPlanningUpdate

LOST_AFTER = timedelta(minutes=5)
"""A running plan whose worker has not finished within its time limit plus this is taken as lost."""


# The partial unique index's own predicate, as literal SQL: with bound parameters PostgreSQL cannot prove that the
# ON CONFLICT clause implies the index's predicate once asyncpg's prepared statement switches to a generic plan
# (after five executions on one connection), and the insert fails with "no unique or exclusion constraint".
ACTIVE_PLAN_PREDICATE = sa.text("status IN (" + ", ".join(f"'{s}'" for s in lifecycle.ACTIVE) + ")")

def _lost_before(now: datetime) -> sa.ColumnElement[datetime]:
    """Running plans started before this have lost their worker (their time limit plus ``LOST_AFTER`` ago)."""
    return sa.literal(now - LOST_AFTER, TS) - sa.func.make_interval(0, 0, 0, 0, 0, 0, PlanRow.time_limit_s)


# --- what a plan needs ----------------------------------------------------------------------------

async def _durations(session: AsyncSession) -> dict[tuple[str, str, int], int]:
    return await durations.effective(session)  # configured, learned from completions, or a manual override


async def _policy_costs(session: AsyncSession) -> dict[str, Decimal]:
    return {p.id: p.unserved_cost for p in (await session.scalars(sa.select(SlaPolicyRow)))}


def _unserved_cost(job: Job, costs: dict[str, Decimal]) -> Decimal:
    if job.unserved_cost is not None:
        return job.unserved_cost
    return costs.get(job.policy_id or "", Decimal(DEFAULT_UNSERVED_COST))


async def job_planning(session: AsyncSession, cfg: DispatchConfig, job: Job) -> JobPlanningRead:
    earliest, _ = window(job, job.opened_at)
    known = await _durations(session)
    minutes = service_minutes(job, known, cfg.default_service_minutes)
    by_level = {lvl: service_minutes(job, known, cfg.default_service_minutes, lvl) for lvl in SKILL_LEVELS}
    parts, parts_from = stock.expected_parts(job, await stock.fault_class_table(session))
    needs, needs_from = tools.required_tools(job, await tools.tool_table(session))
    return JobPlanningRead(
        job_id=job.id, status=job.status, engineer_id=job.engineer_id, earliest_start=earliest,
        latest_start=job.arrive_due, booked=job.earliest_start is not None,
        booked_end=job.booked_end, service_minutes=minutes, service_minutes_by_level=by_level,
        fault_class=job.fault_class, required_skills=required_skills(job),
        unserved_cost=to_fen(_unserved_cost(job, await _policy_costs(session))),
        pinned_engineer_id=job.pinned_engineer_id, expected_parts=parts, expected_parts_from=parts_from,
        required_tools=sorted(needs), required_tools_from=needs_from,
        planned_arrival=job.planned_arrival, plan_id=job.plan_id)


async def visible_job(session: AsyncSession, *, job_id: str, visible: sa.ColumnElement[bool]) -> Job:
    job = await session.scalar(sa.select(Job).where(Job.id == job_id, visible))
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    return job


async def update_job_planning(session: AsyncSession, cfg: DispatchConfig, *, job_id: str, body: JobPlanningUpdate,
                              now: datetime) -> JobPlanningRead:
    """Change what a plan needs of an open job (only the fields sent; null = back to the default)."""
    job = await job_queries.lock_job(session, job_id)
    if job.status in TERMINAL:
        raise Conflict(f"job is {job.status}; its planning data is final", field="status", code="job_state")
    sent = body.model_fields_set
    if "pinned_engineer_id" in sent and body.pinned_engineer_id is not None \
            and await session.get(Engineer, body.pinned_engineer_id) is None:
        raise Unprocessable(f"engineer {body.pinned_engineer_id} not found", field="pinned_engineer_id",
                            code="unknown_engineer")
    for name in sent:
        value = getattr(body, name)
        if name == "required_skills":
            value = {} if value is None else dict(value)
        elif name == "required_tools" and value is not None:
            value = sorted(set(value))
        setattr(job, name, value)
    job.updated_at = now
    await session.flush()
    return await job_planning(session, cfg, job)


async def upsert_duration(session: AsyncSession, *, body: DurationUpsert, now: datetime) -> ServiceDuration:
    stmt = insert(ServiceDuration).values(product_line=body.product_line, fault_class=body.fault_class or "",
                                          skill_level=body.skill_level or 0, minutes=body.minutes,
                                          override=body.override, updated_at=now)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[ServiceDuration.product_line, ServiceDuration.fault_class, ServiceDuration.skill_level],
        set_={"minutes": stmt.excluded.minutes, "override": stmt.excluded.override,
              "updated_at": stmt.excluded.updated_at}))
    durations.forget()
    row = await session.get(ServiceDuration, (body.product_line, body.fault_class or "", body.skill_level or 0),
                            populate_existing=True)
    assert row is not None
    return row


async def list_durations(session: AsyncSession) -> Sequence[ServiceDuration]:
    return (await session.scalars(sa.select(ServiceDuration).order_by(
        ServiceDuration.product_line, ServiceDuration.fault_class, ServiceDuration.skill_level))).all()


# --- requesting a plan ----------------------------------------------------------------------------

async def request_plan(session: AsyncSession, cfg: DispatchConfig, *, zone: str, day: date, requested_by: str | None,
                       now: datetime, today: date) -> tuple[PlanRow, bool]:
    """A plan of ``zone`` for ``day``: the zone-day's active (requested/running) plan if there is one, else a new
    version, requested (``dispatch.plan.requested`` keyed by zone, for the planner workers). True when new."""
    if day < today:
        raise Unprocessable(f"{day} is over; plan today or a later day", field="date", code="plan_date_past")
    # a plan whose worker was lost (running far beyond its time limit) no longer blocks the zone-day
    await session.execute(sa.update(PlanRow).where(
        PlanRow.zone == zone, PlanRow.day == day, PlanRow.status == lifecycle.RUNNING,
        PlanRow.started_at < _lost_before(now))
        .values(status=lifecycle.FAILED, finished_at=now, error="planner worker lost"))
    version = sa.select(sa.func.coalesce(sa.func.max(PlanRow.version), 0) + 1).where(
        PlanRow.zone == zone, PlanRow.day == day).scalar_subquery()
    plan_id = str(new_id())
    stmt = insert(PlanRow).values(
        id=plan_id, zone=zone, day=day, version=version, status=lifecycle.REQUESTED,
        time_limit_s=cfg.plan_time_limit, requested_by=requested_by, created_at=now,
    ).on_conflict_do_nothing(index_elements=[PlanRow.zone, PlanRow.day],
                             index_where=ACTIVE_PLAN_PREDICATE).returning(PlanRow.id)
    created = (await session.execute(stmt)).scalar() is not None
    if not created:
        active = await session.scalar(sa.select(PlanRow).where(
            PlanRow.zone == zone, PlanRow.day == day, PlanRow.status.in_(lifecycle.ACTIVE)))
        if active is None:  # it finished between our insert and this read: ask again
            return await request_plan(session, cfg, zone=zone, day=day, requested_by=requested_by, now=now,
                                      today=today)
        return active, False
    plan = await session.get(PlanRow, plan_id)
    assert plan is not None
    await add_events(session, ev.PlanRequested(aggregate_id=plan.id, payload=ev.PlanRequestedPayload(
        plan_id=plan.id, zone=zone, date=day, version=plan.version, time_limit_s=plan.time_limit_s, at=now)),
        key=zone)
    return plan, True


# --- the planner worker ---------------------------------------------------------------------------

async def _claim(session: AsyncSession, plan_id: str, now: datetime) -> bool:
    """requested -> running, committed at once in its own transaction (or re-taken when its worker was lost)."""
    assert session.bind is not None  # the app's sessions are bound to its engine
    sessions = async_sessionmaker(session.bind, expire_on_commit=False)
    async with sessions() as claim, claim.begin():
        got = await claim.execute(sa.update(PlanRow).where(PlanRow.id == plan_id).where(sa.or_(
            PlanRow.status == lifecycle.REQUESTED,
            sa.and_(PlanRow.status == lifecycle.RUNNING, PlanRow.started_at < _lost_before(now))))
            .values(status=lifecycle.move(lifecycle.REQUESTED, "start").to, started_at=now).returning(PlanRow.id))
        return got.scalar() is not None


async def load_inputs(session: AsyncSession, cfg: DispatchConfig, *, zone: str, day: date,
                      now: datetime) -> Inputs:
    """The zone-day's open jobs (with their expected parts), the engineers who may work it (with their van stock)
    and the zone's service centres with stock (restock stops), as the routing core takes them."""
    day_start, day_end = day_bounds(day)
    epoch = max(now, day_start)
    rows = (await session.scalars(sa.select(Job).where(
        Job.region_code == zone, Job.status.in_(OPEN_STATUSES),
        sa.func.coalesce(Job.earliest_start, Job.opened_at) < day_end).order_by(Job.id))).all()
    durations, costs = await _durations(session), await _policy_costs(session)
    named = {j.engineer_id if j.status in STARTED else j.pinned_engineer_id for j in rows} - {None}
    engineers = (await session.scalars(sa.select(Engineer).where(Engineer.active.is_(True), sa.or_(
        Engineer.zones.contains([zone]), Engineer.id.in_(named))).order_by(Engineer.id))).all()
    zone_class, _ = await zone_class_of(session, zone)
    parts, needs = await stock.fault_class_table(session), await tools.tool_table(session)
    inp = Inputs(epoch, [], [], r.HaversineTravel(speed_kmh=cfg.speed_kmh(zone_class), road_factor=cfg.road_factor),
                 centres=await stock.zone_centres(session, zone))
    for j in rows:
        if j.lat is None or j.lon is None:
            inp.skipped.append((j.id, "no_location", "the job has no coordinates"))
            continue
        inp.jobs.append(job_input(j, minutes=service_minutes(j, durations, cfg.default_service_minutes),
                                  by_level=service_by_level(j, durations, cfg.default_service_minutes),
                                  unserved_cost=float(_unserved_cost(j, costs)), day_end=day_end,
                                  parts=stock.expected_parts(j, parts)[0], tools=tools.required_tools(j, needs)[0]))
    working = [x for x in engineers if works_on(x, day)]
    vans = await stock.van_stock(session, [x.id for x in working])
    restock_to = stock.restock_levels(inp.jobs) if inp.centres else {}
    inp.engineers = [engineer_input(x, day, van_stock=vans.get(x.id), restock_to=restock_to) for x in working]
    return inp


def _score(plan: r.Plan) -> dict[str, Any]:
    t = asdict(plan.totals)
    t["distance_m"] = t.pop("distance")  # haversine travel: metres
    t.pop("duration_s", None)
    t["unplanned_penalty"] = str(to_fen(Decimal(str(t["unplanned_penalty"]))))
    return {**t, "objective": plan.solver.objective, "runtime_s": plan.solver.runtime_s}


async def _store(session: AsyncSession, row: PlanRow, inp: Inputs, plan: r.Plan) -> None:
    for route in plan.routes:
        if not route.stops:
            continue
        session.add(PlanRoute(plan_id=row.id, engineer_id=route.engineer_id, depart_at=plan.time(route.depart_s),
                              return_at=plan.time(route.return_s), distance_m=route.distance,
                              travel_s=route.travel_s))
        for pos, s in enumerate(route.stops):
            if s.restock is not None:
                session.add(PlanRestock(plan_id=row.id, engineer_id=route.engineer_id, position=pos,
                                        centre_id=s.restock, planned_arrival=plan.time(s.arrival_s),
                                        planned_start=plan.time(s.start_s), planned_end=plan.time(s.end_s),
                                        parts=dict(s.parts)))
                continue
            session.add(PlanStop(
                plan_id=row.id, job_id=s.job_id, engineer_id=route.engineer_id, position=pos,
                planned_arrival=plan.time(s.arrival_s), planned_start=plan.time(s.start_s),
                planned_end=plan.time(s.end_s), window_start=plan.time(s.earliest_s),
                window_end=plan.time(s.latest_s), window_met=s.on_time, started=s.started))
    for u in plan.unplanned:
        session.add(PlanUnplanned(plan_id=row.id, job_id=u.job_id, reason=u.reason.value, detail=u.detail))
    for job_id, reason, detail in inp.skipped:
        session.add(PlanUnplanned(plan_id=row.id, job_id=job_id, reason=reason, detail=detail))
    row.planned_at, row.score, row.inputs = plan.epoch, _score(plan), snapshot(inp)


async def run_plan(session: AsyncSession, cfg: DispatchConfig, *, plan_id: str, now: datetime) -> str | None:
    """The planner worker's use case for one requested plan: claim it, load the zone-day, run ``plan_day`` off the
    event loop with the configured time limit, store routes, stops and unplanned jobs (done), or fail it. Returns
    the plan's status, None when another worker has it or it is already finished (a redelivery)."""
    if not await _claim(session, plan_id, now):
        return None
    row = await session.get(PlanRow, plan_id, with_for_update=True, populate_existing=True)
    assert row is not None
    started = time.perf_counter()
    _, day_end = day_bounds(row.day)
    if day_end <= now:
        action, row.error = "fail", "the day is over"
    else:
        inp = await load_inputs(session, cfg, zone=row.zone, day=row.day, now=now)
        try:
            plan = await executor.plan_day(inp.jobs, inp.engineers, inp.travel, inp.epoch,
                                           r.PlanOptions(time_limit_s=row.time_limit_s),
                                           executor=cfg.planner_executor, centres=inp.centres)
        except Exception as exc:  # noqa: BLE001 - a plan that cannot be made is failed, not retried forever
            action, row.error = "fail", f"{type(exc).__name__}: {exc}"[:2000]
        else:
            action = "finish"
            await _store(session, row, inp, plan)
    row.status = lifecycle.move(row.status, action).to
    row.finished_at = now + timedelta(seconds=time.perf_counter() - started)
    await session.flush()
    return row.status


# --- publishing -----------------------------------------------------------------------------------

async def publish(session: AsyncSession, cfg: DispatchConfig, *, plan_id: str,
                  now: datetime) -> tuple[PlanRow, list[str], list[str], list[tuple[str, str]]]:
    """Assign every planned job to its planned engineer with the planned arrival (``dispatch.job.assigned``,
    ``assigned_by="plan"``), then ``dispatch.plan.published``. A job already started is never moved (kept when it
    is the planned engineer's, skipped otherwise); a job pinned to another engineer since planning, a closed job
    or an inactive engineer is skipped. Returns (plan, assigned, kept, skipped with reasons)."""
    row = await session.get(PlanRow, plan_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound(f"plan {plan_id} not found", field="plan_id")
    if not lifecycle.allowed(row.status, "publish"):
        raise Conflict(f"plan is {row.status}; only a done plan can be published", field="status",
                       code="plan_state", extra={"current_status": row.status})
    stops = (await session.scalars(sa.select(PlanStop).where(PlanStop.plan_id == plan_id)
                                   .order_by(PlanStop.engineer_id, PlanStop.position))).all()
    active = set((await session.scalars(sa.select(Engineer.id).where(
        Engineer.id.in_({s.engineer_id for s in stops}), Engineer.active.is_(True)))).all())
    assigned: list[str] = []
    kept: list[str] = []
    skipped: list[tuple[str, str]] = []
    routes: dict[str, list[ev.PlannedStop]] = {}
    short = await _take_restocks(session, plan_id, active, now)
    table = await stock.fault_class_table(session) if any(short.values()) else {}
    for s in stops:
        job = await job_queries.lock_job(session, s.job_id)
        missing = next((m for (eid, pos), m in sorted(short.items(), reverse=True)
                        if eid == s.engineer_id and pos < s.position), set())
        if job.status in TERMINAL:
            skipped.append((job.id, "closed"))
        elif missing & set(stock.expected_parts(job, table)[0]) and job.status not in STARTED:
            skipped.append((job.id, "parts_unavailable"))
        elif job.status in STARTED:
            if job.engineer_id == s.engineer_id:
                kept.append(job.id)
            else:
                skipped.append((job.id, "started_elsewhere"))
        elif job.pinned_engineer_id is not None and job.pinned_engineer_id != s.engineer_id:
            skipped.append((job.id, "pinned_elsewhere"))
        elif s.engineer_id not in active:
            skipped.append((job.id, "engineer_inactive"))
        else:
            await jobs.assign_planned(session, cfg, job, engineer_id=s.engineer_id,
                                      planned_arrival=s.planned_arrival, plan_id=row.id, now=now,
                                      eta_reason="plan" if row.version == 1 else "replan")
            assigned.append(job.id)
        if job.id in assigned or job.id in kept:
            routes.setdefault(s.engineer_id, []).append(ev.PlannedStop(
                job_id=job.id, ticket_id=job.ticket_id, position=s.position, planned_arrival=s.planned_arrival,
                planned_start=s.planned_start, planned_end=s.planned_end))
    unplanned = (await session.scalars(sa.select(PlanUnplanned.job_id).where(PlanUnplanned.plan_id == plan_id)
                                       .order_by(PlanUnplanned.job_id))).all()
    restocks: dict[str, list[ev.PlannedRestock]] = {}
    for x in await plan_restocks(session, plan_id):
        if x.engineer_id in routes:  # a route that still has jobs
            restocks.setdefault(x.engineer_id, []).append(ev.PlannedRestock(
                centre_id=x.centre_id, position=x.position, planned_arrival=x.planned_arrival,
                planned_start=x.planned_start, planned_end=x.planned_end,
                # what the publish moved to the van at this stop (a part the centre no longer had is left out)
                parts={p: q for p, q in x.parts.items() if p not in short.get((x.engineer_id, x.position), set())}
                if x.parts else None))
    for job_id in unplanned:  # never left with an engineer absent that day: back to the queue, re-inserted
        await jobs.take_back_from_absent(session, cfg, job_id, day=row.day, now=now)
    move = lifecycle.move(row.status, "publish")
    row.status, row.published_at = move.to, now
    await session.flush()
    payload = ev.PlanPublishedPayload(
        plan_id=row.id, zone=row.zone, date=row.day, version=row.version, at=now,
        routes=[ev.PlannedRoute(engineer_id=e, stops=ss, restocks=restocks.get(e, [])) for e, ss in routes.items()],
        unplanned_job_ids=list(unplanned), skipped_job_ids=[j for j, _ in skipped])
    await add_events(session, *(cls(aggregate_id=row.id, payload=payload) for cls in move.events), key=row.zone)
    return row, assigned, kept, skipped


async def _take_restocks(session: AsyncSession, plan_id: str, active: set[str],
                         now: datetime) -> dict[tuple[str, int], set[str]]:
    """Publishing commits the plan's restock stops: each one's parts move from its centre to the van now
    (``stock.take_restock``, race-safe). Returns, per (engineer, position of the stop), the parts the centre no
    longer had (empty: all moved): the jobs after that stop, up to the next, that need them are skipped
    (``parts_unavailable``)."""
    short: dict[tuple[str, int], set[str]] = {}
    for x in await plan_restocks(session, plan_id):
        if x.engineer_id not in active:
            continue
        got = await stock.take_restock(session, ref=f"plan:{plan_id}:{x.engineer_id}:{x.position}",
                                       centre_id=x.centre_id, engineer_id=x.engineer_id, parts=x.parts, now=now,
                                       plan_id=plan_id)
        short[x.engineer_id, x.position] = {p for p in x.parts if p not in got}
    return short


# --- nightly planning, re-planning on disruption, publishing them ------------------------------------

NIGHTLY, REPLAN = "nightly", "replan"
"""``requested_by`` of the plans the service requests itself (published when done if ``auto_publish``)."""
WAITING_ZONE_CLASSES = ("urban", "county", "remote")
"""Zone classes whose arrive deadline is 24 h or more (R-S3, R-S4): their open jobs can wait for tomorrow."""


async def plan_tomorrow(session: AsyncSession, cfg: DispatchConfig, now: datetime) -> int:
    """From ``cfg.nightly_plan_at`` (Asia/Shanghai) on, once per day: a plan for tomorrow of every zone with open
    (queued, offered, accepted) 24 h / 48 h jobs, through :func:`request_plan` (one active plan per zone-day).
    The ``nightly_runs`` row of the day is inserted by whichever runner (replica, restart) gets there first;
    the others do nothing. Returns the number of plans requested."""
    local = now.astimezone(BUSINESS_TZ)
    if local.time() < cfg.nightly_plan_at:
        return 0
    day = local.date() + timedelta(days=1)
    won = (await session.execute(insert(NightlyRun).values(day=day, started_at=now, plan_ids=[])
                                 .on_conflict_do_nothing().returning(NightlyRun.day))).scalar() is not None
    if not won:
        return 0
    zones = (await session.scalars(sa.select(Job.region_code).where(
        Job.status.in_((QUEUED, OFFERED, ACCEPTED)), Job.zone_class.in_(WAITING_ZONE_CLASSES))
        .distinct().order_by(Job.region_code))).all()
    ids = []
    for zone in zones:
        row, _ = await request_plan(session, cfg, zone=zone, day=day, requested_by=NIGHTLY, now=now,
                                    today=local.date())
        ids.append(row.id)
    await session.execute(sa.update(NightlyRun).where(NightlyRun.day == day).values(plan_ids=ids))
    return len(ids)


async def request_due_replans(session: AsyncSession, cfg: DispatchConfig, now: datetime) -> int:
    """Zone-days whose re-plan mark is due: a new plan version each (``requested_by="replan"``); the marks go.
    Rows taken ``FOR UPDATE SKIP LOCKED``: two runners never request one mark twice."""
    marks = (await session.scalars(sa.select(ReplanMark).where(ReplanMark.due_at <= now).order_by(
        ReplanMark.due_at).limit(50).with_for_update(skip_locked=True))).all()
    today = business_date(now)
    n = 0
    for m in marks:
        if m.day >= today and day_bounds(m.day)[1] > now:
            await request_plan(session, cfg, zone=m.zone, day=m.day, requested_by=REPLAN, now=now, today=today)
            n += 1
        await session.delete(m)
    await session.flush()
    return n


async def publish_automatic(session: AsyncSession, cfg: DispatchConfig, now: datetime) -> int:
    """With ``auto_publish``: the nightly and re-plan plans that are done are published (oldest first); one whose
    day is over, or older than a published version of its zone-day, is left unpublished."""
    if not cfg.auto_publish:
        return 0
    newer = aliased(PlanRow)
    rows = (await session.scalars(sa.select(PlanRow).where(
        PlanRow.status == lifecycle.DONE, PlanRow.requested_by.in_((NIGHTLY, REPLAN)),
        PlanRow.day >= business_date(now),
        ~sa.exists().where(newer.zone == PlanRow.zone, newer.day == PlanRow.day, newer.status == lifecycle.PUBLISHED,
                           newer.version > PlanRow.version))
        .order_by(PlanRow.created_at).limit(10).with_for_update(skip_locked=True))).all()
    for row in rows:
        await publish(session, cfg, plan_id=row.id, now=now)
    return len(rows)


# --- reads ----------------------------------------------------------------------------------------

async def get_plan(session: AsyncSession, plan_id: str) -> tuple[PlanRow, Sequence[PlanRoute], Sequence[PlanStop],
                                                                  Sequence[PlanUnplanned]]:
    row = await session.get(PlanRow, plan_id)
    if row is None:
        raise NotFound(f"plan {plan_id} not found", field="plan_id")
    routes = (await session.scalars(sa.select(PlanRoute).where(PlanRoute.plan_id == plan_id)
                                    .order_by(PlanRoute.engineer_id))).all()
    stops = (await session.scalars(sa.select(PlanStop).where(PlanStop.plan_id == plan_id)
                                   .order_by(PlanStop.engineer_id, PlanStop.position))).all()
    unplanned = (await session.scalars(sa.select(PlanUnplanned).where(PlanUnplanned.plan_id == plan_id)
                                       .order_by(PlanUnplanned.job_id))).all()
    return row, routes, stops, unplanned


async def plan_restocks(session: AsyncSession, plan_id: str) -> Sequence[PlanRestock]:
    """The plan's stops at service centres to restock, by engineer and position in the route."""
    return (await session.scalars(sa.select(PlanRestock).where(PlanRestock.plan_id == plan_id)
                                  .order_by(PlanRestock.engineer_id, PlanRestock.position))).all()


def stored_restocks(rows: Sequence[PlanRestock]) -> list[StoredRestock]:
    return [StoredRestock(x.centre_id, x.engineer_id, x.position, x.planned_arrival, x.planned_start,
                          x.planned_end, dict(x.parts or {})) for x in rows]


def stored(routes: Sequence[PlanRoute], stops: Sequence[PlanStop]) -> tuple[list[StoredRoute], list[StoredStop]]:
    """A plan's tables as the ``inputs.stored_plan`` rebuild takes them."""
    return ([StoredRoute(x.engineer_id, x.depart_at, x.return_at) for x in routes],
            [StoredStop(x.job_id, x.engineer_id, x.position, x.planned_arrival, x.planned_start, x.planned_end,
                        x.window_start, x.window_end, x.started) for x in stops])


@dataclass(frozen=True)
class LiveStop:
    """A stop of the engineer's day that live insertion made (no plan): a job it holds, or the restock stop at a
    service centre before such a job (``jobs.restock_*``)."""

    position: int
    planned_arrival: datetime
    planned_start: datetime
    planned_end: datetime
    window_end: datetime | None = None
    plan_id: str | None = None


RouteEntry = tuple[PlanStop | LiveStop, Job] | tuple[PlanRestock | LiveStop, ServiceCentre]


async def engineer_route(session: AsyncSession, cfg: DispatchConfig, *, engineer_id: str,
                         day: date) -> list[RouteEntry]:
    """The engineer's stops of the day in the latest published plan of each zone, in planned order: the jobs the
    engineer still holds (one reassigned since has left the route) and the plan's restock stops at service
    centres (``plan_restocks``), each with its centre; then what live insertion put on the day since (jobs held
    with a planned arrival that day, and the restock stop a live insertion put before a job)."""
    newer = aliased(PlanRow)
    latest = sa.select(PlanRow.id).where(PlanRow.day == day, PlanRow.status == lifecycle.PUBLISHED, ~sa.exists().where(
        newer.zone == PlanRow.zone, newer.day == day, newer.status == lifecycle.PUBLISHED,
        newer.version > PlanRow.version))
    jobs = (await session.execute(sa.select(PlanStop, Job).join(Job, Job.id == PlanStop.job_id).where(
        PlanStop.plan_id.in_(latest), PlanStop.engineer_id == engineer_id, Job.engineer_id == engineer_id))).all()
    restocks = (await session.execute(sa.select(PlanRestock, ServiceCentre).join(
        ServiceCentre, ServiceCentre.id == PlanRestock.centre_id).where(
        PlanRestock.plan_id.in_(latest), PlanRestock.engineer_id == engineer_id))).all()
    out: list[RouteEntry] = [(s, j) for s, j in jobs]
    out += [(x, c) for x, c in restocks]
    out += await _live_stops(session, cfg, engineer_id, day, {j.id for _, j in jobs})
    # a restock stop before a job at the same planned start (zero-length restock is impossible) keeps its position
    out.sort(key=lambda t: (t[0].planned_start, t[0].position))
    return out


async def _live_stops(session: AsyncSession, cfg: DispatchConfig, engineer_id: str, day: date,
                      planned: set[str]) -> list[RouteEntry]:
    start, end = day_bounds(day)
    held = (await session.scalars(sa.select(Job).where(
        Job.engineer_id == engineer_id, Job.status.in_(ROUTE_HELD), sa.or_(
            Job.planned_arrival.between(start, end), Job.restock_arrival.between(start, end)))
        .order_by(Job.planned_arrival))).all()
    if not held:
        return []
    minutes = await _durations(session)
    centres = {c.id: c for c in (await session.scalars(sa.select(ServiceCentre).where(
        ServiceCentre.id.in_({j.restock_centre_id for j in held} - {None})))).all()}
    out: list[RouteEntry] = []
    for j in held:
        if j.restock_centre_id in centres and j.restock_arrival is not None and start <= j.restock_arrival < end:
            out.append((LiveStop(-1, j.restock_arrival, j.restock_arrival,
                                 j.restock_arrival + timedelta(minutes=RESTOCK_MINUTES)), centres[j.restock_centre_id]))
        if j.id not in planned and j.planned_arrival is not None and start <= j.planned_arrival < end:
            begin = max(j.planned_arrival, j.earliest_start or j.planned_arrival)
            out.append((LiveStop(0, j.planned_arrival, begin, begin + timedelta(
                minutes=service_minutes(j, minutes, cfg.default_service_minutes)), j.booked_end or j.arrive_due), j))
    return out
