"""Job use cases: jobs from tickets (open, reopen, cancel, parts delivered), offers to the best engineer,
manual assignment, the engineer app's actions, offer expiry and the queue retry.

Every status change goes through :func:`_apply`, which applies a move of ``domain/job_lifecycle.py``
generically; an engineer-app action adds only its own side effect (``ACTION_EFFECTS``).
Every function runs inside the caller's unit of work (it flushes, never commits). Invariants that must hold
under concurrency live in the database: a conditional capacity UPDATE plus a CHECK constraint, one pending
offer per job (partial unique index), and the job row locked FOR UPDATE before any change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, DateTime, String, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from aftersales_shared.clock import business_date
from aftersales_shared.errors import Conflict, DomainError, NotFound, Unprocessable
from aftersales_shared.events import dispatch as ev
from aftersales_shared.events.envelope import IntegrationEvent
from aftersales_shared.events.ticketing import TicketOpenedPayload, TicketReopenedPayload
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from .. import metrics
from ..config import DispatchConfig
from ..contracts import registry as contract_registry
from ..domain import job_lifecycle as lifecycle
from ..domain import routing
from ..domain.job_lifecycle import ACCEPTED, EN_ROUTE, OFFERED, ON_SITE, OPEN_STATUSES, PAUSED, QUEUED, TERMINAL
from ..domain.sla import PAUSE_REASONS
from ..models import Engineer, Job, JobAction, Offer, ServiceRecord, SpareUnit
from ..plans import stock
from ..plans.durations import level_of
from ..plans.inputs import works_on
from ..plans.replan import mark_replan
from ..repairs import queries as repairs
from ..sla.service import (
    policy_and_calendar,
    recompute_deadlines,
    record_milestone,
    refresh_deadlines,
    refresh_next_due,
    zone_class_of,
)
from ..spares import service as spares
from . import live, queries
from .events import job_payload
from .schemas import ActionIn, ServiceRecordIn

CHANNELS = ("phone", "web", "email", "sms")  # bounded metric labels

Extras = dict[str, dict[str, Any]]
"""What a move's events add to the common job payload, by event type."""
Effect = Callable[[], Awaitable[Extras]]


# --- the one way a job changes status ------------------------------------------------------------

def _iso(d: datetime) -> str:
    return d.astimezone(UTC).isoformat()


def _open_pause(job: Job) -> dict[str, Any] | None:
    return next((p for p in job.pauses if p.get("end") is None), None)


def _end_open_pause(job: Job, at: datetime) -> None:
    pauses = [dict(p) for p in job.pauses]
    for p in pauses:
        if p.get("end") is None:
            p["end"] = _iso(max(at, datetime.fromisoformat(p["start"])))
            job.pauses = pauses
            return


async def _apply(session: AsyncSession, cfg: DispatchConfig | None, job: Job, action: str, *, at: datetime,
                 now: datetime, effect: Effect | None = None, extras: Extras | None = None,
                 more: Callable[[], Sequence[IntegrationEvent]] | None = None) -> None:
    """Apply the lifecycle move ``action`` to a locked job: end an open pause the move leaves, run the
    action's own effect, set the status (counting the move in ``version``, its time in ``last_action_at``),
    free the engineer's capacity when the job stops holding it, emit the move's events (stamped ``at``), and
    offer a job that is back in the queue to the next candidate (the ``cfg`` is needed only for that). ``more``:
    events made once the job is moved, written in the same outbox write."""
    move = lifecycle.move(job.status, action)
    on_route = job.engineer_id if job.status in live.HELD else None
    pause = _open_pause(job)
    set_off = _set_off(job, pause)
    to = lifecycle.target(move, job.status, before_pause=pause.get("resume_status") if pause else None)
    if job.status == PAUSED and to != PAUSED:
        _end_open_pause(job, at)
    added = await effect() if effect else {}
    leaves = on_route is not None and (to not in live.HELD or job.engineer_id != on_route)
    if leaves and on_route is not None and not set_off:  # before a re-offer below can give it a new restock stop
        await give_back(session, job, on_route, now)
    job.status, job.updated_at, job.last_action_at, job.version = to, now, at, job.version + 1
    if to != PAUSED:
        job.paused_reason = None
    if to in TERMINAL:
        job.next_due_at = None  # a closed job has no SLA alert to come
    if not lifecycle.holds_capacity(to):
        await queries.release(session, job)
    every = {**(extras or {}), **added}
    events = [cls(aggregate_id=job.id, payload=job_payload(job, at, **every.get(cls.TYPE, {})))
              for cls in move.events]  # still naming the engineer a job back in the queue had
    if to == QUEUED:  # a queued job has no engineer (CHECK ck_jobs_queued_unassigned)
        job.engineer_id, job.engineer_dealer_id = None, None
    await session.flush()
    await add_events(session, *events, *(more() if more is not None else ()))
    if to == QUEUED:
        assert cfg is not None, f"{action} puts the job back in the queue: pass the DispatchConfig"
        await try_assign(session, cfg, job, now)
    if leaves and on_route is not None and cfg is not None:
        await reflow(session, cfg, on_route, job, now)  # the job left that route: the ones after it move up


def _set_off(job: Job, pause: dict[str, Any] | None) -> bool:
    """The engineer has set off to the job (en route, on site, or paused after either): what his van took for it
    is on its way to the customer and stays his."""
    if job.status == PAUSED:
        return job.arrived_at is not None or (pause or {}).get("resume_status") in (EN_ROUTE, ON_SITE)
    return job.status in (EN_ROUTE, ON_SITE) or job.arrived_at is not None


