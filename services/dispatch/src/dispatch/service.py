"""Dispatch use cases: jobs from tickets, assignment and offers, engineer actions, SLA scanning.

Every function runs inside the caller's unit of work (it flushes, never commits). Invariants that must
hold under concurrency live in the database: a conditional capacity UPDATE plus a CHECK constraint, one
pending offer per job (partial unique index), and the job row locked FOR UPDATE before any change.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Conflict, DomainError, NotFound, Unprocessable
from aftersales_shared.events import dispatch as ev
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from . import metrics
from .domain.assignment import EngineerState, HaversineEstimator, JobNeed, Shift, TravelTimeEstimator, rank
from .domain.calendar import BusinessCalendar
from .domain.sla import (
    MILESTONES, PAUSE_REASONS, JobClocks, Pause, SlaPolicy, compute_deadlines, due_alerts, milestones_met, select_policy,
)
from .models import CoreProvince, Engineer, Job, JobAction, Offer, ServiceRecord, SlaCalendar, SlaPolicyRow, Zone

OPEN_STATUSES = ("queued", "offered", "accepted", "en_route", "on_site", "paused")
CHANNELS = ("phone", "web", "email", "sms")  # bounded metric labels
TERMINAL = ("completed", "remote_resolved", "cancelled")
HOLDING = ("offered", "accepted", "en_route", "on_site", "paused")


@dataclass(frozen=True)
class DispatchConfig:
    offer_ttl: timedelta = timedelta(minutes=10)
    device_skew: timedelta = timedelta(minutes=5)
    route_within: timedelta = timedelta(hours=2)
    route_check: timedelta = timedelta(hours=4)
    estimator: TravelTimeEstimator = HaversineEstimator()

    @classmethod
    def from_settings(cls, s: Any) -> DispatchConfig:
        return cls(
            offer_ttl=timedelta(seconds=s.offer_ttl_seconds), device_skew=timedelta(seconds=s.device_skew_seconds),
            route_within=timedelta(minutes=s.route_within_minutes),
            route_check=timedelta(minutes=s.route_check_minutes),
            estimator=HaversineEstimator(road_factor=s.road_factor, speeds_kmh=dict(s.speeds_kmh)),
        )


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- conversions between rows and the pure domain ------------------------------------------------

def calendar_of(row: SlaCalendar) -> BusinessCalendar:
    return BusinessCalendar(
        code=row.code, tz=row.tz, always_open=row.always_open,
        intervals=tuple((int(a), int(b)) for a, b in row.intervals) or ((480, 1020),),
        use_statutory=row.use_statutory, weekdays=frozenset(int(d) for d in row.weekdays),
        overrides={date.fromisoformat(k): bool(v) for k, v in (row.overrides or {}).items()},
    )


def policy_of(row: SlaPolicyRow) -> SlaPolicy:
    return SlaPolicy(
        contract_code=row.contract_code or None, zone_class=row.zone_class, calendar_code=row.calendar_code,
        respond=timedelta(minutes=row.respond_minutes), arrive=timedelta(minutes=row.arrive_minutes),
        resolve=timedelta(minutes=row.resolve_minutes), resolve_from=row.resolve_from,  # type: ignore[arg-type]
        warn_fractions=tuple(float(f) for f in row.warn_fractions),
    )


def engineer_state(e: Engineer) -> EngineerState:
    loc = (e.last_lat, e.last_lon) if e.last_lat is not None and e.last_lon is not None else (e.home_lat, e.home_lon)
    return EngineerState(
        engineer_id=e.id, skills={k: int(v) for k, v in e.skills.items()}, zones=frozenset(e.zones),
        location=loc, active_jobs=e.active_jobs, max_jobs=e.max_jobs,
        shifts=tuple(Shift(int(s["weekday"]), int(s["start_min"]), int(s["end_min"])) for s in e.shifts),
        absences=tuple((date.fromisoformat(a["from"]), date.fromisoformat(a["to"])) for a in e.absences),
        dealer_id=e.dealer_id,
    )


def _iso(d: datetime | None) -> str | None:
    return d.astimezone(timezone.utc).isoformat() if d else None


def _dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def job_clocks(job: Job) -> JobClocks:
    return JobClocks(
        opened_at=job.opened_at, responded_at=job.responded_at, arrived_at=job.arrived_at,
        resolved_at=job.resolved_at,
        pauses=tuple(Pause(_dt(p["start"]), _dt(p.get("end")), p["reason"]) for p in job.pauses),  # type: ignore[arg-type]
    )


async def policy_and_calendar(session: AsyncSession, job: Job) -> tuple[SlaPolicyRow, BusinessCalendar]:
    rows = (await session.scalars(select(SlaPolicyRow).where(
        SlaPolicyRow.zone_class == job.zone_class,
        SlaPolicyRow.contract_code.in_(["", job.contract_code or ""])))).all()
    if not rows:
        raise Unprocessable(f"no SLA policy for zone class {job.zone_class}", field="zone_class",
                            code="no_sla_policy")
    chosen = select_policy([policy_of(r) for r in rows], job.contract_code, job.zone_class)
    row = next(r for r in rows if (r.contract_code or None) == chosen.contract_code)
    cal = await session.get(SlaCalendar, row.calendar_code)
    assert cal is not None
    return row, calendar_of(cal)


def refresh_deadlines(job: Job, prow: SlaPolicyRow, cal: BusinessCalendar, now: datetime) -> None:
    """Deadlines under the current policy and calendar (also after a policy/calendar change)."""
    d = compute_deadlines(policy_of(prow), cal, job_clocks(job), now)
    job.respond_due, job.arrive_due, job.resolve_due = d["respond"], d["arrive"], d["resolve"]
    job.policy_id, job.calendar_code = prow.id, cal.code


async def zone_class_of(session: AsyncSession, region_code: str) -> tuple[str, tuple[float, float] | None]:
    """A region's zone class: the zones table, else urban in a core province (R-S3), else county (R-S4)."""
    z = await session.get(Zone, region_code)
    if z is not None:
        return z.zone_class, (z.lat, z.lon) if z.lat is not None and z.lon is not None else None
    core = await session.get(CoreProvince, region_code[:2])
    return ("urban" if core else "county"), None


