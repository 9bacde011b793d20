"""What a plan is made of (issue 14): jobs, engineers, options in; routes, stops, unplanned jobs, totals out.

Times inside a plan are whole seconds from ``Plan.epoch`` (the ``now`` the plan was made at): PyVRP wants
integers, and integer seconds make "window met" exact. ``Plan.time(s)`` turns them back into datetimes.
A job's window is converted conservatively: earliest rounds up, latest rounds down, so a stop reported on time
is on time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any

from .routing_travel import Point, TravelModel


class UnplannedReason(StrEnum):
    NO_QUALIFIED_ENGINEER = "no_qualified_engineer"  # skills/levels, tools, parts or pin: nobody may do it
    ENGINEER_UNAVAILABLE = "engineer_unavailable"  # pinned / started with an engineer who is not on shift
    CANNOT_FIT_WINDOW = "cannot_fit_window"  # no qualified engineer reaches it in its window within the shift
    DROPPED_UNDER_CAPACITY = "dropped_under_capacity"  # feasible alone, dropped as the cheapest work to leave
    PARTS_UNAVAILABLE = "parts_unavailable"  # its parts are taken by other routes of the plan at every centre


@dataclass(frozen=True)
class Job:
    """One field job of a zone-day. ``latest`` is the latest START of service (the SLA arrive deadline)."""

    id: str
    location: Point
    earliest: datetime
    latest: datetime
    service_minutes: float
    skills: Mapping[str, int] = field(default_factory=dict)  # {skill: min_level}
    tools: frozenset[str] = frozenset()
    parts: Mapping[str, int] = field(default_factory=dict)  # expected parts {sku: qty}, taken from van stock
    volume: int = 0  # parts volume (Solomon "demand") against the van capacity
    penalty: float | None = 1000.0  # cost of not serving it; None = must be served
    late_penalty: float | None = None  # flat cost of starting after ``latest`` (R-S9: 10 %); None = never late
    pinned_to: str | None = None  # a dispatcher's pin, or the engineer of a started job
    started: bool = False  # in progress: stays first with ``pinned_to``, never moves
    started_at: datetime | None = None
    urgent: bool = False  # R-S2 2 h in-zone: insertion may displace a movable job for it
    # service minutes by the engineer's level in ``level_skill`` (issue 14: a senior engineer is faster); a level
    # not named here, or an engineer without the skill, takes ``service_minutes``
    service_by_level: Mapping[int, float] = field(default_factory=dict)
    level_skill: str | None = None

    def __post_init__(self) -> None:
        if self.latest < self.earliest:
            raise ValueError(f"job {self.id}: latest before earliest")
        if self.service_minutes < 0 or self.volume < 0 or any(m < 0 for m in self.service_by_level.values()):
            raise ValueError(f"job {self.id}: negative service time or volume")
        if self.started and self.pinned_to is None:
            raise ValueError(f"job {self.id}: a started job names its engineer in pinned_to")

    @property
    def service_s(self) -> int:
        """The service seconds without an engineer (no level): the fallback of :meth:`service_s_for`."""
        return int(round(self.service_minutes * 60))

    @cached_property
    def service_rule(self) -> ServiceByLevel | None:
        """How the service time depends on the engineer; None: it does not (kept: a live decision asks it of
        each held job on every candidate's route)."""
        if self.level_skill is None or not self.service_by_level:
            return None
        return ServiceByLevel(self.level_skill, self.service_s, tuple(sorted(
            (int(lvl), int(round(m * 60))) for lvl, m in self.service_by_level.items())))

    def service_s_for(self, engineer: Engineer | None) -> int:
        """The service seconds when ``engineer`` does the job (his level in ``level_skill``)."""
        rule = self.service_rule
        return self.service_s if rule is None or engineer is None else rule.seconds_for(engineer)

    @property
    def fastest_service_s(self) -> int:
        """The shortest service time any engineer may take (a lower bound for pre-filters)."""
        rule = self.service_rule
        return self.service_s if rule is None else min([rule.base_s, *(s for _, s in rule.by_level)])


@dataclass(frozen=True)
class ServiceByLevel:
    """A job's service seconds by the engineer's level in one skill (``base_s`` for a level not listed)."""

    skill: str
    base_s: int
    by_level: tuple[tuple[int, int], ...]  # (level, seconds), sorted

    def seconds_for(self, engineer: Engineer) -> int:
        level = engineer.skills.get(self.skill)
        return next((s for lvl, s in self.by_level if lvl == level), self.base_s)


@dataclass(frozen=True)
class Engineer:
    """One engineer's day: start/end location (home or service centre), shift, latest return, skills, van."""

    id: str
    start: Point
    shift_start: datetime
    shift_end: datetime  # latest return (plus max_overtime_minutes at a cost)
    skills: Mapping[str, int] = field(default_factory=dict)  # {skill: level}
    tools: frozenset[str] = frozenset()
    van_stock: Mapping[str, int] = field(default_factory=dict)
    van_capacity: int | None = None
    end: Point | None = None  # None: back to start
    max_overtime_minutes: float = 0.0
    # at a restock stop (a service centre) the van is topped up to this level per part (at least its start stock)
    restock_to: Mapping[str, int] = field(default_factory=dict)

    @property
    def end_point(self) -> Point:
        return self.end if self.end is not None else self.start

    def van_level(self, part: str) -> int:
        """What the van holds of a part after a restock stop: its start stock or ``restock_to``, the larger."""
        return max(self.van_stock.get(part, 0), self.restock_to.get(part, 0))

    def qualifies(self, job: Job, *, restock: bool = False) -> bool:
        """Skills at level, tools, parts in stock (per job) and pin: may this engineer do the job at all?
        With ``restock`` (a service centre the route may stop at), parts count up to the restocked level."""
        if job.pinned_to is not None and job.pinned_to != self.id:
            return False
        if any(self.skills.get(s, 0) < lvl for s, lvl in job.skills.items()):
            return False
        if not job.tools <= self.tools:
            return False
        have = self.van_level if restock else (lambda p: self.van_stock.get(p, 0))
        if any(have(p) < q for p, q in job.parts.items()):
            return False
        return not (self.van_capacity is not None and job.volume > self.van_capacity)


@dataclass(frozen=True)
class ServiceCentre:
    """A service centre with stock where a route may stop to restock (PyVRP reload depot, issue 14 item 1)."""

    id: str
    location: Point
    stock: Mapping[str, int] = field(default_factory=dict)
    service_minutes: float = 15.0  # loading time at the counter

    @property
    def service_s(self) -> int:
        return int(round(self.service_minutes * 60))

    def can_restock(self, engineer: Engineer, parts: Sequence[str]) -> bool:
        """A stop here tops the van up to ``engineer.van_level`` of every part: the centre must hold that much."""
        return any(engineer.van_level(p) > 0 for p in parts) and all(
            self.stock.get(p, 0) >= engineer.van_level(p) for p in parts)


RESTOCK_PREFIX = "restock:"  # a restock stop's job_id: "restock:<centre id>"


@dataclass(frozen=True)
class PlanOptions:
    time_limit_s: float = 10.0
    seed: int = 0
    max_iterations: int | None = None  # deterministic stop (tests); the time limit still applies
    travel_cost_per_km: float = 1.0  # money per km: converts penalties into distance units
    overtime_cost_per_hour: float = 0.0
    engineer_fixed_cost: float = 0.0  # cost of using one more engineer (0: only distance counts)


@dataclass(frozen=True)
class Stop:
    job_id: str
    location: Point
    arrival_s: int
    start_s: int
    end_s: int
    earliest_s: int
    latest_s: int
    leg_distance: int  # from the previous point (route start for the first stop)
    leg_s: int
    late_allowed: bool = False
    started: bool = False
    pinned: bool = False
    volume: int = 0
    parts: Mapping[str, int] = field(default_factory=dict)
    skills: Mapping[str, int] = field(default_factory=dict)
    tools: frozenset[str] = frozenset()
    restock: str | None = None  # a stop at this service centre to restock (job_id "restock:<id>"), not a job
    service_rule: ServiceByLevel | None = None  # the job's service by level (end - start is this engineer's)
    # at a restock stop ``parts`` is what it takes from the centre (empty: tops the van up to ``van_level``)

    @property
    def lateness_s(self) -> int:
        return max(0, self.start_s - self.latest_s)

    @property
    def on_time(self) -> bool:
        return self.earliest_s <= self.start_s <= self.latest_s


@dataclass(frozen=True)
class Route:
    engineer_id: str
    start_location: Point
    end_location: Point
    depart_s: int  # leaves the start location (or finishes the started job)
    stops: tuple[Stop, ...]
    return_distance: int
    return_s: int  # back at the end location
    return_leg_s: int
    shift_start_s: int
    shift_end_s: int
    max_end_s: int  # shift end + allowed overtime
    ready_s: int = 0  # earliest departure (shift start, now, or end of the started job); depart_s >= ready_s

    @property
    def distance(self) -> int:
        return sum(s.leg_distance for s in self.stops) + self.return_distance

    @property
    def travel_s(self) -> int:
        return sum(s.leg_s for s in self.stops) + self.return_leg_s

    @property
    def lateness_s(self) -> int:
        return sum(s.lateness_s for s in self.stops)

    @property
    def overtime_s(self) -> int:
        return max(0, self.return_s - self.shift_end_s) if self.stops else 0

    @property
    def job_ids(self) -> tuple[str, ...]:
        return tuple(s.job_id for s in self.stops)


@dataclass(frozen=True)
class Unplanned:
    job_id: str
    reason: UnplannedReason
    detail: str = ""
    penalty: float | None = None


@dataclass(frozen=True)
class Totals:
    distance: int
    travel_s: int
    duration_s: int  # sum over used routes of return - depart
    lateness_s: int
    late_jobs: int
    engineers_used: int
    overtime_s: int
    planned_jobs: int
    unplanned_jobs: int
    unplanned_penalty: float


@dataclass(frozen=True)
class SolverInfo:
    backend: str = "pyvrp"
    objective: int = 0
    feasible: bool = True
    iterations: int = 0
    runtime_s: float = 0.0
    build_s: float = 0.0
    profiles: int = 0
    vehicle_types: int = 0


@dataclass(frozen=True, eq=False)
class Plan:
    epoch: datetime
    routes: tuple[Route, ...]
    unplanned: tuple[Unplanned, ...]
    travel: TravelModel = field(repr=False)
    solver: SolverInfo = field(default_factory=SolverInfo)

    def time(self, seconds: int) -> datetime:
        return self.epoch + timedelta(seconds=seconds)

    def seconds(self, when: datetime, *, up: bool = False) -> int:
        s = (when - self.epoch).total_seconds()
        return math.ceil(s) if up else math.floor(s)

    def route_of(self, engineer_id: str) -> Route | None:
        return next((r for r in self.routes if r.engineer_id == engineer_id), None)

    @property
    def totals(self) -> Totals:
        used = [r for r in self.routes if r.stops]
        return Totals(
            distance=sum(r.distance for r in used),
            travel_s=sum(r.travel_s for r in used),
            duration_s=sum(r.return_s - r.depart_s for r in used),
            lateness_s=sum(r.lateness_s for r in used),
            late_jobs=sum(1 for r in used for s in r.stops if s.lateness_s > 0),
            engineers_used=len(used),
            overtime_s=sum(r.overtime_s for r in used),
            planned_jobs=sum(1 for r in used for s in r.stops if s.restock is None),
            unplanned_jobs=len(self.unplanned),
            unplanned_penalty=sum(u.penalty or 0.0 for u in self.unplanned),
        )


def to_seconds(epoch: datetime, when: datetime, *, up: bool) -> int:
    s = (when - epoch).total_seconds()
    return math.ceil(s) if up else math.floor(s)


@dataclass(frozen=True)
class RouteFrame:
    """An engineer's frame for a day: where and when the route may start, end, and must be back."""

    engineer_id: str
    start_location: Point
    end_location: Point
    depart_s: int  # earliest departure (shift start, now, or the end of the started job)
    shift_start_s: int
    shift_end_s: int
    max_end_s: int


def stop_for(job: Job, epoch: datetime, *, earliest_floor: int = 0, engineer: Engineer | None = None) -> Stop:
    """A not-yet-scheduled stop carrying the job's window in plan seconds (earliest up, latest down) and its
    service time when ``engineer`` does it (``end_s - start_s``; no engineer: the level-less time). The stop shares
    the job's (never mutated) parts and skills."""
    rule = job.service_rule
    service = job.service_s if rule is None or engineer is None else rule.seconds_for(engineer)
    e = max(to_seconds(epoch, job.earliest, up=True), earliest_floor)
    return Stop(job.id, job.location, 0, 0, service, e, to_seconds(epoch, job.latest, up=False), 0, 0,
                job.late_penalty is not None, job.started, job.pinned_to is not None, job.volume, job.parts,
                job.skills, job.tools, None, rule)


def for_engineer(stop: Stop, engineer: Engineer) -> Stop:
    """A not-yet-scheduled stop with the service time of ``engineer`` (a level-dependent job moved to him)."""
    if stop.service_rule is None:
        return stop
    return replace(stop, end_s=stop.start_s + stop.service_rule.seconds_for(engineer))


def restock_stop(centre: ServiceCentre, horizon_s: int) -> Stop:
    """A not-yet-scheduled stop at a service centre (no window of its own; pinned: insertion never moves it)."""
    return Stop(job_id=RESTOCK_PREFIX + centre.id, location=centre.location, arrival_s=0, start_s=0,
                end_s=centre.service_s, earliest_s=0, latest_s=horizon_s, leg_distance=0, leg_s=0, pinned=True,
                restock=centre.id)


def schedule(frame: RouteFrame, stops: list[Stop], travel: TravelModel, *, now_s: int = 0,
             just_in_time: bool = True, legs: tuple[Sequence[int], Sequence[int]] | None = None) -> Route:
    """Lay ``stops`` in order on the frame: drive, wait for the earliest start, serve; times recomputed.

    A started stop (first, in progress) keeps its start and ends at ``max(now, start + service)``; the route then
    continues from its location. With ``just_in_time`` the engineer leaves for the first (not started) stop as
    late as still gives the same start, instead of waiting on site.
    """
    from .routing_travel import as_points

    dist: Any
    dur: Any
    if legs is None:
        pts = [frame.start_location] + [s.location for s in stops] + [frame.end_location]
        dist, dur = travel.legs(as_points(pts[:-1]), as_points(pts[1:]))
    else:  # the same legs computed by the caller (several routes in one vectorised call: ``route_legs``)
        dist, dur = legs
    out: list[Stop] = []
    t = frame.depart_s
    depart = frame.depart_s
    for i, s in enumerate(stops):
        service = s.end_s - s.start_s
        if i == 0 and s.started:
            end = max(now_s, s.start_s + service)
            out.append(_laid(s, s.start_s, s.start_s, end, 0, 0))
            depart = min(depart, s.start_s)
            t = end
            continue
        arrival = t + int(dur[i])
        start = max(arrival, s.earliest_s)
        if i == 0 and just_in_time and start - int(dur[i]) > t:
            depart = t = start - int(dur[i])
            arrival = start
        out.append(_laid(s, arrival, start, start + service, int(dist[i]), int(dur[i])))
        t = start + service
    if not stops:
        return Route(frame.engineer_id, frame.start_location, frame.end_location, frame.depart_s, (), 0,
                     frame.depart_s, 0, frame.shift_start_s, frame.shift_end_s, frame.max_end_s, frame.depart_s)
    return Route(frame.engineer_id, frame.start_location, frame.end_location, depart, tuple(out), int(dist[-1]),
                 t + int(dur[-1]), int(dur[-1]), frame.shift_start_s, frame.shift_end_s, frame.max_end_s,
                 frame.depart_s)


def _laid(s: Stop, arrival_s: int, start_s: int, end_s: int, leg_distance: int, leg_s: int) -> Stop:
    """``s`` with its times and leg: a copy of its fields with five replaced, without ``dataclasses.replace``'s
    per-field keyword round (``schedule`` lays every stop of every candidate route in each live decision)."""
    new = object.__new__(Stop)
    d = new.__dict__
    d.update(s.__dict__)
    d["arrival_s"], d["start_s"], d["end_s"], d["leg_distance"], d["leg_s"] = (
        arrival_s, start_s, end_s, leg_distance, leg_s)
    return new


def route_legs(travel: TravelModel, routes: Sequence[tuple[RouteFrame, Sequence[Stop]]]
               ) -> list[tuple[Sequence[int], Sequence[int]]]:
    """The legs of several routes (start, stops, end) in ONE vectorised call: ``schedule(..., legs=)`` of each."""
    from .routing_travel import as_points

    a: list[Point] = []
    b: list[Point] = []
    bounds = []
    for frame, stops in routes:
        pts = [frame.start_location] + [s.location for s in stops] + [frame.end_location]
        bounds.append((len(a), len(a) + len(pts) - 1))
        a += pts[:-1]
        b += pts[1:]
    if not a:
        return []
    dist, dur = travel.legs(as_points(a), as_points(b))
    dl, tl = dist.tolist(), dur.tolist()
    return [(dl[i:j], tl[i:j]) for i, j in bounds]


def frame_of(route: Route) -> RouteFrame:
    return RouteFrame(route.engineer_id, route.start_location, route.end_location, route.ready_s,
                      route.shift_start_s, route.shift_end_s, route.max_end_s)