async def give_back(session: AsyncSession, job: Job, engineer_id: str, now: datetime) -> None:
    """The job left ``engineer_id``'s route before he set off to it (declined, expired, cancelled, unassigned,
    reassigned, moved to another route by a booking or a plan): the parts its live restock stop moved to his van
    go back to the centre (``stock.give_back_restock``, once) and the job has no restock stop any more; so do the
    parts it needs that the published plan's restock stop before it took (``stock.give_back_planned``). Every
    such leaving passes here: :func:`_apply` for a move that takes the job off the route, the reassigning paths
    (``manual_assign``, ``assign_planned``, ``_take_insertion``) for a move to another engineer."""
    if job.restock_centre_id is not None or job.restock_parts:
        await stock.give_back_restock(session, job_id=job.id, engineer_id=engineer_id, now=now)
        job.restock_centre_id, job.restock_parts, job.restock_arrival = None, None, None
    if job.plan_id is not None:  # a published plan's restock stop before it took what it needs
        need = ({p: int(q) for p, q in job.expected_parts.items()} if job.expected_parts is not None else await
                stock.fault_class_parts(session, product_line=job.product_line, fault_class=job.fault_class or ""))
        await stock.give_back_planned(session, job_id=job.id, engineer_id=engineer_id, plan_id=job.plan_id,
                                      need=need, now=now)


# --- jobs from tickets ---------------------------------------------------------------------------

async def open_job(session: AsyncSession, cfg: DispatchConfig, p: TicketOpenedPayload, now: datetime, *,
                   visit: int = 1, opened_at: datetime | None = None) -> Job:
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
        fault_description=p.fault_description, visit=visit, created_at=now,
        opened_at=opened_at or p.reported_at or p.opened_at,  # issue 15 (R-S7): the SLA starts at the report
        status=QUEUED, version=1, last_action_at=now,
        pauses=[], warnings_sent=[], sla_met={}, updated_at=now, holds_capacity=False,
    )
    if p.window_start is not None and visit == 1:  # issue 16 (R-S10): a PM visit opened ahead of its window is
        # booked in the window, and its SLA clock starts when the window opens, not when ticketing generated it
        job.earliest_start, job.booked_end, job.opened_at = p.window_start, p.window_end, p.window_start
    # issue 16: an unregistered contract code is dispatched all the same (default terms), recorded and counted for ops
    job.contract_known = await contract_registry.is_known(session, p.contract_code)
    if job.contract_known is False:
        metrics.JOBS_UNKNOWN_CONTRACT.inc()
    prow, cal = await policy_and_calendar(session, job)
    refresh_deadlines(job, prow, cal, now)
    session.add(job)
    metrics.JOBS_CREATED.labels(p.channel if p.channel in CHANNELS else "other", zone_class).inc()
    await session.flush()
    await add_events(session, ev.JobCreated(aggregate_id=job.id, payload=job_payload(
        job, now, zone_class=zone_class, contract_code=job.contract_code,
        deadlines={k: v for k, v in (("respond", job.respond_due), ("arrive", job.arrive_due),
                                     ("resolve", job.resolve_due)) if v})))
    await try_assign(session, cfg, job, now, fresh=True)
    return job


async def reopen_job(session: AsyncSession, cfg: DispatchConfig, p: TicketReopenedPayload, now: datetime) -> Job:
    """A reopened ticket gets a new job for its visit; a job of an earlier visit still open is superseded."""
    stale = (await session.scalars(select(Job).where(
        Job.ticket_id == p.ticket_id, Job.visit < p.visit, Job.status.not_in(TERMINAL)).with_for_update())).all()
    for job in stale:
        await _cancel(session, job, f"superseded by visit {p.visit}", now, offer_reason="ticket reopened", cfg=cfg)
    return await open_job(session, cfg, p, now, visit=p.visit, opened_at=p.reopened_at)


async def cancel_job(session: AsyncSession, ticket_id: str, reason: str, now: datetime, *,
                     cfg: DispatchConfig | None = None) -> None:
    """The ticket was cancelled: its current job (latest visit) is withdrawn (with ``cfg``: the rest of its
    engineer's route re-laid, :func:`reflow`)."""
    job = await session.scalar(queries.latest_job_of(ticket_id).with_for_update())
    if job is None or not lifecycle.allowed(job.status, "cancel"):
        return
    await _cancel(session, job, reason, now, cfg=cfg)


async def _cancel(session: AsyncSession, job: Job, reason: str, now: datetime, *,
                  offer_reason: str = "ticket cancelled", cfg: DispatchConfig | None = None) -> None:
    async def withdraw_offer() -> Extras:
        await queries.close_offer(session, job, "withdrawn", now, offer_reason)
        await spares.due_back_now(session, job, now)  # R-S6: a spare lent to the cancelled job is due back now
        return {ev.JobCancelled.TYPE: {"reason": reason}}

    await _apply(session, cfg, job, "cancel", at=now, now=now, effect=withdraw_offer)


async def parts_delivered(session: AsyncSession, job_id: str | None, ticket_id: str | None, now: datetime) -> None:
    """Parts arrived: a job waiting for parts resumes its clock."""
    q = select(Job).where(Job.id == job_id) if job_id else queries.latest_job_of(ticket_id or "")
    job = await session.scalar(q.with_for_update())
    if job is None or not lifecycle.allowed(job.status, "parts_delivered") or job.paused_reason != "waiting_parts":
        return

    async def move_deadlines() -> Extras:  # as the engineer's resume does: the pause moves the deadlines
        await recompute_deadlines(session, job, now)
        return {ev.JobResumed.TYPE: {"reason": "parts_delivered"}}

    await _apply(session, None, job, "parts_delivered", at=now, now=now, effect=move_deadlines)


# --- offers and assignment -----------------------------------------------------------------------

async def try_assign(session: AsyncSession, cfg: DispatchConfig, job: Job, now: datetime, *,
                     fresh: bool = False) -> bool:
    """Give a queued job to an engineer; False leaves it queued (ordered by deadline).

    The live path (issue 14): the job is *inserted* into the day sequence of the engineer where it adds least
    lateness, then least travel, without breaking a promised window (:func:`place`); the ETA comes from the
    sequence. A job without coordinates cannot be routed: it goes to the nearest free engineer by the old
    ranking (``domain/assignment.rank``), which alone still counts ``max_jobs``.
    ``fresh``: the job was created in this transaction, so nobody can have declined it yet.
    """
    if job.status != QUEUED:
        return False
    excluded = [] if fresh else await queries.excluded_engineers(session, job.id)
    if job.lat is None or job.lon is None:
        return await _offer_by_rank(session, cfg, job, now, excluded)
    return await place(session, cfg, job, now, exclude=excluded) is not None