def _payload(job: Job, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"job_id": job.id, "ticket_id": job.ticket_id, "at": at, "engineer_id": job.engineer_id,
            "dealer_id": job.engineer_dealer_id, "visit": job.visit, **extra}


# --- jobs from tickets ---------------------------------------------------------------------------

def latest_job_of(ticket_id: str) -> Any:
    """The query for a ticket's current job: the one of its latest visit (earlier visits are finished)."""
    return select(Job).where(Job.ticket_id == ticket_id).order_by(Job.visit.desc()).limit(1)


async def open_job(session: AsyncSession, cfg: DispatchConfig, p: Any, now: datetime, *, visit: int = 1,
                   opened_at: datetime | None = None) -> Job | None:
    """Create the job of one visit of a ticket (idempotent on ticket id and visit), with deadlines, and try to assign.

    Visit 1 comes from TicketOpened; a reopened ticket (TicketReopened) is the next visit, its SLA clock
    starting at ``opened_at`` (the reopen).
    """
    existing = await session.scalar(select(Job).where(Job.ticket_id == p.ticket_id, Job.visit == visit))
    if existing is not None:
        return existing
    zone_class, centroid = await zone_class_of(session, p.region_code)
    lat, lon = (p.lat, p.lon) if p.lat is not None and p.lon is not None else (centroid or (None, None))
    job = Job(
        id=str(new_id()), ticket_id=p.ticket_id, ticket_no=p.ticket_no, serial=p.serial,
        product_line=p.product_line, required_skill=p.required_skill, ticket_dealer_id=p.dealer_id,
        contract_code=p.contract_code, coverage=p.coverage, customer_name=p.customer_name, phone=p.phone,
        address=p.address, region_code=p.region_code, zone_class=zone_class, lat=lat, lon=lon,
        fault_description=p.fault_description, opened_at=opened_at or p.opened_at, visit=visit, created_at=now,
        status="queued",
        pauses=[], warnings_sent=[], sla_met={}, updated_at=now, holds_capacity=False,
    )
    prow, cal = await policy_and_calendar(session, job)
    refresh_deadlines(job, prow, cal, now)
    session.add(job)
    metrics.JOBS_CREATED.labels(p.channel if p.channel in CHANNELS else "other", zone_class).inc()
    await session.flush()
    await add_events(session, ev.JobCreated(aggregate_id=job.id, payload=_payload(
        job, now, zone_class=zone_class, contract_code=job.contract_code,
        deadlines={k: v for k, v in (("respond", job.respond_due), ("arrive", job.arrive_due),
                                     ("resolve", job.resolve_due)) if v})))
    await try_assign(session, cfg, job, now, fresh=True)
    return job


