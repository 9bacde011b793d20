"""What a zone-day plan is made of (issue 14, item 1): job and engineer rows -> the routing core's ``Job`` and
``Engineer``, with every default in one place; the snapshot of those inputs a plan keeps (``plans.inputs``); and
a stored plan turned back into a core ``Plan`` so the core's ``verify`` can re-walk it.

A job's window for the start of service: ``earliest_start`` (a booked slot) or its opening, to the SLA arrive
deadline (R-S2..R-S4); a booked slot after the deadline keeps the slot (the window becomes the slot's instant).
Its service minutes: the job's own, else ``service_durations`` (product line x fault class, then the line's ""),
else ``DISPATCH_DEFAULT_SERVICE_MINUTES``; by the engineer's level in the job's required skill when a level has its
own value (``service_by_level``: the routing core then gives each engineer his own service time).
Its skills ``{skill: min_level}``: ``required_skills``, else ``{required_skill: 1}``. The cost of not serving it:
the job's ``unserved_cost``, else its SLA policy's; starting late costs 10 % of that (R-S9). A dispatcher's pin
binds it to an engineer; a job the engineer has started (en route, on site, paused) stays first on that engineer's
route and never moves.
An engineer's day: ``shift_start``..``shift_end`` (Asia/Shanghai) on the plan's date, from home; none on a day of
absence or, when weekday ``shifts`` are configured, on a weekday they do not name.
Tools (``plans.tools``): a job's required tools (its own, else its fault class's) must all be among the engineer's.
Parts (``plans.stock``): a job's expected parts come from its van; the zone's service centres with stock are
restock stops, where a van is topped up to what the largest single job of the day needs of each part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from aftersales_shared.clock import BUSINESS_TZ

from ..domain import routing as r
from ..domain.job_lifecycle import EN_ROUTE, ON_SITE, PAUSED

STARTED = (EN_ROUTE, ON_SITE, PAUSED)
"""Statuses in which the engineer has begun the job: it stays with that engineer, first on the route."""
LATE_SHARE = 0.1  # R-S9: serving late costs 10 % of the cost of not serving
DEFAULT_UNSERVED_COST = 500.0


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), BUSINESS_TZ)
    return start, start + timedelta(days=1)


def at_time(day: date, t: time) -> datetime:
    return datetime.combine(day, t, BUSINESS_TZ)


def required_skills(job: Any) -> dict[str, int]:
    return {k: int(v) for k, v in (job.required_skills or {}).items()} or {job.required_skill: 1}


def service_minutes(job: Any, durations: dict[tuple[str, str, int], int], default: int, level: int = 0) -> int:
    """The job's own minutes, else the first of (line, fault class, level), (line, fault class, any level),
    (line, any fault class, level), (line, any, any) that ``durations`` (``plans.durations.effective``) holds,
    else ``default``."""
    if job.service_minutes is not None:
        return int(job.service_minutes)
    for fc in dict.fromkeys((job.fault_class or "", "")):
        for lvl in dict.fromkeys((level, 0)):
            got = durations.get((job.product_line, fc, lvl))
            if got is not None:
                return got
    return default


_LEVELS_OF: tuple[object, dict[str, tuple[int, ...]]] = (None, {})


def _levels_of(durations: dict[tuple[str, str, int], int]) -> dict[str, tuple[int, ...]]:
    """product line -> the levels it has rows for; kept for the last table (the live path's cached one), so a
    decision over ~100 held jobs of lines without level rows costs one lookup each."""
    global _LEVELS_OF
    held, got = _LEVELS_OF
    if held is not durations:
        levels: dict[str, set[int]] = {}
        for line, _, lvl in durations:
            if lvl:
                levels.setdefault(line, set()).add(lvl)
        got = {line: tuple(sorted(v)) for line, v in levels.items()}
        _LEVELS_OF = (durations, got)
    return got


def service_by_level(job: Any, durations: dict[tuple[str, str, int], int], default: int) -> dict[int, int]:
    """The levels whose minutes differ from the level-less :func:`service_minutes` (the job's own minutes: none)."""
    if job.service_minutes is not None:
        return {}
    levels = _levels_of(durations).get(job.product_line)
    if not levels:
        return {}
    base = service_minutes(job, durations, default)
    out = {}
    for lvl in levels:
        m = service_minutes(job, durations, default, lvl)
        if m != base:
            out[lvl] = m
    return out


def window(job: Any, day_end: datetime) -> tuple[datetime, datetime]:
    earliest = job.earliest_start or job.opened_at
    latest = job.booked_end or job.arrive_due or day_end  # a booked slot's end is the latest start
    return earliest, max(latest, earliest)


def job_input(job: Any, *, minutes: int, unserved_cost: float, day_end: datetime,
              parts: dict[str, int] | None = None, tools: frozenset[str] = frozenset(), urgent: bool = False,
              by_level: dict[int, int] | None = None) -> r.Job:
    earliest, latest = window(job, day_end)
    started = job.status in STARTED and job.engineer_id is not None
    return r.Job(
        id=job.id, location=(float(job.lat or 0.0), float(job.lon or 0.0)), earliest=earliest, latest=latest,
        service_minutes=float(minutes), skills=required_skills(job), tools=tools, parts=parts or {},
        penalty=unserved_cost,
        late_penalty=unserved_cost * LATE_SHARE,
        pinned_to=job.engineer_id if started else job.pinned_engineer_id, started=started,
        started_at=(job.arrived_at or job.last_action_at) if started else None, urgent=urgent,
        service_by_level={k: float(v) for k, v in (by_level or {}).items()},
        level_skill=job.required_skill if by_level else None,
    )


def works_on(e: Any, day: date) -> bool:
    """Off on a day of absence, and on weekdays the configured weekly shifts leave out."""
    for a in e.absences or []:
        if date.fromisoformat(a["from"]) <= day <= date.fromisoformat(a["to"]):
            return False
    return not e.shifts or any(int(s["weekday"]) == day.weekday() for s in e.shifts)


def engineer_input(e: Any, day: date, *, van_stock: dict[str, int] | None = None,
                   restock_to: dict[str, int] | None = None, start: r.Point | None = None,
                   end: r.Point | None = None) -> r.Engineer:
    """The engineer's day for the routing core: from ``start`` (default home) back to ``end`` (default start)."""
    return r.Engineer(id=e.id, start=start or (e.home_lat, e.home_lon), shift_start=at_time(day, e.shift_start),
                      shift_end=at_time(day, e.shift_end), skills={k: int(v) for k, v in e.skills.items()},
                      tools=frozenset(e.tools or ()), van_stock=van_stock or {}, restock_to=restock_to or {},
                      end=end)


# --- the snapshot a plan keeps --------------------------------------------------------------------

@dataclass
class Inputs:
    epoch: datetime
    jobs: list[r.Job]
    engineers: list[r.Engineer]
    travel: r.HaversineTravel
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (job id, reason, detail): not plannable
    centres: list[r.ServiceCentre] = field(default_factory=list)  # restock stops of the zone, with their stock


def snapshot(inp: Inputs) -> dict[str, Any]:
    return {
        "epoch": inp.epoch.isoformat(),
        "travel": {"speed_kmh": inp.travel.speed_kmh, "road_factor": inp.travel.road_factor},
        "jobs": [{"id": j.id, "location": list(j.location), "earliest": j.earliest.isoformat(),
                  "latest": j.latest.isoformat(), "service_minutes": j.service_minutes, "skills": dict(j.skills),
                  "penalty": j.penalty, "late_penalty": j.late_penalty, "pinned_to": j.pinned_to,
                  "started": j.started, "started_at": j.started_at.isoformat() if j.started_at else None,
                  "parts": dict(j.parts), "tools": sorted(j.tools),
                  "service_by_level": {str(k): v for k, v in j.service_by_level.items()}, "level_skill": j.level_skill}
                 for j in inp.jobs],
        "engineers": [{"id": e.id, "start": list(e.start), "shift_start": e.shift_start.isoformat(),
                       "shift_end": e.shift_end.isoformat(), "skills": dict(e.skills), "tools": sorted(e.tools),
                       "van_stock": dict(e.van_stock), "restock_to": dict(e.restock_to)} for e in inp.engineers],
        "centres": [{"id": c.id, "location": list(c.location), "stock": dict(c.stock),
                     "service_minutes": c.service_minutes} for c in inp.centres],
        "skipped": [list(s) for s in inp.skipped],
    }


def from_snapshot(d: dict[str, Any]) -> Inputs:
    def dt(s: str | None) -> datetime | None:
        return datetime.fromisoformat(s) if s else None

    jobs = [r.Job(id=j["id"], location=(j["location"][0], j["location"][1]),
                  earliest=datetime.fromisoformat(j["earliest"]), latest=datetime.fromisoformat(j["latest"]),
                  service_minutes=j["service_minutes"], skills=j["skills"], penalty=j["penalty"],
                  late_penalty=j["late_penalty"], pinned_to=j["pinned_to"], started=j["started"],
                  started_at=dt(j["started_at"]), parts=j.get("parts", {}), tools=frozenset(j.get("tools", ())),
                  service_by_level={int(k): v for k, v in j.get("service_by_level", {}).items()},
                  level_skill=j.get("level_skill"))
            for j in d["jobs"]]
    engineers = [r.Engineer(id=e["id"], start=(e["start"][0], e["start"][1]),
                            shift_start=datetime.fromisoformat(e["shift_start"]),
                            shift_end=datetime.fromisoformat(e["shift_end"]), skills=e["skills"],
                            tools=frozenset(e.get("tools", ())),
                            van_stock=e.get("van_stock", {}), restock_to=e.get("restock_to", {}))
                 for e in d["engineers"]]
    centres = [r.ServiceCentre(c["id"], (c["location"][0], c["location"][1]), stock=c["stock"],
                               service_minutes=c["service_minutes"]) for c in d.get("centres", [])]
    return Inputs(datetime.fromisoformat(d["epoch"]), jobs, engineers, r.HaversineTravel(**d["travel"]),
                  [(s[0], s[1], s[2]) for s in d.get("skipped", [])], centres)


@dataclass(frozen=True)
class StoredStop:
    job_id: str
    engineer_id: str
    position: int
    planned_arrival: datetime
    planned_start: datetime
    planned_end: datetime
    window_start: datetime
    window_end: datetime
    started: bool


@dataclass(frozen=True)
class StoredRestock:
    centre_id: str
    engineer_id: str
    position: int
    planned_arrival: datetime
    planned_start: datetime
    planned_end: datetime
    parts: dict[str, int] = field(default_factory=dict)  # what the stop takes from the centre (dispatch_0017)


@dataclass(frozen=True)
class StoredRoute:
    engineer_id: str
    depart_at: datetime
    return_at: datetime


def stored_plan(inp: Inputs, routes: list[StoredRoute], stops: list[StoredStop],
                unplanned: list[tuple[str, str]], restocks: Sequence[StoredRestock] = ()) -> r.Plan:
    """A stored plan as the core's ``Plan``: every time and the window each stop claims come from the tables,
    so ``verify`` checks what was stored (and published) against the jobs' real windows (and, with the restock
    stops, the van's stock stop by stop)."""
    epoch = inp.epoch

    def s(t: datetime) -> int:
        return int((t - epoch).total_seconds())

    jobs = {j.id: j for j in inp.jobs}
    engineers = {e.id: e for e in inp.engineers}
    centres = {c.id: c for c in inp.centres}
    out = []
    for rt in routes:
        e = engineers[rt.engineer_id]
        mine: list[StoredStop | StoredRestock] = [x for x in stops if x.engineer_id == rt.engineer_id]
        mine += [x for x in restocks if x.engineer_id == rt.engineer_id]
        mine.sort(key=lambda x: x.position)
        core_stops = tuple(r.Stop(
            job_id=x.job_id, location=jobs[x.job_id].location, arrival_s=s(x.planned_arrival),
            start_s=s(x.planned_start), end_s=s(x.planned_end), earliest_s=s(x.window_start),
            latest_s=s(x.window_end), leg_distance=0, leg_s=0, parts=dict(jobs[x.job_id].parts),
            late_allowed=jobs[x.job_id].late_penalty is not None, started=x.started)
            if isinstance(x, StoredStop) else r.Stop(
            job_id=r.RESTOCK_PREFIX + x.centre_id, location=centres[x.centre_id].location,
            arrival_s=s(x.planned_arrival), start_s=s(x.planned_start), end_s=s(x.planned_end), earliest_s=0,
            latest_s=s(e.shift_end), leg_distance=0, leg_s=0, pinned=True, restock=x.centre_id,
            parts=dict(x.parts))
            for x in mine)
        shift_end = s(e.shift_end)
        out.append(r.Route(e.id, e.start, e.end_point, s(rt.depart_at), core_stops, 0, s(rt.return_at), 0,
                           s(e.shift_start), shift_end, shift_end))
    reasons = {x.value for x in r.UnplannedReason}
    gone = [r.Unplanned(job_id, r.UnplannedReason(reason)) for job_id, reason in unplanned if reason in reasons]
    return r.Plan(epoch, tuple(out), tuple(gone), inp.travel)