async def _offer_by_rank(session: AsyncSession, cfg: DispatchConfig, job: Job, now: datetime,
                         excluded: Sequence[str]) -> bool:
    """The fallback for a job without coordinates: the best ranked engineer below ``max_jobs`` (one unit held)."""
    for cand in await queries.candidates_for(session, cfg, job, now, exclude=excluded):
        eng = await queries.reserve(session, cand.engineer_id)
        if eng is None:
            continue  # taken by a concurrent decision: next candidate
        job.engineer_id, job.engineer_dealer_id, job.holds_capacity = eng.id, eng.dealer_id, True
        session.add(Offer(id=str(new_id()), job_id=job.id, engineer_id=eng.id, status="pending",
                          offered_at=now, expires_at=now + cfg.offer_ttl))
        await _apply(session, cfg, job, "offer", at=now, now=now,
                     extras={ev.JobAssigned.TYPE: {"assigned_by": "auto"}})
        return True
    return False


LIVE_DAYS = 3
"""How many days of sequences (today and the next ones) a live insertion looks at before the job waits queued
(the nightly plan, the queue retry)."""
LIVE_TRIES = 4
"""Decisions made again on a fresh read when concurrent ones changed the chosen routes, before the job waits."""


async def place(session: AsyncSession, cfg: DispatchConfig, job: Job, now: datetime, *,
                exclude: Sequence[str] = (), reason: str = "insertion",
                window: tuple[datetime, datetime] | None = None) -> routing.Insertion | None:
    """Insert a locked job (queued, or held and being moved) into the best engineer's day sequence.

    The nearest qualified engineers and the jobs they hold are read once; ``insert_job`` decides on that, for
    today's sequences, then each following day's (no further query). Then the engineers whose routes change are
    locked (``FOR UPDATE``, in id order) and checked to be as read (``live.still_as_read``): if a concurrent
    decision changed them, they are read again and the decision made again, so two concurrent insertions into one
    route never both keep a window the other broke; only those engineers stay locked to the end of the
    transaction (a queue retry placing many jobs does not hold every candidate of each). An urgent (in-zone) job
    may displace a movable job, which is re-inserted on time (``displaced``). The job gets the planned arrival of
    its stop; every other job on the changed routes whose planned arrival moved gets it too, with
    ``dispatch.job.eta_changed``. An urgent job that no route takes on time marks its zone-day for a re-plan. None:
    no route can take it (it stays where it is)."""
    urgent = job.zone_class == live.URGENT_ZONE and window is None
    ref = await live.reference(session, cfg)
    rjob = live.core_job(job, cfg, ref, window=window)
    near, held = await live.read_candidates(session, job, limit=cfg.live_candidates * (2 if urgent else 1),
                                            exclude=exclude, skilled=not urgent, tools=rjob.tools)
    ids = [e.id for e in near]
    view = await live.stock_for(session, list(rjob.parts), ids, job.region_code) if rjob.parts else None
    today, displace = business_date(now), None
    for _ in range(LIVE_TRIES):
        found = None
        for ahead in range(LIVE_DAYS):  # today's sequences first, then each following day's (same read)
            day = live.build_day(cfg, job, now, engineers=near, held_rows=held, ref=ref,
                                 day=today + timedelta(days=ahead), stock=view)
            res = routing.insert_job(day.plan, rjob, day.engineers, now, max_candidates=cfg.live_candidates,
                                     allow_displace=displace, centres=day.centres)
            if res.insertion is None and rjob.parts and not any(  # nobody has them: as if it needed none
                    all(c.stock.get(p, 0) >= q for p, q in rjob.parts.items()) for c in day.centres):
                res = routing.insert_job(day.plan, replace(rjob, parts={}), day.engineers, now,
                                         max_candidates=cfg.live_candidates, allow_displace=displace)
            if res.insertion is not None:
                found = (res, day)
                break
        if found is None:
            break
        res, day = found
        assert res.insertion is not None
        involved = {res.insertion.engineer_id} | {m.to_engineer for m in res.insertion.displaced}
        if not await live.still_as_read(session, [day.rows[e] for e in involved], held, job.id):
            # a concurrent decision changed them: read the candidates and their jobs again, decide again
            near, held = await live.read_candidates(session, job, limit=len(ids), only=ids)
            continue
        victims: dict[str, Job] = {}
        if res.insertion.displaced:
            want = [m.job_id for m in res.insertion.displaced]
            victims = {v.id: v for v in (await session.scalars(select(Job).where(Job.id.in_(want)).with_for_update(
                skip_locked=True).execution_options(populate_existing=True))).all()}
            if len(victims) != len(want):  # a displaced job is being changed right now
                displace = False
                continue
        ins = res.insertion
        if ins.restock is not None and not await stock.take_restock(
                session, ref=f"live:{job.id}:{new_id()}", centre_id=ins.restock, engineer_id=ins.engineer_id,
                parts=dict(ins.restock_parts), now=now, job_id=job.id, whole=True):
            # another decision took the centre's last units since the read: read the stock again, decide again
            view = await live.stock_for(session, list(rjob.parts), ids, job.region_code)
            continue
        await _take_insertion(session, cfg, job, res, day, now, reason, victims)
        if rjob.urgent and res.insertion.lateness_s > 0:
            await mark_replan(session, cfg, zone=job.region_code, day=business_date(now),
                              reason="urgent_unplaceable", now=now)
        return res.insertion
    if rjob.urgent:
        await mark_replan(session, cfg, zone=job.region_code, day=business_date(now), reason="urgent_unplaceable",
                          now=now)
    return None