async def candidates_for(session: AsyncSession, cfg: DispatchConfig, job: Job, now: datetime,
                         exclude: Sequence[str] = ()) -> list[Any]:
    """Ranked feasible engineers for a job (the assignment decision)."""
    started = time.perf_counter()
    # plain column rows, not ORM entities: this is the hot path of every assignment decision
    rows = (await session.execute(select(
        Engineer.id, Engineer.skills, Engineer.zones, Engineer.home_lat, Engineer.home_lon, Engineer.last_lat,
        Engineer.last_lon, Engineer.active_jobs, Engineer.max_jobs, Engineer.shifts, Engineer.absences,
        Engineer.dealer_id).where(
        Engineer.active.is_(True), Engineer.active_jobs < Engineer.max_jobs,
        Engineer.skills.has_key(job.required_skill), Engineer.zones.contains([job.region_code])))).all()
    need = JobNeed(job_id=job.id, skill=job.required_skill, region_code=job.region_code,
                   zone_class=job.zone_class, location=(job.lat, job.lon) if job.lat is not None else (0.0, 0.0),
                   arrive_by=job.arrive_due or now)
    states = [engineer_state(r) for r in rows]  # type: ignore[arg-type]
    if job.lat is None:  # no coordinates: travel cannot be estimated, rank on load alone
        states = [EngineerState(**{**s.__dict__, "location": (0.0, 0.0)}) for s in states]
    ranked = rank(need, states, cfg.estimator, now, exclude=exclude)
    metrics.ASSIGN_DECISION.observe(time.perf_counter() - started)
    return ranked


async def _reserve(session: AsyncSession, engineer_id: str) -> Any:
    """Take one unit of an engineer's capacity, only if free (conditional UPDATE, row-locked).

    Returns the engineer's (id, dealer_id) or None when a concurrent decision took the last slot.
    """
    got = await session.execute(
        update(Engineer).where(Engineer.id == engineer_id, Engineer.active_jobs < Engineer.max_jobs,
                               Engineer.active.is_(True))
        .values(active_jobs=Engineer.active_jobs + 1).returning(Engineer.id, Engineer.dealer_id)
        .execution_options(synchronize_session=False))
    return got.first()


async def _release(session: AsyncSession, job: Job) -> None:
    if job.holds_capacity and job.engineer_id:
        await session.execute(update(Engineer).where(Engineer.id == job.engineer_id)
                              .values(active_jobs=Engineer.active_jobs - 1))
        job.holds_capacity = False


async def _excluded(session: AsyncSession, job_id: str) -> list[str]:
    return list((await session.scalars(select(Offer.engineer_id).where(
        Offer.job_id == job_id, Offer.status.in_(["declined", "expired"])))).all())


