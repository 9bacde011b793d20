"""Assignment scoring: who can take a job (feasibility) and who should (ranking)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from .calendar import DEFAULT_TZ, require_aware

EARTH_RADIUS_KM = 6371.0088
DEFAULT_SPEEDS_KMH: Mapping[str, float] = {"in_zone": 30.0, "urban": 35.0, "county": 50.0, "remote": 60.0}


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


class TravelTimeEstimator(Protocol):
    """Anything that can estimate driving time; a routing engine can replace the haversine one."""

    def estimate(self, origin: tuple[float, float], dest: tuple[float, float], zone_class: str) -> timedelta: ...


@dataclass(frozen=True)
class HaversineEstimator:
    """Straight-line distance x road factor / typical speed for the destination's zone class."""

    road_factor: float = 1.3
    speeds_kmh: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEEDS_KMH))
    default_speed_kmh: float = 40.0

    def estimate(self, origin: tuple[float, float], dest: tuple[float, float], zone_class: str) -> timedelta:
        km = haversine_km(origin, dest) * self.road_factor
        speed = self.speeds_kmh.get(zone_class, self.default_speed_kmh)
        return timedelta(hours=km / speed)


@dataclass(frozen=True)
class Shift:
    weekday: int  # 0 = Monday
    start_min: int
    end_min: int  # may exceed 1440 for a night shift ending the next day


@dataclass(frozen=True)
class EngineerState:
    engineer_id: str
    skills: Mapping[str, int]  # product line / skill -> level
    zones: frozenset[str]  # region codes served
    location: tuple[float, float]  # last known location, else home base
    active_jobs: int
    max_jobs: int
    shifts: tuple[Shift, ...] = ()  # empty: always on shift
    absences: tuple[tuple[date, date], ...] = ()  # inclusive date ranges
    dealer_id: str | None = None
    tz: str = DEFAULT_TZ

    def on_shift(self, now: datetime) -> bool:
        local = require_aware(now).astimezone(ZoneInfo(self.tz))
        if any(a <= local.date() <= b for a, b in self.absences):
            return False
        if not self.shifts:
            return True
        minute = local.hour * 60 + local.minute
        for s in self.shifts:
            if s.weekday == local.weekday() and s.start_min <= minute < s.end_min:
                return True
            # a shift spilling past midnight covers the early hours of the next day
            if s.end_min > 1440 and (s.weekday + 1) % 7 == local.weekday() and minute < s.end_min - 1440:
                return True
        return False


@dataclass(frozen=True)
class JobNeed:
    job_id: str
    skill: str
    region_code: str
    zone_class: str
    location: tuple[float, float]
    arrive_by: datetime
    min_level: int = 1


@dataclass(frozen=True)
class Candidate:
    engineer_id: str
    travel: timedelta
    eta: datetime
    lateness: timedelta
    load: float

    @property
    def sort_key(self) -> tuple[float, float, float, str]:
        return (self.lateness.total_seconds(), self.travel.total_seconds(), self.load, self.engineer_id)


def infeasibility(eng: EngineerState, job: JobNeed, now: datetime) -> str | None:
    """Why an engineer cannot take the job (ignoring travel), or None."""
    if eng.skills.get(job.skill, 0) < job.min_level:
        return "skill"
    if job.region_code not in eng.zones:
        return "zone"
    if eng.active_jobs >= eng.max_jobs:
        return "capacity"
    if not eng.on_shift(now):
        return "shift"
    return None


def rank(
    job: JobNeed, engineers: Iterable[EngineerState], estimator: TravelTimeEstimator, now: datetime,
    *, max_lateness: timedelta = timedelta(0), exclude: Sequence[str] = (),
) -> list[Candidate]:
    """Feasible engineers, best first: least expected lateness, then least travel, then least load.

    An engineer is feasible when skilled, serving the zone, on shift, below capacity and expected to
    arrive no later than ``max_lateness`` after the arrive deadline.
    """
    now = require_aware(now)
    out: list[Candidate] = []
    skip = set(exclude)
    for eng in engineers:
        if eng.engineer_id in skip or infeasibility(eng, job, now):
            continue
        travel = estimator.estimate(eng.location, job.location, job.zone_class)
        eta = now + travel
        lateness = max(timedelta(0), eta - job.arrive_by)
        if lateness > max_lateness:
            continue
        out.append(Candidate(eng.engineer_id, travel, eta, lateness, eng.active_jobs / max(1, eng.max_jobs)))
    out.sort(key=lambda c: c.sort_key)
    return out


def best(
    job: JobNeed, engineers: Iterable[EngineerState], estimator: TravelTimeEstimator, now: datetime,
    **kw: object,
) -> Candidate | None:
    """The best feasible engineer, or None (the job waits in the queue)."""
    ranked = rank(job, engineers, estimator, now, **kw)  # type: ignore[arg-type]
    return ranked[0] if ranked else None