async def _take_insertion(session: AsyncSession, cfg: DispatchConfig, job: Job, res: routing.InsertResult,
                          day: live.LiveDay, now: datetime, reason: str, victims: dict[str, Job]) -> None:
    """Write a decision: the job offered (or moved) with its planned arrival, displaced jobs (``victims``, locked
    ORM rows) handed over, and every job on the changed routes whose arrival moved told, the job's own
    ``eta_changed`` in the same outbox write."""
    assert res.insertion is not None
    ins = res.insertion
    new = live.arrivals(res.plan, {ins.engineer_id} | {m.to_engineer for m in ins.displaced})  # routes changed
    displaced = {m.job_id: m for m in ins.displaced}
    before = {job_id: row.planned_arrival for job_id, row in day.held.items()}
    for m in ins.displaced:
        victim = victims[m.job_id]
        if m.to_engineer != victim.engineer_id:
            if victim.engineer_id is not None and not _set_off(victim, _open_pause(victim)):
                await give_back(session, victim, victim.engineer_id, now)  # its old restock goes back too
            await _hand_over(session, cfg, victim, day.rows[m.to_engineer], new[victim.id][1], now)
    previous, holder = job.planned_arrival, job.engineer_id if job.status in live.HELD else None
    if holder is not None and holder != ins.engineer_id and not _set_off(job, _open_pause(job)):
        await give_back(session, job, holder, now)  # moved off a route: its old restock goes back
    moved = await _moved_etas(session, cfg, day.held, new, before, now, reasons={
        job_id: "displaced" if job_id in displaced else "insertion" for job_id in new}, locked=victims)
    # the restock stop before it on its route (its parts are the van's already: ``stock.take_restock``)
    job.restock_centre_id, job.restock_parts = ins.restock, dict(ins.restock_parts) or None
    job.restock_arrival = res.plan.time(ins.restock_arrival_s) if ins.restock_arrival_s is not None else None

    def etas() -> list[IntegrationEvent]:  # the job's own (once handed over: it names the engineer), then the moved
        own = job.planned_arrival is not None and job.planned_arrival != previous
        return [_eta_event(job, previous, reason, now)] * own + moved

    await _hand_over(session, cfg, job, day.rows[ins.engineer_id], new[job.id][1], now, more=etas)
    if holder is not None and holder != ins.engineer_id:  # moved off a route (a booking): the rest moves up
        await reflow(session, cfg, holder, job, now)


async def reflow(session: AsyncSession, cfg: DispatchConfig, engineer_id: str, gone: Job, now: datetime) -> int:
    """``gone`` left ``engineer_id``'s route (declined, expired, cancelled, moved to another route, closed): the
    jobs after it on that day's sequence are re-laid in the same order and those whose planned arrival moved get
    ``dispatch.job.eta_changed`` (``replan``). The engineer's row is locked ``SKIP LOCKED``: a decision holding
    it is changing that route right now and says its ETAs itself (and no lock is waited for, so no deadlock with
    a decision locking its candidates). The number of jobs told."""
    engineers = await live.lock_engineers(session, [engineer_id], skip_locked=True)
    if not engineers:
        return 0
    held = await live.held_jobs(session, [engineer_id], gone.id)
    if not held:
        return 0
    after = gone.planned_arrival
    on = business_date(after) if after is not None else None
    day = live.build_day(cfg, gone, now, engineers=engineers, held_rows=held,
                         ref=await live.reference(session, cfg), day=on)
    new = {job_id: v for job_id, v in live.arrivals(day.plan, {engineer_id}).items()
           if after is None or (day.held[job_id].planned_arrival or after) >= after}
    before = {job_id: row.planned_arrival for job_id, row in day.held.items()}
    return await _move_etas(session, cfg, day.held, new, before, now, reasons=dict.fromkeys(new, "replan"))


_JOBS = f"{Job.metadata.schema}.{Job.__tablename__}"
_MOVE_ETAS = text(f"""
    UPDATE {_JOBS} AS j SET planned_arrival = v.arrival, updated_at = :now
    FROM unnest(CAST(:ids AS text[]), CAST(:arrivals AS timestamptz[])) AS v(id, arrival)
    WHERE j.id = v.id AND j.id IN (
        SELECT l.id FROM {_JOBS} AS l WHERE l.id = ANY(CAST(:ids AS text[])) FOR UPDATE SKIP LOCKED)
    RETURNING j.id, j.ticket_id, j.visit, j.engineer_id, j.engineer_dealer_id, j.planned_arrival, j.earliest_start,
              j.opened_at, j.booked_end, j.arrive_due""").bindparams(
    bindparam("ids", type_=ARRAY(String)), bindparam("arrivals", type_=ARRAY(DateTime(timezone=True))))
"""Moved ETAs in one statement: the jobs not locked elsewhere (``SKIP LOCKED``: an app action changing one right
now wins; its next insertion or plan says its ETA) get their new planned arrival, and what their events need."""


async def _move_etas(session: AsyncSession, cfg: DispatchConfig, rows: Mapping[str, Any],
                     new: dict[str, tuple[str, datetime, int]], before: dict[str, datetime | None], now: datetime,
                     *, reasons: dict[str, str], locked: Mapping[str, Job] | None = None,
                     events: Sequence[IntegrationEvent] = ()) -> int:
    """:func:`_moved_etas` and one outbox write of their events after ``events``. The number of jobs told."""
    moved = await _moved_etas(session, cfg, rows, new, before, now, reasons=reasons, locked=locked)
    if events or moved:
        await add_events(session, *events, *moved)
    return len(moved)


async def _moved_etas(session: AsyncSession, cfg: DispatchConfig, rows: Mapping[str, Any],
                      new: dict[str, tuple[str, datetime, int]], before: dict[str, datetime | None], now: datetime,
                      *, reasons: dict[str, str], locked: Mapping[str, Job] | None = None) -> list[IntegrationEvent]:
    """Jobs of ``rows`` whose planned arrival in ``new`` moved by ``cfg.eta_change`` or more (or that are in
    ``locked``, ORM rows already locked and always told) get it: one ``UPDATE .. RETURNING`` that locks the others
    ``SKIP LOCKED`` (a job being changed right then by an app action is skipped: its next insertion or plan says
    its ETA). Their ``dispatch.job.eta_changed`` events, for the caller to write."""
    locked = locked or {}
    moved: dict[str, tuple[datetime | None, datetime]] = {}
    for job_id, (_, arrival, _) in new.items():
        if job_id not in rows:
            continue
        was = before.get(job_id)
        if job_id in locked or was is None or abs(arrival - was) >= cfg.eta_change:
            moved[job_id] = (was, arrival)
    out: list[IntegrationEvent] = []
    for job_id, (was, arrival) in moved.items():
        if job_id in locked:
            row = locked[job_id]
            row.planned_arrival, row.updated_at = arrival, now
            if arrival != was:
                out.append(_eta_event(row, was, reasons[job_id], now))
    ask = {job_id: v for job_id, v in moved.items() if job_id not in locked and v[1] != v[0]}
    if ask:
        got = (await session.execute(_MOVE_ETAS, {"ids": list(ask), "arrivals": [v[1] for v in ask.values()],
                                                  "now": now})).all()
        identity = session.sync_session.identity_map
        for x in got:
            obj = identity.get(identity_key(Job, x.id))
            if obj is not None:  # an ORM copy in this session: keep it as the database has it now
                set_committed_value(obj, "planned_arrival", x.planned_arrival)
                set_committed_value(obj, "updated_at", now)
            out.append(_eta_event(x, ask[x.id][0], reasons[x.id], now))
    return out