async def try_assign(session: AsyncSession, cfg: DispatchConfig, job: Job, now: datetime, *,
                     fresh: bool = False) -> bool:
    """Offer a queued job to the best feasible engineer; False leaves it queued (ordered by deadline).

    ``fresh``: the job was created in this transaction, so nobody can have declined it yet.
    """
    if job.status != "queued":
        return False
    excluded = [] if fresh else await _excluded(session, job.id)
    for cand in await candidates_for(session, cfg, job, now, exclude=excluded):
        eng = await _reserve(session, cand.engineer_id)
        if eng is None:
            continue  # taken by a concurrent decision: next candidate
        job.status, job.engineer_id, job.engineer_dealer_id, job.holds_capacity = "offered", eng.id, eng.dealer_id, True
        job.updated_at = now
        session.add(Offer(id=str(new_id()), job_id=job.id, engineer_id=eng.id, status="pending",
                          offered_at=now, expires_at=now + cfg.offer_ttl))
        await session.flush()
        await add_events(session, ev.JobOffered(aggregate_id=job.id, payload=_payload(job, now)),
                         ev.JobAssigned(aggregate_id=job.id, payload=_payload(job, now, assigned_by="auto")))
        return True
    return False


async def lock_job(session: AsyncSession, job_id: str) -> Job:
    job = await session.scalar(select(Job).where(Job.id == job_id).with_for_update().execution_options(
        populate_existing=True))
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    return job


async def _close_offer(session: AsyncSession, job: Job, status: str, now: datetime, reason: str | None = None) -> None:
    await session.execute(update(Offer).where(Offer.job_id == job.id, Offer.status == "pending")
                          .values(status=status, decided_at=now, reason=reason))


async def manual_assign(session: AsyncSession, cfg: DispatchConfig, job_id: str, engineer_id: str,
                        now: datetime) -> Job:
    """A dispatcher assigns directly (counts as the dispatch decision, R-S1)."""
    job = await lock_job(session, job_id)
    if job.status not in ("queued", "offered", "accepted"):
        raise Conflict(f"job is {job.status}; it can no longer be reassigned", field="status", code="job_state")
    if job.engineer_id == engineer_id and job.status == "accepted":
        return job
    if await session.get(Engineer, engineer_id) is None:
        raise NotFound(f"engineer {engineer_id} not found", field="engineer_id")
    await _close_offer(session, job, "withdrawn", now, "reassigned by dispatcher")
    await session.execute(update(Offer).where(Offer.job_id == job.id, Offer.status == "accepted")
                          .values(status="withdrawn", reason="reassigned by dispatcher"))
    await _release(session, job)
    eng = await _reserve(session, engineer_id)
    if eng is None:
        raise Conflict("engineer is at capacity or inactive", field="engineer_id", code="engineer_at_capacity")
    job.engineer_id, job.engineer_dealer_id, job.holds_capacity = eng.id, eng.dealer_id, True
    job.status, job.updated_at = "accepted", now
    job.responded_at = job.responded_at or now
    await _met(session, job, "respond", now)
    await session.flush()
    await add_events(session, ev.JobAssigned(aggregate_id=job.id, payload=_payload(job, now, assigned_by="manual")))
    return job


async def reopen_job(session: AsyncSession, cfg: DispatchConfig, p: Any, now: datetime) -> Job | None:
    """A reopened ticket gets a new job for its visit; a job of an earlier visit still open is superseded."""
    stale = (await session.scalars(select(Job).where(
        Job.ticket_id == p.ticket_id, Job.visit < p.visit, Job.status.not_in(TERMINAL)).with_for_update())).all()
    for job in stale:
        await _cancel(session, job, f"superseded by visit {p.visit}", now, offer_reason="ticket reopened")
    return await open_job(session, cfg, p, now, visit=p.visit, opened_at=p.reopened_at)


async def cancel_job(session: AsyncSession, ticket_id: str, reason: str, now: datetime) -> None:
    """The ticket was cancelled: its current job (latest visit) is withdrawn."""
    job = await session.scalar(latest_job_of(ticket_id).with_for_update())
    if job is None or job.status in TERMINAL:
        return
    await _cancel(session, job, reason, now)


