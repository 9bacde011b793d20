"""SLA configuration and clocks: zones (R-S2..R-S4), calendars (R-S7), policies (R-S1..R-S5), each job's
deadlines and milestones, the SLA watcher (warnings and breaches once per milestone, read by ``jobs.next_due_at``
in keyset batches), and the R-S8 routing check (its own ``escalated`` event).

Use cases run inside the caller's unit of work: they flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.clock import business_date
from aftersales_shared.errors import Unprocessable
from aftersales_shared.events import dispatch as ev
from aftersales_shared.events.envelope import IntegrationEvent
from aftersales_shared.outbox import add_events

from .. import metrics
from ..config import DispatchConfig
from ..contracts import service as contracts
from ..domain.calendar import BusinessCalendar
from ..domain.contract_terms import routing_due
from ..domain.job_lifecycle import OPEN_STATUSES, QUEUED
from ..domain.sla import (
    JobClocks,
    Pause,
    SlaPolicy,
    compute_deadlines,
    due_alerts,
    milestones_met,
    next_due,
    select_policy,
)
from ..jobs.events import job_payload
from ..models import TS, CoreProvince, Job, ServiceCentre, SlaCalendar, SlaPolicyRow, Zone
from .schemas import CalendarUpsert, PolicyUpsert, ServiceCentreUpsert, ZoneUpsert

# --- rows <-> the pure domain ------------------------------------------------------------------


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
        resolve=timedelta(minutes=row.resolve_minutes), resolve_from=row.resolve_from,  # type: ignore[arg-type]  # CHECKed column
        warn_fractions=tuple(float(f) for f in row.warn_fractions),
    )


def _dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def job_clocks(job: Job) -> JobClocks:
    return JobClocks(
        opened_at=job.opened_at, responded_at=job.responded_at, arrived_at=job.arrived_at,
        resolved_at=job.resolved_at,
        pauses=tuple(Pause(_dt(p["start"]), _dt(p.get("end")), p["reason"])  # type: ignore[arg-type]  # start is always set
                     for p in job.pauses),
    )


# --- a job's deadlines and milestones ------------------------------------------------------------

async def policy_and_calendar(session: AsyncSession, job: Job) -> tuple[SlaPolicyRow, BusinessCalendar]:
    """The policy that applies to the job (its contract's, else the default for its zone class) and its calendar."""
    rows = (await session.scalars(select(SlaPolicyRow).where(
        SlaPolicyRow.zone_class == job.zone_class,
        SlaPolicyRow.contract_code.in_(["", job.contract_code or ""])))).all()
    if not rows:
        raise Unprocessable(f"no SLA policy for zone class {job.zone_class}", field="zone_class",
                            code="no_sla_policy")
    chosen = select_policy([policy_of(r) for r in rows], job.contract_code, job.zone_class)
    row = next(r for r in rows if (r.contract_code or None) == chosen.contract_code)
    cal = await session.get(SlaCalendar, row.calendar_code)
    assert cal is not None  # foreign key
    return row, calendar_of(cal)


def refresh_deadlines(job: Job, prow: SlaPolicyRow, cal: BusinessCalendar, now: datetime) -> None:
    """Deadlines under the current policy and calendar (also after a policy/calendar change), and the instant
    of the job's next warning or breach."""
    pol, clocks = policy_of(prow), job_clocks(job)
    d = compute_deadlines(pol, cal, clocks, now)
    job.respond_due, job.arrive_due, job.resolve_due = d["respond"], d["arrive"], d["resolve"]
    job.policy_id, job.calendar_code = prow.id, cal.code
    job.next_due_at = next_due(pol, cal, clocks, job.warnings_sent, now)


async def refresh_next_due(session: AsyncSession, job: Job, now: datetime) -> None:
    """A pause began (deadlines keep their values while paused): the job's next alert waits for the resume,
    unless it fell due before the pause."""
    prow, cal = await policy_and_calendar(session, job)
    job.next_due_at = next_due(policy_of(prow), cal, job_clocks(job), job.warnings_sent, now)


async def recompute_deadlines(session: AsyncSession, job: Job, now: datetime) -> None:
    prow, cal = await policy_and_calendar(session, job)
    refresh_deadlines(job, prow, cal, now)


async def record_milestone(session: AsyncSession, job: Job, milestone: str, at: datetime) -> None:
    """Record whether a milestone was met (paused time excluded), count it, and move the deadlines."""
    prow, cal = await policy_and_calendar(session, job)
    met = milestones_met(policy_of(prow), cal, job_clocks(job), at)
    if milestone in met:
        job.sla_met = {**job.sla_met, milestone: met[milestone]}
        metrics.SLA_MILESTONES.labels(milestone, job.zone_class, job.contract_code or "default",
                                      "met" if met[milestone] else "missed").inc()
    refresh_deadlines(job, prow, cal, at)


async def zone_class_of(session: AsyncSession, region_code: str) -> tuple[str, tuple[float, float] | None]:
    """A region's zone class: the zones table, else urban in a core province (R-S3), else county (R-S4)."""
    z = await session.get(Zone, region_code)
    if z is not None:
        return z.zone_class, (z.lat, z.lon) if z.lat is not None and z.lon is not None else None
    core = await session.get(CoreProvince, region_code[:2])
    return ("urban" if core else "county"), None


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
        await recompute_deadlines(session, job, now)
    return len(jobs)


# --- configuration ------------------------------------------------------------------------------

def check_computable(cal: BusinessCalendar, minutes: Sequence[int], now: datetime, *, field: str) -> None:
    """Refuse (422 naming ``field``) a calendar and durations whose deadlines could not be computed: a
    deadline must fall within the calendar's scan horizon (``MAX_SCAN_DAYS``), with room to spare (twice the
    longest duration from now), or every deadline, recompute and SLA scan of the jobs under it would fail."""
    longest = max(minutes, default=0)
    try:
        cal.add(now, timedelta(minutes=2 * longest))
    except (ValueError, OverflowError) as exc:
        raise Unprocessable(f"calendar {cal.code} has too little working time for a {longest}-minute deadline",
                            field=field, code="calendar_too_sparse") from exc


async def upsert_zone(session: AsyncSession, *, region_code: str, body: ZoneUpsert) -> Zone:
    """Map an administrative region code to a zone class (and its centroid)."""
    z = await session.get(Zone, region_code) or Zone(region_code=region_code)
    z.name, z.province_code, z.zone_class = body.name, region_code[:2], body.zone_class
    z.lat, z.lon = body.lat, body.lon
    session.add(z)
    await session.flush()
    return z


async def upsert_centre(session: AsyncSession, *, centre_id: str, body: ServiceCentreUpsert) -> ServiceCentre:
    c = await session.get(ServiceCentre, centre_id) or ServiceCentre(id=centre_id)
    for k, v in body.model_dump().items():
        setattr(c, k, v)
    session.add(c)
    await session.flush()
    return c


async def upsert_calendar(session: AsyncSession, *, code: str, body: CalendarUpsert, now: datetime) -> int:
    """Create or change a calendar; open jobs on it get new deadlines in the same transaction (their count)."""
    c = await session.get(SlaCalendar, code) or SlaCalendar(code=code)
    c.tz, c.always_open, c.use_statutory = body.tz, body.always_open, body.use_statutory
    c.intervals, c.weekdays = [list(i) for i in body.intervals], body.weekdays
    c.overrides, c.updated_at = {d.isoformat(): v for d, v in body.overrides.items()}, now
    policies = (await session.scalars(select(SlaPolicyRow).where(SlaPolicyRow.calendar_code == code))).all()
    check_computable(calendar_of(c), [m for p in policies for m in (p.respond_minutes, p.arrive_minutes,
                                                                     p.resolve_minutes)], now, field="intervals")
    session.add(c)
    await session.flush()
    return await recompute_open(session, now, calendar_code=code)


async def upsert_policy(session: AsyncSession, *, body: PolicyUpsert, now: datetime) -> tuple[SlaPolicyRow, int]:
    """Create or change the policy of (contract, zone class); open jobs are recomputed (their count)."""
    cal = await session.get(SlaCalendar, body.calendar_code)
    if cal is None:
        raise Unprocessable("unknown calendar", field="calendar_code")
    check_computable(calendar_of(cal), [body.respond_minutes, body.arrive_minutes, body.resolve_minutes], now,
                     field="resolve_minutes")
    contract = body.contract_code or ""
    row = await session.scalar(select(SlaPolicyRow).where(
        SlaPolicyRow.contract_code == contract, SlaPolicyRow.zone_class == body.zone_class))
    if row is None:
        row = SlaPolicyRow(id=f"{contract or 'default'}-{body.zone_class}"[:40], contract_code=contract,
                           zone_class=body.zone_class)
    for k, v in body.model_dump(exclude={"contract_code"}).items():
        setattr(row, k, v)
    row.updated_at = now
    session.add(row)
    await session.flush()
    return row, await recompute_open(session, now, zone_class=body.zone_class)


async def list_policies(session: AsyncSession) -> list[SlaPolicyRow]:
    return list((await session.scalars(select(SlaPolicyRow).order_by(SlaPolicyRow.contract_code,
                                                                     SlaPolicyRow.zone_class))).all())


# --- background scans -----------------------------------------------------------------------------

async def check_routing(session: AsyncSession, cfg: DispatchConfig, now: datetime) -> int:
    """R-S8: unrouted after the contract's check time (2 h by default) is flagged for a check; still unrouted at its
    escalation time (4 h) is escalated: one ``dispatch.job.escalated`` per job (flag ``routing_escalated``), never a
    second ``sla_breached`` — the respond milestone's breach is the SLA watcher's, once. Each job is judged by its
    contract's terms in force on the day it was opened (``contracts/``), counted from when dispatch received the job
    (``created_at``), not the report (``opened_at``): a report keyed in late (backdated ``reported_at``) is not
    escalated at once."""
    defaults = contracts.defaults_of(cfg)
    flag_min, esc_min = await contracts.shortest_routing(session, defaults)
    jobs = (await session.scalars(select(Job).where(
        Job.status == QUEUED, Job.routing_escalated.is_(False),
        Job.created_at <= now - timedelta(minutes=min(flag_min, esc_min)))
        .order_by(Job.created_at).with_for_update(skip_locked=True).limit(500))).all()
    days: dict[str | None, list[date]] = {}
    for job in jobs:
        days.setdefault(job.contract_code, []).append(business_date(job.opened_at))
    terms = await contracts.terms_for(session, set(days), days, defaults)
    escalated = 0
    for job in jobs:
        t = terms[job.contract_code, business_date(job.opened_at)]
        flag, escalate = routing_due(t, now - job.created_at)
        if flag:
            job.routing_checked = True
        if not escalate:
            continue
        job.routing_escalated, escalated = True, escalated + 1
        metrics.ROUTING_ESCALATIONS.inc()
        await add_events(session, ev.JobEscalated(aggregate_id=job.id, payload=job_payload(
            job, now, reason="unrouted", opened_at=job.opened_at, deadline=job.created_at + t.route_escalate,
            zone_class=job.zone_class, contract_code=job.contract_code)))
    await session.flush()
    return escalated


SCAN_BATCH = 500
"""Jobs per unit of work of the SLA watcher."""

# literal values, not parameters, so the planner matches the partial index ix_jobs_sla_next_due in every plan
_OPEN = Job.status.in_(sa.bindparam("open_statuses", list(OPEN_STATUSES), expanding=True, literal_execute=True))


@dataclass(frozen=True)
class SlaBatch:
    """One keyset batch of the SLA watcher: jobs read, alerts emitted, and where the next batch starts
    (``after`` None: the pass is over)."""

    jobs: int
    emitted: int
    after: tuple[datetime, str] | None


async def scan_sla_batch(session: AsyncSession, now: datetime, *, after: tuple[datetime, str] | None = None,
                         limit: int = SCAN_BATCH) -> SlaBatch:
    """One batch of the SLA watcher: the open jobs whose ``next_due_at`` has come (after the keyset ``after``),
    oldest first, locked ``FOR UPDATE SKIP LOCKED`` (a second watcher takes other rows, never the same alert);
    each emits its due warnings and breaches once per milestone (``warnings_sent``; only the highest warning
    crossed since) and gets its next instant from ``domain.sla.next_due``."""
    q = select(Job).where(_OPEN, Job.next_due_at <= now)
    if after is not None:
        q = q.where(tuple_(Job.next_due_at, Job.id) > tuple_(sa.literal(after[0], TS), sa.literal(after[1])))
    jobs = (await session.scalars(q.order_by(Job.next_due_at, Job.id).limit(limit)
                                  .with_for_update(skip_locked=True))).all()
    if not jobs:
        return SlaBatch(0, 0, None)
    last = jobs[-1].next_due_at, jobs[-1].id
    cache: dict[tuple[str | None, str], tuple[SlaPolicy, BusinessCalendar]] = {}
    events: list[IntegrationEvent] = []
    for job in jobs:
        key = job.contract_code, job.zone_class
        if key not in cache:
            prow, cal = await policy_and_calendar(session, job)
            cache[key] = policy_of(prow), cal
        pol, cal = cache[key]
        clocks = job_clocks(job)
        sent = set(job.warnings_sent)
        new: set[str] = set()
        for clock in clocks.clocks(pol):
            alerts, keys = due_alerts(cal, clock, clocks.pauses, now, pol.warn_fractions, sent)
            new |= keys
            for a in alerts:
                cls: Any = ev.SlaBreached if a.kind == "breach" else ev.SlaWarning
                metrics.SLA_ALERTS.labels(a.milestone, a.kind).inc()
                events.append(cls(aggregate_id=job.id, payload=job_payload(
                    job, now, milestone=a.milestone, deadline=a.deadline, fraction=a.fraction,
                    zone_class=job.zone_class, contract_code=job.contract_code)))
        if new:
            sent |= new
            job.warnings_sent = sorted(sent)
        job.next_due_at = next_due(pol, cal, clocks, sent, now)
    await session.flush()
    await add_events(session, *events)
    assert last[0] is not None  # selected by next_due_at <= now
    return SlaBatch(len(jobs), len(events), (last[0], last[1]) if len(jobs) == limit else None)


async def scan_sla(session: AsyncSession, now: datetime, limit: int = SCAN_BATCH) -> int:
    """Every due warning and breach of every open job, in keyset batches inside the caller's unit of work (the
    background watcher commits each batch on its own: ``background.watch_sla``); the alerts emitted."""
    emitted, after = 0, None
    while True:
        batch = await scan_sla_batch(session, now, after=after, limit=limit)
        emitted += batch.emitted
        if batch.after is None:
            return emitted
        after = batch.after