async def _hand_over(session: AsyncSession, cfg: DispatchConfig, job: Job, eng: Any, arrival: datetime,
                     now: datetime, *, more: Callable[[], Sequence[IntegrationEvent]] | None = None) -> None:
    """The job goes on ``eng``'s route with ``arrival``: a queued job is offered (the route is the capacity: no
    unit of ``max_jobs`` is held); a job held by another engineer is reassigned by dispatch (accepted), its
    offers withdrawn; the same engineer: only the planned arrival changes. ``more``: events made once the job is
    handed over, written in the same outbox write as the hand-over's own."""
    job.planned_arrival, job.updated_at = arrival, now
    if job.status == QUEUED:
        job.engineer_id, job.engineer_dealer_id, job.holds_capacity = eng.id, eng.dealer_id, False
        session.add(Offer(id=str(new_id()), job_id=job.id, engineer_id=eng.id, status="pending",
                          offered_at=now, expires_at=now + cfg.offer_ttl))
        await _apply(session, cfg, job, "offer", at=now, now=now, more=more,
                     extras={ev.JobAssigned.TYPE: {"assigned_by": "auto", "planned_arrival": arrival}})
    elif job.engineer_id != eng.id:
        await queries.close_offer(session, job, "withdrawn", now, "moved to another route")
        await session.execute(update(Offer).where(Offer.job_id == job.id, Offer.status == "accepted")
                              .values(status="withdrawn", reason="moved to another route"))
        await queries.release(session, job)
        job.engineer_id, job.engineer_dealer_id, job.holds_capacity = eng.id, eng.dealer_id, False
        job.responded_at = job.responded_at or now
        await record_milestone(session, job, "respond", now)
        await _apply(session, cfg, job, "assign", at=now, now=now, more=more,
                     extras={ev.JobAssigned.TYPE: {"assigned_by": "auto", "planned_arrival": arrival}})
    elif more is not None:
        await add_events(session, *more())


async def eta_changed(session: AsyncSession, job: Job, previous: datetime | None, reason: str,
                      now: datetime) -> None:
    """``dispatch.job.eta_changed`` for a job whose planned arrival moved (or was first given)."""
    if job.planned_arrival is None or job.planned_arrival == previous:
        return
    await add_events(session, _eta_event(job, previous, reason, now))


def _eta_event(job: Any, previous: datetime | None, reason: str, now: datetime) -> ev.JobEtaChanged:
    start = job.earliest_start or job.opened_at
    end = job.booked_end or job.arrive_due
    return ev.JobEtaChanged(aggregate_id=job.id, payload=job_payload(
        job, now, planned_arrival=job.planned_arrival, previous_arrival=previous, window_start=start,
        window_end=max(end, start) if end else None, reason=reason))


async def manual_assign(session: AsyncSession, cfg: DispatchConfig, *, job_id: str, engineer_id: str,
                        expected_version: int, now: datetime) -> Job:
    """A dispatcher assigns directly (counts as the dispatch decision, R-S1), against the job's version the
    dispatcher saw: if the job moved since (another dispatcher, a decline, an expiry), 409 names the current
    assignee instead of overwriting it. Assigning the engineer who already holds the job accepted is a no-op."""
    job = await queries.lock_job(session, job_id)
    if job.engineer_id == engineer_id and job.status == ACCEPTED:
        return job
    if job.version != expected_version:
        holder = job.engineer_id or "nobody"
        raise Conflict(f"job {job.id} changed since version {expected_version}: it is now version {job.version}, "
                       f"{job.status}, assigned to {holder}", field="version", code="job_version_mismatch",
                       extra={"current_version": job.version, "current_status": job.status,
                              "current_engineer_id": job.engineer_id})
    if not lifecycle.allowed(job.status, "assign"):
        raise Conflict(f"job is {job.status}; it can no longer be reassigned", field="status", code="job_state")
    if await session.get(Engineer, engineer_id) is None:
        raise NotFound(f"engineer {engineer_id} not found", field="engineer_id")
    await queries.close_offer(session, job, "withdrawn", now, "reassigned by dispatcher")
    await session.execute(update(Offer).where(Offer.job_id == job.id, Offer.status == "accepted")
                          .values(status="withdrawn", reason="reassigned by dispatcher"))
    await queries.release(session, job)
    eng = await queries.reserve(session, engineer_id)
    if eng is None:
        raise Conflict("engineer is at capacity or inactive", field="engineer_id", code="engineer_at_capacity")
    was = job.engineer_id
    if was is not None and was != engineer_id:  # assign moves only jobs not set off to (queued/offered/accepted)
        await give_back(session, job, was, now)
    job.engineer_id, job.engineer_dealer_id, job.holds_capacity = eng.id, eng.dealer_id, True
    job.responded_at = job.responded_at or now
    await record_milestone(session, job, "respond", now)
    await _apply(session, cfg, job, "assign", at=now, now=now, extras={ev.JobAssigned.TYPE: {"assigned_by": "manual"}})
    return job