async def _cancel(session: AsyncSession, job: Job, reason: str, now: datetime, *,
                  offer_reason: str = "ticket cancelled") -> None:
    await _close_offer(session, job, "withdrawn", now, offer_reason)
    await _release(session, job)
    job.status, job.updated_at, job.paused_reason = "cancelled", now, None
    _end_open_pause(job, now)
    await session.flush()
    await add_events(session, ev.JobCancelled(aggregate_id=job.id, payload=_payload(job, now, reason=reason)))


async def parts_delivered(session: AsyncSession, job_id: str | None, ticket_id: str | None, now: datetime) -> None:
    """Parts arrived: a job waiting for parts resumes its clock."""
    q = select(Job).where(Job.id == job_id) if job_id else latest_job_of(ticket_id or "")
    job = await session.scalar(q.with_for_update())
    if job is None or job.status != "paused" or job.paused_reason != "waiting_parts":
        return
    _resume(job, now)
    prow, cal = await policy_and_calendar(session, job)
    refresh_deadlines(job, prow, cal, now)  # as the engineer's resume does: the pause moves the deadlines
    await session.flush()
    await add_events(session, ev.JobResumed(aggregate_id=job.id, payload=_payload(job, now, reason="parts_delivered")))


def _end_open_pause(job: Job, at: datetime) -> str | None:
    pauses = [dict(p) for p in job.pauses]
    for p in pauses:
        if p.get("end") is None:
            p["end"] = _iso(max(at, _dt(p["start"])))  # type: ignore[type-var]
            job.pauses = pauses
            return p.get("resume_status")
    return None


def _resume(job: Job, at: datetime) -> None:
    back = _end_open_pause(job, at)
    job.status, job.paused_reason, job.updated_at = back or "on_site", None, at


async def _met(session: AsyncSession, job: Job, milestone: str, at: datetime) -> None:
    """Record whether a milestone was met (paused time excluded) and count it."""
    prow, cal = await policy_and_calendar(session, job)
    met = milestones_met(policy_of(prow), cal, job_clocks(job), at)
    if milestone in met:
        job.sla_met = {**job.sla_met, milestone: met[milestone]}
        metrics.SLA_MILESTONES.labels(milestone, job.zone_class, job.contract_code or "default",
                                      "met" if met[milestone] else "missed").inc()
    refresh_deadlines(job, prow, cal, at)


# --- engineer actions (idempotent, offline-tolerant) -----------------------------------------------

ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "accept": ("offered",), "decline": ("offered",), "depart": ("accepted",),
    "arrive": ("accepted", "en_route"), "pause": ("accepted", "en_route", "on_site"), "resume": ("paused",),
    "remote_resolve": ("accepted", "en_route", "on_site"), "lend_spare": ("on_site", "paused"),
    "collect_spare": ("on_site", "accepted", "en_route"), "complete": ("on_site",),
}


async def perform_action(session: AsyncSession, cfg: DispatchConfig, job_id: str, engineer_id: str,
                         body: Any, now: datetime) -> tuple[dict[str, Any], bool]:
    """Apply one app action; a repeated client_action_id returns the first result (replayed=True)."""
    job = await lock_job(session, job_id)
    if job.engineer_id != engineer_id:
        raise NotFound(f"job {job_id} not found", field="job_id")  # other engineers' jobs are invisible
    prior = await session.scalar(select(JobAction).where(JobAction.client_action_id == body.client_action_id))
    if prior is not None:
        if prior.job_id != job_id or prior.action != body.action:
            raise Conflict("client_action_id already used for another action", field="client_action_id",
                           code="client_action_id_reused")
        return prior.result, True
    at = body.device_time.astimezone(timezone.utc)
    if at > now + cfg.device_skew:
        raise Unprocessable("device_time is in the future", field="device_time", code="device_time_future")
    if at < job.created_at - cfg.device_skew and at < job.opened_at:
        raise Unprocessable("device_time is before the job existed", field="device_time",
                            code="device_time_before_job")
    if job.last_device_time and at < job.last_device_time:
        raise Conflict("device_time is earlier than an action already applied", field="device_time",
                       code="device_time_out_of_order")
    if job.status not in ALLOWED_FROM[body.action]:
        raise Conflict(f"cannot {body.action} a job that is {job.status}", field="action", code="job_state")
    events = await _apply(session, cfg, job, body, at, now)
    job.last_device_time, job.updated_at = at, now
    result = {"job_id": job.id, "action": body.action, "status": job.status, "at": _iso(at),
              "engineer_id": job.engineer_id}
    session.add(JobAction(id=str(new_id()), client_action_id=body.client_action_id, job_id=job.id,
                          engineer_id=engineer_id, action=body.action, device_time=at, received_at=now,
                          request=body.model_dump(mode="json"), result=result))
    await session.flush()
    await add_events(session, *events)
    return result, False


