"""Appointment slots (issue 14): the slots a customer may book are the ones the plan can keep.

``slots``: over the next ``cfg.slot_days`` business days (China's statutory calendar, 调休 included), slots of
``cfg.slot_length`` from ``slot_day_start`` to ``slot_day_end`` (Asia/Shanghai), starting at least ``slot_lead``
from now; each offered only if a trial insertion (``routing_insert.insert_job``, the job's window = the slot,
never late) fits it into some qualified engineer's sequence of that day without breaking a promised window.
``book``: a slot offered right now (recomputed, so a tampered or stale one is a 409 naming ``start``) becomes
the job's window (``earliest_start`` .. ``booked_end``); the job is re-inserted (possibly with another
engineer) and ``dispatch.job.eta_changed`` says ``rescheduled``. A started or closed job cannot be rebooked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.clock import BUSINESS_TZ, business_date
from aftersales_shared.errors import Conflict

from ..config import DispatchConfig
from ..domain import routing
from ..domain.calendar import BusinessCalendar
from ..domain.job_lifecycle import TERMINAL
from ..models import Job
from ..plans.inputs import STARTED
from ..plans.tools import required_tools
from . import live, queries
from .service import place

BUSINESS_DAYS = BusinessCalendar(code="appointments", intervals=((0, 1440),))
"""Which days are business days for appointments: Monday-Friday, statutory holidays and 调休 applied."""


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    label: str


def _check_bookable(job: Job) -> None:
    if job.status in TERMINAL or job.status in STARTED:
        raise Conflict(f"job is {job.status}; its appointment can no longer change", field="status",
                       code="job_state")
    if job.lat is None or job.lon is None:
        raise Conflict("the job has no coordinates: no route can promise a slot", field="job_id",
                       code="job_not_routable")


def _days(cfg: DispatchConfig, now: datetime) -> list[date]:
    out: list[date] = []
    d = business_date(now)
    while len(out) < cfg.slot_days and d < business_date(now) + timedelta(days=cfg.slot_days * 3 + 14):
        if BUSINESS_DAYS.is_working_day(d):
            out.append(d)
        d += timedelta(days=1)
    return out


def _label(start: datetime, end: datetime) -> str:
    a, b = start.astimezone(BUSINESS_TZ), end.astimezone(BUSINESS_TZ)
    half = "上午" if a.hour < 12 else "下午"
    return f"{a:%Y-%m-%d} {half} {a:%H:%M}-{b:%H:%M}"


async def slots(session: AsyncSession, cfg: DispatchConfig, job: Job, now: datetime) -> list[Slot]:
    """The slots the plan can keep for this job, earliest first."""
    _check_bookable(job)
    ref = await live.reference(session, cfg)
    near, held = await live.read_candidates(session, job, limit=cfg.live_candidates,
                                            tools=required_tools(job, ref.tools)[0])
    out: list[Slot] = []
    for d in _days(cfg, now):
        day = live.build_day(cfg, job, now, engineers=near, held_rows=held, ref=ref, day=d)
        if not day.engineers:
            continue
        start = datetime.combine(d, cfg.slot_day_start, BUSINESS_TZ)
        close = datetime.combine(d, cfg.slot_day_end, BUSINESS_TZ)
        while start + cfg.slot_length <= close:
            end = start + cfg.slot_length
            if start >= now + cfg.slot_lead:
                # a slot is offered on time and skills; parts (vans, restock stops) are settled when it is placed
                trial = live.core_job(job, cfg, ref, window=(start, end), parts=False)
                res = routing.insert_job(day.plan, trial, day.engineers, now, max_candidates=cfg.live_candidates,
                                         allow_displace=False)
                if res.insertion is not None and res.insertion.lateness_s == 0:
                    out.append(Slot(start, end, _label(start, end)))
            start = end
    return out


async def book(session: AsyncSession, cfg: DispatchConfig, *, job_id: str, start: datetime, end: datetime,
               now: datetime) -> Job:
    """Book an offered slot: the job's window becomes the slot, the job is re-inserted, ETA ``rescheduled``."""
    job = await queries.lock_job(session, job_id)
    _check_bookable(job)
    offered = await slots(session, cfg, job, now)
    if not any(s.start == start and s.end == end for s in offered):
        raise Conflict("this slot is not offered for the job (GET /v1/jobs/{job_id}/slots)", field="start",
                       code="slot_not_offered")
    job.earliest_start, job.booked_end, job.updated_at = start, end, now
    ins = await place(session, cfg, job, now, reason="rescheduled")
    if ins is None or ins.lateness_s > 0:
        raise Conflict("the slot can no longer be kept (the routes changed)", field="start", code="slot_not_offered")
    return job  # place() emitted eta_changed (rescheduled) with the previous arrival