async def assign_planned(session: AsyncSession, cfg: DispatchConfig, job: Job, *, engineer_id: str,
                         planned_arrival: datetime, plan_id: str, now: datetime, eta_reason: str = "plan") -> None:
    """A published plan gives a locked job to its planned engineer with the planned arrival (issue 14): like a
    dispatcher's assignment (accepted, the respond milestone), emitting ``dispatch.job.assigned`` with
    ``assigned_by="plan"``. The plan's day sequence is the engineer's capacity: a planned job takes no unit of the
    simultaneous-jobs capacity (``holds_capacity`` false), and a unit it held before is given back."""
    if not lifecycle.allowed(job.status, "assign"):
        raise Conflict(f"job is {job.status}; it can no longer be reassigned", field="status", code="job_state")
    eng = await session.get(Engineer, engineer_id)
    if eng is None:
        raise NotFound(f"engineer {engineer_id} not found", field="engineer_id")
    await queries.close_offer(session, job, "withdrawn", now, f"planned ({plan_id})")
    if job.engineer_id != engineer_id:
        await session.execute(update(Offer).where(Offer.job_id == job.id, Offer.status == "accepted")
                              .values(status="withdrawn", reason=f"re-planned ({plan_id})"))
    await queries.release(session, job)
    previous = job.planned_arrival
    if job.engineer_id is not None and job.engineer_id != engineer_id:  # re-planned onto another route
        await give_back(session, job, job.engineer_id, now)
    job.engineer_id, job.engineer_dealer_id, job.holds_capacity = eng.id, eng.dealer_id, False
    job.planned_arrival, job.plan_id = planned_arrival, plan_id
    job.responded_at = job.responded_at or now
    await record_milestone(session, job, "respond", now)
    await _apply(session, cfg, job, "assign", at=now, now=now, extras={ev.JobAssigned.TYPE: {
        "assigned_by": "plan", "planned_arrival": planned_arrival, "plan_id": plan_id}})
    if previous is None or abs(planned_arrival - previous) >= cfg.eta_change:
        await eta_changed(session, job, previous, eta_reason, now)


async def take_back_from_absent(session: AsyncSession, cfg: DispatchConfig, job_id: str, *, day: date,
                                now: datetime) -> bool:
    """A job a plan of ``day`` left unplanned, held (offered or accepted, not started) for that day by an engineer
    who is absent (or inactive) that day, goes back to the queue: its offers withdrawn, no engineer, then
    re-inserted into another route when one takes it (:func:`try_assign`). It never stays with an absent
    engineer. True when it was taken back."""
    job = await queries.lock_job(session, job_id)
    if job.status not in (OFFERED, ACCEPTED) or job.engineer_id is None:
        return False
    if job.planned_arrival is not None and business_date(job.planned_arrival) != day:
        return False  # held for another day
    eng = await session.get(Engineer, job.engineer_id)
    if eng is not None and eng.active and works_on(eng, day):
        return False

    async def withdraw() -> Extras:
        await queries.close_offer(session, job, "withdrawn", now, "engineer absent")
        await session.execute(update(Offer).where(Offer.job_id == job.id, Offer.status == "accepted")
                              .values(status="withdrawn", reason="engineer absent"))
        return {}

    await _apply(session, cfg, job, "unassign", at=now, now=now, effect=withdraw)
    return True


async def expire_offers(session: AsyncSession, cfg: DispatchConfig, now: datetime, limit: int = 200) -> int:
    """Offers nobody answered in time go to the next candidate."""
    job_ids = (await session.scalars(select(Offer.job_id).where(
        Offer.status == "pending", Offer.expires_at <= now).limit(limit))).all()
    n = 0
    for jid in job_ids:
        job = await session.scalar(select(Job).where(Job.id == jid, Job.status == OFFERED)
                                   .with_for_update(skip_locked=True))
        if job is None:
            continue

        async def expire(job: Job = job) -> Extras:
            await queries.close_offer(session, job, "expired", now)
            return {}

        await _apply(session, cfg, job, "expire", at=now, now=now, effect=expire)
        n += 1
    return n


async def retry_queue(session: AsyncSession, cfg: DispatchConfig, now: datetime, limit: int = 200) -> int:
    """Queued jobs, earliest arrive deadline first, get another assignment attempt."""
    # still-savable jobs first (earliest deadline), already-late ones after: plain earliest-deadline-first
    # collapses under overload because every engineer goes to jobs that are lost anyway
    jobs = (await session.scalars(select(Job).where(Job.status == QUEUED)
                                  .order_by(Job.arrive_due < now, Job.arrive_due)
                                  .limit(limit).with_for_update(skip_locked=True))).all()
    n = 0
    for job in jobs:
        n += await try_assign(session, cfg, job, now)
    waiting, oldest = await queries.queue_gauges(session, now)
    metrics.JOBS_WAITING.set(waiting)
    metrics.OLDEST_WAITING_AGE.set(oldest)
    return n


async def flag_overruns(session: AsyncSession, cfg: DispatchConfig, now: datetime, limit: int = 200) -> int:
    """Jobs on site past their planned end (arrival + expected service minutes) by ``cfg.overrun_margin``: the
    rest of the engineer's day will not hold, so the zone-day is marked for a re-plan, once per job."""
    rows = (await session.scalars(select(Job).where(
        Job.status == ON_SITE, Job.overrun_flagged.is_(False), Job.arrived_at < now - cfg.overrun_margin)
        .order_by(Job.arrived_at).limit(limit).with_for_update(skip_locked=True))).all()
    durations = await live.durations(session, cfg)  # the minutes a plan uses
    skills: dict[str, dict[str, Any]] = {eid: sk for eid, sk in (await session.execute(
        select(Engineer.id, Engineer.skills).where(Engineer.id.in_({j.engineer_id for j in rows if j.engineer_id}))
    )).all()} if rows else {}
    n = 0
    for job in rows:
        assert job.arrived_at is not None
        level = (skills.get(job.engineer_id or "") or {}).get(job.required_skill, 0)  # his minutes, by his level
        minutes = live.minutes_of(job, durations, cfg.default_service_minutes, int(level))
        if job.arrived_at + timedelta(minutes=minutes) + cfg.overrun_margin <= now:
            job.overrun_flagged = True
            await mark_replan(session, cfg, zone=job.region_code, day=business_date(now), reason="overrun", now=now)
            n += 1
    return n


# --- the engineer app (idempotent, offline-tolerant) -----------------------------------------------

def check_action_body(body: ActionIn) -> None:
    """What each action needs in its body (422 naming the field)."""
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
    if body.action == "lend_spare" and not (body.spare_id or body.spare_serial):
        raise DomainError("the pool spare unit to lend is required (spare_id or spare_serial)", field="spare_id",
                          code="spare_required", status=422)