async def _apply(session: AsyncSession, cfg: DispatchConfig, job: Job, body: Any, at: datetime,
                 now: datetime) -> list[Any]:
    a = body.action
    pl = lambda **kw: _payload(job, at, **kw)  # noqa: E731
    if a == "accept":
        res = await session.execute(update(Offer).where(
            Offer.job_id == job.id, Offer.engineer_id == job.engineer_id, Offer.status == "pending")
            .values(status="accepted", decided_at=at))
        if res.rowcount != 1:
            raise Conflict("the offer is no longer open", field="action", code="offer_closed")
        job.status = "accepted"
        job.responded_at = job.responded_at or at
        await _met(session, job, "respond", at)
        return [ev.JobAccepted(aggregate_id=job.id, payload=pl())]
    if a == "decline":
        await _close_offer(session, job, "declined", at, body.reason)
        out = [ev.JobDeclined(aggregate_id=job.id, payload=pl(reason=body.reason))]
        await _release(session, job)
        job.status, job.engineer_id, job.engineer_dealer_id = "queued", None, None
        await session.flush()
        await try_assign(session, cfg, job, now)
        return out
    if a == "depart":
        job.status = "en_route"
        return [ev.JobEnRoute(aggregate_id=job.id, payload=pl())]
    if a == "arrive":
        job.status, job.arrived_at = "on_site", at
        await _met(session, job, "arrive", at)
        await session.execute(update(Engineer).where(Engineer.id == job.engineer_id)
                              .values(last_lat=body.lat, last_lon=body.lon, last_seen_at=at))
        metrics.TIME_TO_ARRIVE.labels(job.zone_class).observe((at - job.opened_at).total_seconds())
        return [ev.JobArrived(aggregate_id=job.id, payload=pl(lat=body.lat, lon=body.lon))]
    if a == "pause":
        job.pauses = [*job.pauses, {"start": _iso(at), "end": None, "reason": body.reason,
                                    "resume_status": job.status}]
        job.status, job.paused_reason = "paused", body.reason
        return [ev.JobPaused(aggregate_id=job.id, payload=pl(reason=body.reason))]
    if a == "resume":
        _resume(job, at)
        prow, cal = await policy_and_calendar(session, job)
        refresh_deadlines(job, prow, cal, at)
        return [ev.JobResumed(aggregate_id=job.id, payload=pl(reason=body.reason))]
    if a == "lend_spare":
        if job.spare_lent_at and not job.spare_collected_at:
            raise Conflict("a spare unit is already lent", field="spare_serial", code="spare_already_lent")
        job.spare_serial, job.spare_lent_at, job.spare_collected_at = body.spare_serial, at, None
        return [ev.SpareUnitLent(aggregate_id=job.id, payload=pl(reason=body.spare_serial))]
    if a == "collect_spare":
        if not job.spare_lent_at or job.spare_collected_at:
            raise Conflict("no spare unit is out", field="action", code="no_spare_lent")
        job.spare_collected_at = at
        return [ev.SpareUnitCollected(aggregate_id=job.id, payload=pl(reason=job.spare_serial))]
    # remote_resolve / complete: the job ends and the engineer's capacity is freed
    remote = a == "remote_resolve"
    if job.status == "paused":
        _end_open_pause(job, at)
    job.resolved_at = at
    if remote:
        job.responded_at = job.responded_at or at
    await _met(session, job, "resolve", at)
    rec = body.record
    session.add(ServiceRecord(
        job_id=job.id, engineer_id=job.engineer_id, work_done=rec.work_done, root_cause=rec.root_cause,
        parts_used=[p.model_dump(mode="json") for p in rec.parts_used], labour_minutes=rec.labour_minutes,
        customer_name=rec.customer_name, signature_ref=rec.signature_ref, photos=list(rec.photos),
        remote=remote, completed_at=at))
    await _release(session, job)
    job.status = "remote_resolved" if remote else "completed"
    metrics.TIME_TO_RESOLVE.labels(job.zone_class).observe((at - job.opened_at).total_seconds())
    metrics.FIRST_TIME_FIX.labels(str(not any(p["reason"] == "waiting_parts" for p in job.pauses)).lower()).inc()
    completed = ev.JobCompleted(aggregate_id=job.id, payload=pl(
        serial=job.serial, product_line=job.product_line, coverage=job.coverage, home_visit=not remote,
        remote=remote, work_done=rec.work_done, root_cause=rec.root_cause,
        parts_used=[p.model_dump() for p in rec.parts_used], labour_minutes=rec.labour_minutes,
        arrived_at=job.arrived_at, sla_met=dict(job.sla_met), zone_class=job.zone_class,
        contract_code=job.contract_code))
    if remote:
        return [ev.JobRemoteResolved(aggregate_id=job.id, payload=pl(reason="remote")), completed]
    return [completed]