def check_device_time(at: datetime, job: Job, cfg: DispatchConfig, now: datetime) -> datetime:
    """When it happened, as the record keeps it: the engineer's ``device_time`` within [the job's last recorded
    action (its creation at the earliest), the server clock + the allowed device skew]. The time decides whether a
    milestone was met, so it may neither be backdated past what the server already saw nor run ahead: beyond the
    skew either way it is a 422 naming ``device_time``; a phone whose clock runs a little behind (within the skew)
    is taken as happening at the last recorded action, not refused."""
    if at > now + cfg.device_skew:
        raise Unprocessable(f"device_time is in the future (after {_iso(now + cfg.device_skew)})",
                            field="device_time", code="device_time_future")
    if at < job.created_at - cfg.device_skew:
        raise Unprocessable(f"device_time is before the job existed ({_iso(job.created_at)})", field="device_time",
                            code="device_time_before_job")
    floor = max(job.created_at, job.last_action_at)
    if at < floor - cfg.device_skew:
        raise Unprocessable(f"device_time is before the job's last recorded action ({_iso(job.last_action_at)})",
                            field="device_time", code="device_time_out_of_order")
    return max(at, floor)


async def perform_action(session: AsyncSession, cfg: DispatchConfig, *, job_id: str, engineer_id: str,
                         body: ActionIn, now: datetime) -> tuple[dict[str, Any], bool]:
    """Apply one app action; a repeated client_action_id returns the first result (replayed=True)."""
    check_action_body(body)
    job = await queries.lock_job(session, job_id)
    if job.engineer_id != engineer_id:
        raise NotFound(f"job {job_id} not found", field="job_id")  # other engineers' jobs are invisible
    prior = await session.scalar(select(JobAction).where(JobAction.client_action_id == body.client_action_id))
    if prior is not None:
        if prior.job_id != job_id or prior.action != body.action:
            raise Conflict("client_action_id already used for another action", field="client_action_id",
                           code="client_action_id_reused")
        return prior.result, True
    if not lifecycle.allowed(job.status, body.action):
        raise Conflict(f"cannot {body.action} a job that is {job.status}", field="action", code="job_state")
    at = check_device_time(body.device_time.astimezone(UTC), job, cfg, now)

    async def effect() -> Extras:
        return await ACTION_EFFECTS[body.action](session, job, body, at)

    await _apply(session, cfg, job, body.action, at=at, now=now, effect=effect)
    job.last_device_time, job.updated_at = at, now
    result = {"job_id": job.id, "action": body.action, "status": job.status, "at": _iso(at),
              "engineer_id": job.engineer_id}
    session.add(JobAction(id=str(new_id()), client_action_id=body.client_action_id, job_id=job.id,
                          engineer_id=engineer_id, action=body.action, device_time=at, received_at=now,
                          request=body.model_dump(mode="json"), result=result))
    await session.flush()
    return result, False


ActionEffect = Callable[[AsyncSession, Job, ActionIn, datetime], Awaitable[Extras]]


async def _accept(session: AsyncSession, job: Job, body: ActionIn, at: datetime) -> Extras:
    res = await session.execute(update(Offer).where(
        Offer.job_id == job.id, Offer.engineer_id == job.engineer_id, Offer.status == "pending")
        .values(status="accepted", decided_at=at))
    if res.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        raise Conflict("the offer is no longer open", field="action", code="offer_closed")
    job.responded_at = job.responded_at or at
    await record_milestone(session, job, "respond", at)
    return {}


async def _decline(session: AsyncSession, job: Job, body: ActionIn, at: datetime) -> Extras:
    await queries.close_offer(session, job, "declined", at, body.reason)
    return {ev.JobDeclined.TYPE: {"reason": body.reason}}


async def _depart(session: AsyncSession, job: Job, body: ActionIn, at: datetime) -> Extras:
    return {}


async def _arrive(session: AsyncSession, job: Job, body: ActionIn, at: datetime) -> Extras:
    job.arrived_at = at
    await record_milestone(session, job, "arrive", at)
    await session.execute(update(Engineer).where(Engineer.id == job.engineer_id)
                          .values(last_lat=body.lat, last_lon=body.lon, last_seen_at=at))
    metrics.TIME_TO_ARRIVE.labels(job.zone_class).observe((at - job.opened_at).total_seconds())
    return {ev.JobArrived.TYPE: {"lat": body.lat, "lon": body.lon}}


async def _pause(session: AsyncSession, job: Job, body: ActionIn, at: datetime) -> Extras:
    job.pauses = [*job.pauses, {"start": _iso(at), "end": None, "reason": body.reason, "resume_status": job.status}]
    job.paused_reason = body.reason
    await refresh_next_due(session, job, at)  # the SLA watcher's next alert waits for the resume
    return {ev.JobPaused.TYPE: {"reason": body.reason}}


async def _resume(session: AsyncSession, job: Job, body: ActionIn, at: datetime) -> Extras:
    await recompute_deadlines(session, job, at)  # the pause (ended by the move) moves the deadlines
    return {ev.JobResumed.TYPE: {"reason": body.reason}}


async def _lend_spare(session: AsyncSession, job: Job, body: ActionIn, at: datetime) -> Extras:
    """R-S6: a pool spare (``spare_id`` or ``spare_serial``) is lent to the job (``spares/service.lend``: never
    twice at once); the job keeps its serial and times as before, for readers of the job."""
    if job.spare_lent_at and not job.spare_collected_at:
        raise Conflict(f"spare unit {job.spare_serial} is already lent to this job",
                       field="spare_id" if body.spare_id else "spare_serial", code="spare_already_lent")
    spare = await spares.lend(session, job, spare_id=body.spare_id, serial=body.spare_serial, at=at, now=at)
    job.spare_serial, job.spare_lent_at, job.spare_collected_at = spare.serial, at, None
    due = (await session.execute(select(SpareUnit.due_back_at).where(SpareUnit.id == spare.id))).scalar_one()
    return {ev.SpareUnitLent.TYPE: {"reason": spare.serial, "spare_id": spare.id, "due_back_at": due}}