# --- background work ---------------------------------------------------------------------------

async def expire_offers(session: AsyncSession, cfg: DispatchConfig, now: datetime, limit: int = 200) -> int:
    """Offers nobody answered in time go to the next candidate."""
    job_ids = (await session.scalars(select(Offer.job_id).where(
        Offer.status == "pending", Offer.expires_at <= now).limit(limit))).all()
    n = 0
    for jid in job_ids:
        job = await session.scalar(select(Job).where(Job.id == jid, Job.status == "offered")
                                   .with_for_update(skip_locked=True))
        if job is None:
            continue
        await _close_offer(session, job, "expired", now)
        await _release(session, job)
        job.status, job.engineer_id, job.engineer_dealer_id = "queued", None, None
        await session.flush()
        await try_assign(session, cfg, job, now)
        n += 1
    return n


async def retry_queue(session: AsyncSession, cfg: DispatchConfig, now: datetime, limit: int = 200) -> int:
    """Queued jobs, earliest arrive deadline first, get another assignment attempt."""
    # still-savable jobs first (earliest deadline), already-late ones after: plain earliest-deadline-first
    # collapses under overload because every engineer goes to jobs that are lost anyway
    jobs = (await session.scalars(select(Job).where(Job.status == "queued")
                                  .order_by(Job.arrive_due < now, Job.arrive_due)
                                  .limit(limit).with_for_update(skip_locked=True))).all()
    n = 0
    for job in jobs:
        n += await try_assign(session, cfg, job, now)
    waiting, oldest = (await session.execute(text(
        "SELECT count(*), coalesce(extract(epoch FROM :now - min(opened_at)), 0) FROM jobs WHERE status = 'queued'"),
        {"now": now})).one()
    metrics.JOBS_WAITING.set(waiting or 0)
    metrics.OLDEST_WAITING_AGE.set(float(oldest or 0))
    return n


async def check_routing(session: AsyncSession, cfg: DispatchConfig, now: datetime) -> int:
    """R-S8: unrouted after 2 h is flagged for a check; still unrouted at 4 h escalates (flag + breach)."""
    await session.execute(update(Job).where(Job.status == "queued", Job.routing_checked.is_(False),
                                            Job.opened_at <= now - cfg.route_within).values(routing_checked=True))
    jobs = (await session.scalars(select(Job).where(
        Job.status == "queued", Job.routing_escalated.is_(False), Job.opened_at <= now - cfg.route_check)
        .with_for_update(skip_locked=True).limit(200))).all()
    for job in jobs:
        job.routing_escalated = True
        metrics.ROUTING_ESCALATIONS.inc()
        await add_events(session, ev.SlaBreached(aggregate_id=job.id, payload=_payload(
            job, now, milestone="respond", deadline=job.opened_at + cfg.route_check, zone_class=job.zone_class,
            contract_code=job.contract_code)))
    await session.flush()
    return len(jobs)


async def scan_sla(session: AsyncSession, now: datetime, limit: int = 500) -> int:
    """Warnings at configured fractions and breaches, each once per milestone."""
    jobs = (await session.scalars(select(Job).where(Job.status.in_(OPEN_STATUSES))
                                  .order_by(Job.updated_at).limit(limit).with_for_update(skip_locked=True))).all()
    cache: dict[str, tuple[SlaPolicyRow, BusinessCalendar]] = {}
    emitted = 0
    for job in jobs:
        key = f"{job.contract_code}|{job.zone_class}"
        if key not in cache:
            cache[key] = await policy_and_calendar(session, job)
        prow, cal = cache[key]
        pol = policy_of(prow)
        sent = set(job.warnings_sent)
        new: set[str] = set()
        events = []
        for clock in job_clocks(job).clocks(pol):
            alerts, keys = due_alerts(cal, clock, job_clocks(job).pauses, now, pol.warn_fractions, sent)
            new |= keys
            for a in alerts:
                cls = ev.SlaBreached if a.kind == "breach" else ev.SlaWarning
                metrics.SLA_ALERTS.labels(a.milestone, a.kind).inc()
                events.append(cls(aggregate_id=job.id, payload=_payload(
                    job, now, milestone=a.milestone, deadline=a.deadline, fraction=a.fraction,
                    zone_class=job.zone_class, contract_code=job.contract_code)))
        if new:
            job.warnings_sent = sorted(sent | new)
            await add_events(session, *events)
            emitted += len(events)
    return emitted


async def recompute_open(session: AsyncSession, now: datetime, *, calendar_code: str | None = None,
                         zone_class: str | None = None) -> int:
    """Policy or calendar changed: every open job gets its deadlines recomputed."""
    q = select(Job).where(Job.status.in_(OPEN_STATUSES)).with_for_update()
    if zone_class:
        q = q.where(Job.zone_class == zone_class)
    if calendar_code:
        q = q.where(Job.calendar_code == calendar_code)
    jobs = (await session.scalars(q)).all()
    for job in jobs:
        prow, cal = await policy_and_calendar(session, job)
        refresh_deadlines(job, prow, cal, now)
    return len(jobs)


def ensure_record(body: Any) -> None:
    if body.action in ("complete", "remote_resolve") and body.record is None:
        raise DomainError("a service record is required to close the job", field="record",
                          code="record_required", status=422)
    if body.action == "pause" and body.reason not in PAUSE_REASONS:
        raise DomainError("pause reason must be waiting_parts or waiting_customer", field="reason",
                          code="bad_pause_reason", status=422)
    if body.action == "decline" and not body.reason:
        raise DomainError("a reason is required", field="reason", code="reason_required", status=422)
    if body.action == "arrive" and (body.lat is None or body.lon is None):
        raise DomainError("arrive needs the GPS position", field="lat", code="gps_required", status=422)
    if body.action == "lend_spare" and not body.spare_serial:
        raise DomainError("the spare unit's serial is required", field="spare_serial", code="spare_required",
                          status=422)


MILESTONE_NAMES = MILESTONES