async def _collect_spare(session: AsyncSession, job: Job, body: ActionIn, at: datetime) -> Extras:
    """The job's spare comes back in ``spare_condition`` (default good): available again, in repair when faulty.
    A spare lent before the pool existed (free text on the job, no pool row) is still collected the old way."""
    if not job.spare_lent_at or job.spare_collected_at:
        raise Conflict("no spare unit is out", field="action", code="no_spare_lent")
    await spares.collect(session, job, condition=body.spare_condition or "good", at=at, now=at)
    job.spare_collected_at = at
    return {ev.SpareUnitCollected.TYPE: {"reason": job.spare_serial}}


async def _resolve(session: AsyncSession, job: Job, body: ActionIn, at: datetime) -> Extras:
    """complete / remote_resolve: the service record, the resolve milestone; the move frees the capacity."""
    remote = body.action == "remote_resolve"
    rec = body.record
    assert rec is not None  # check_action_body
    await spares.guard_close(session, job)  # R-S6: not while its spare is out (unless converted)
    await repairs.guard_paid_completion(session, job, remote=remote)  # R-W3/R-T3: paid work is quoted first
    job.resolved_at = at
    # the level it is learned at (plans/durations): the engineer's level in the job's skill now, not at learning
    job.completed_skill_level = level_of(await session.scalar(
        select(Engineer.skills).where(Engineer.id == job.engineer_id)), job.required_skill)
    if remote:
        job.responded_at = job.responded_at or at
    await record_milestone(session, job, "resolve", at)
    session.add(ServiceRecord(
        job_id=job.id, engineer_id=job.engineer_id, work_done=rec.work_done, root_cause=rec.root_cause,
        parts_used=[p.model_dump(mode="json") for p in rec.parts_used], labour_minutes=rec.labour_minutes,
        customer_name=rec.customer_name, signature_ref=rec.signature_ref, photos=list(rec.photos),
        remote=remote, completed_at=at))
    if not remote:  # the van's parts fitted on site leave its stock (a part shipped for the job is not the van's)
        used: dict[str, int] = {}
        for p in rec.parts_used:
            if p.reservation_id is None:
                used[p.part_no] = used.get(p.part_no, 0) + p.quantity
        await stock.draw_down_used(session, job_id=job.id, engineer_id=job.engineer_id, parts=used, now=at)
    diagnosis = await repairs.diagnosis_of(session, job.id)  # issue 15: the engineer's findings, if recorded
    metrics.TIME_TO_RESOLVE.labels(job.zone_class).observe((at - job.opened_at).total_seconds())
    metrics.FIRST_TIME_FIX.labels(str(not any(p["reason"] == "waiting_parts" for p in job.pauses)).lower()).inc()
    return {
        ev.JobRemoteResolved.TYPE: {"reason": "remote"},
        ev.JobCompleted.TYPE: dict(
            serial=job.serial, product_line=job.product_line, coverage=job.coverage, home_visit=not remote,
            remote=remote, work_done=rec.work_done,
            root_cause=rec.root_cause or (diagnosis.root_cause if diagnosis else None),
            parts_used=[p.model_dump() for p in rec.parts_used], labour_minutes=rec.labour_minutes,
            arrived_at=job.arrived_at, sla_met=dict(job.sla_met), zone_class=job.zone_class,
            contract_code=job.contract_code, **repairs.completion_extras(job, diagnosis)),
    }


ACTION_EFFECTS: dict[str, ActionEffect] = {
    "accept": _accept, "decline": _decline, "depart": _depart, "arrive": _arrive, "pause": _pause,
    "resume": _resume, "remote_resolve": _resolve, "lend_spare": _lend_spare, "collect_spare": _collect_spare,
    "complete": _resolve,
}
"""Each app action's own side effect; the status, capacity and events come from the lifecycle table."""


# --- reads ---------------------------------------------------------------------------------------

async def list_jobs(session: AsyncSession, *, visible: ColumnElement[bool], status: str | None,
                    engineer_id: str | None, ticket_id: str | None, limit: int, offset: int) -> Sequence[Job]:
    q = select(Job).where(visible).order_by(Job.opened_at.desc()).limit(limit).offset(offset)
    if status:
        q = q.where(Job.status == status)
    if engineer_id:
        q = q.where(Job.engineer_id == engineer_id)
    if ticket_id:
        q = q.where(Job.ticket_id == ticket_id)
    return (await session.scalars(q)).all()


async def engineer_jobs(session: AsyncSession, *, engineer_id: str, include_closed: bool) -> Sequence[Job]:
    """An engineer's jobs, most urgent first (open ones unless include_closed)."""
    q = select(Job).where(Job.engineer_id == engineer_id).order_by(Job.arrive_due)
    if not include_closed:
        q = q.where(Job.status.in_(OPEN_STATUSES))
    return (await session.scalars(q)).all()


async def waiting_jobs(session: AsyncSession, *, limit: int) -> Sequence[Job]:
    """Jobs waiting for an engineer, most urgent first."""
    return (await session.scalars(select(Job).where(Job.status == QUEUED).order_by(Job.arrive_due)
                                  .limit(limit))).all()


async def job_detail(session: AsyncSession, *, job_id: str,
                     visible: ColumnElement[bool]) -> tuple[Job, ServiceRecord | None]:
    job = await session.scalar(select(Job).where(Job.id == job_id, visible))
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    return job, await session.get(ServiceRecord, job.id)


async def close_declined(session: AsyncSession, job: Job, *, record: ServiceRecordIn, at: datetime,
                         now: datetime) -> None:
    """Issue 15: the customer declined the paid repair's quote — the locked job (on site) closes as completed
    without a repair: its service record says so and ``dispatch.job.completed`` carries ``outcome="quote_declined"``
    (ticketing closes the ticket with that outcome; settlement pays the dealer nothing for a paid job)."""
    body = ActionIn(client_action_id=f"quote-declined.{job.id}"[:64], device_time=at, action="complete", record=record)

    async def effect() -> Extras:
        extras = await _resolve(session, job, body, at)
        extras[ev.JobCompleted.TYPE]["outcome"] = "quote_declined"
        return extras

    await _apply(session, None, job, "complete", at=at, now=now, effect=effect)
