"""The generated dispatch day, three ways on the same input (issue 14 "Benchmarks"): today's dispatcher vs insertion
only vs insertion + nightly plan. Pure and in-process (the domain functions, a fixed seed, no database).

The input is ``bench_dispatch``'s generated day (2,000 tickets / 200 engineers, seed 11, the same random draws) with
one change so that a nightly plan has something to plan: the 24 h / 48 h tickets (urban / county, 40 %) open
12 h earlier, over 12:00 the day before .. 12:00 the day; in-zone tickets (2 h) open over the day. The evening
before (22:00), the 24 h / 48 h tickets opened by then are known. Engineers work the day round the clock like in
``bench_dispatch`` (the generated load, ~3,250 h of service for 200 engineers, needs it): shift 00:00-24:00 from
home and back home; overtime = minutes back home after 24:00.

Every strategy drives the same travel model: haversine x 1.3 at the destination's zone-class speed (in-zone 30,
urban 35, county 50 km/h; home 30), i.e. ``assignment.HaversineEstimator``, in whole seconds and metres.

- **today**: ``assignment.rank`` one job at a time (queue by deadline, an engineer takes a job only when free,
  ETA = now + travel from where the engineer is), engineers keep working past 24:00 until the queue is empty.
- **insertion**: every ticket at its opening is ``routing_insert.insert_job``-ed into the engineers' day sequences
  (least lateness, then travel; promised windows kept; urgent in-zone tickets may displace). Late allowed at a cost
  (R-S9); a ticket no sequence can take is unserved (a miss) unless its deadline is after the day (carried over).
- **nightly**: ``plan_day`` at 22:00 the evening before for the 24 h / 48 h tickets known then, then insertion
  for the rest as they open.

The executed schedule is the final plan (travel and service as estimated); it is checked with
``routing_verify.verify`` against the jobs and engineers (and independently re-walked for the met count).
"""

from __future__ import annotations

import heapq
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from dispatch.domain.assignment import EngineerState, HaversineEstimator, JobNeed, rank
from dispatch.domain.routing import Engineer, Job, Plan, PlanOptions, insert_job, plan_day, verify
from dispatch.domain.routing_travel import FloatArray, IntArray, haversine_km_arrays

CENTRE = (31.2304, 121.4737)
LINES = [f"line{i}" for i in range(8)]
SPEEDS = {"in_zone": 30.0, "urban": 35.0, "county": 50.0}
SLA_H = {"in_zone": 2, "urban": 24, "county": 48}
DAY0 = datetime(2026, 3, 2, tzinfo=UTC)


@dataclass(frozen=True)
class Ticket:
    id: str
    opened: datetime
    line: str
    zone_class: str
    location: tuple[float, float]
    due: datetime
    service: timedelta


@dataclass(frozen=True)
class Day:
    tickets: list[Ticket]
    engineers: list[tuple[str, tuple[float, float], dict[str, int]]]


class ZoneSpeedTravel:
    """Haversine x road factor, at the DESTINATION's zone-class speed (homes: in-zone); metres, whole seconds."""

    def __init__(self, speeds: dict[tuple[float, float], float], road_factor: float = 1.3,
                 default_kmh: float = 30.0) -> None:
        self.speeds = speeds
        self.road_factor = road_factor
        self.default_kmh = default_kmh

    @property
    def units_per_km(self) -> float:
        return 1000.0

    def legs(self, a: FloatArray, b: FloatArray) -> tuple[IntArray, IntArray]:
        km = haversine_km_arrays(a, b) * self.road_factor
        sp = np.fromiter((self.speeds.get((float(x), float(y)), self.default_kmh) for x, y in b), dtype=np.float64,
                         count=len(b))
        return np.rint(km * 1000.0).astype(np.int64), np.rint(km / sp * 3600.0).astype(np.int64)

    def proximity(self, origin: tuple[float, float], points: FloatArray) -> FloatArray:
        k = np.cos(np.radians(origin[0]))
        dy = points[:, 0] - origin[0]
        dx = (points[:, 1] - origin[1]) * k
        return np.asarray(dx * dx + dy * dy, dtype=np.float64)


def generate(n_tickets: int, n_eng: int, seed: int) -> Day:
    """``bench_dispatch.simulate_day``'s draws; 24 h / 48 h tickets open 12 h earlier (see the module doc)."""
    rnd = random.Random(seed)
    engineers = []
    for i in range(n_eng):
        engineers.append((f"E{i}", (CENTRE[0] + rnd.uniform(-0.5, 0.5), CENTRE[1] + rnd.uniform(-0.5, 0.5)),
                          {rnd.choice(LINES[:4]): 3, rnd.choice(LINES[:4]): 2}))
    tickets = []
    for k in range(n_tickets):
        opened = DAY0 + timedelta(seconds=rnd.uniform(0, 86400))
        zc = rnd.choices(["in_zone", "urban", "county"], [0.6, 0.3, 0.1])[0]
        spread = {"in_zone": 0.25, "urban": 0.45, "county": 0.6}[zc]
        if zc != "in_zone":
            opened -= timedelta(hours=12)
        due = opened + timedelta(hours=SLA_H[zc])
        tickets.append(Ticket(f"K{k}", opened, rnd.choice(LINES[:4]), zc,
                              (CENTRE[0] + rnd.uniform(-spread, spread), CENTRE[1] + rnd.uniform(-spread, spread)),
                              due, timedelta(minutes=rnd.uniform(45, 150))))
    tickets.sort(key=lambda t: (t.opened, t.id))
    return Day(tickets, engineers)


def _travel(day: Day) -> ZoneSpeedTravel:
    return ZoneSpeedTravel({t.location: SPEEDS[t.zone_class] for t in day.tickets})


SHIFT_END = DAY0 + timedelta(days=1)


def _engineers(day: Day, overtime_min: float) -> list[Engineer]:
    return [Engineer(id=e[0], start=e[1], shift_start=DAY0, shift_end=SHIFT_END, skills=dict(e[2]),
                     max_overtime_minutes=overtime_min) for e in day.engineers]


def _job(t: Ticket, penalty: float) -> Job:
    # a ticket opened before the shift waits for it; service must start by the arrive deadline (R-S2..R-S4)
    return Job(id=t.id, location=t.location, earliest=t.opened, latest=max(t.due, t.opened),
               service_minutes=t.service.total_seconds() / 60, skills={t.line: 1}, penalty=penalty,
               late_penalty=penalty * 0.1, urgent=t.zone_class == "in_zone")


# ------------------------------------------------------------------------------------------------ today
def run_today(day: Day) -> dict[str, Any]:
    """``assignment.rank`` one job at a time (``bench_dispatch.simulate_day`` "ours"), on the shared travel model."""
    travel = _travel(day)
    est = HaversineEstimator()
    engineers = day.engineers
    free_at = {e[0]: DAY0 for e in engineers}
    loc = {e[0]: e[1] for e in engineers}
    home = {e[0]: e[1] for e in engineers}
    metres = {e[0]: 0 for e in engineers}
    jobs_of = {e[0]: 0 for e in engineers}
    queue: list[Ticket] = []
    met = 0
    events: list[tuple[datetime, int, str, Ticket | None]] = [(max(t.opened, DAY0), 1, t.id, t) for t in day.tickets]
    heapq.heapify(events)
    while events:
        now, kind, _key, payload = heapq.heappop(events)
        if kind == 1 and payload is not None:
            queue.append(payload)
        for t in sorted(queue, key=lambda t: (t.due < now, t.due)):
            free = [e for e in engineers if free_at[e[0]] <= now and t.line in e[2]]
            if not free:
                continue
            states = [EngineerState(e[0], e[2], frozenset(["all"]), loc[e[0]], 0, 1) for e in free]
            need = JobNeed(t.id, t.line, "all", t.zone_class, t.location, t.due)
            pick = rank(need, states, est, now, max_lateness=timedelta(days=30))[0].engineer_id
            d, s = travel.legs(np.asarray([loc[pick]]), np.asarray([t.location]))
            arrive = now + timedelta(seconds=int(s[0]))
            met += arrive <= t.due
            metres[pick] += int(d[0])
            jobs_of[pick] += 1
            free_at[pick] = arrive + t.service
            loc[pick] = t.location
            queue.remove(t)
            heapq.heappush(events, (free_at[pick], 2, pick, None))
    overtime = 0.0
    for eid in free_at:
        if not jobs_of[eid]:
            continue
        d, s = travel.legs(np.asarray([loc[eid]]), np.asarray([home[eid]]))
        metres[eid] += int(d[0])
        back = free_at[eid] + timedelta(seconds=int(s[0]))
        overtime += max(0.0, (back - SHIFT_END).total_seconds() / 60)
    n = len(day.tickets)
    return {"met": met / n, "met_n": met, "served": n, "unserved": 0, "carried": 0, "km": sum(metres.values()) / 1000,
            "engineers_used": sum(1 for v in jobs_of.values() if v), "overtime_min": overtime, "violations": 0,
            "late": n - met}


# ------------------------------------------------------------------------------------------------ insertion
def run_insertion(day: Day, *, nightly: bool, penalty: float = 1000.0, overtime_min: float = 360.0,
                  night_limit_s: float = 20.0, seed: int = 0, max_candidates: int = 64) -> dict[str, Any]:
    travel = _travel(day)
    engineers = _engineers(day, overtime_min)
    eng_t = tuple(engineers)
    jobs = {t.id: _job(t, penalty) for t in day.tickets}
    night = DAY0 - timedelta(hours=2)
    known = [t for t in day.tickets if nightly and t.zone_class != "in_zone" and t.opened <= night]
    t0 = time.perf_counter()
    plan: Plan = plan_day([jobs[t.id] for t in known], eng_t, travel, night,
                          PlanOptions(time_limit_s=night_limit_s, seed=seed, travel_cost_per_km=1.0,
                                      overtime_cost_per_hour=100.0))
    plan_s = time.perf_counter() - t0
    unserved: list[str] = [u.job_id for u in plan.unplanned]
    plan = _replace_unplanned(plan, ())
    known_ids = {t.id for t in known}
    t1 = time.perf_counter()
    displaced = 0
    for t in day.tickets:
        if t.id in known_ids:
            continue
        res = insert_job(plan, jobs[t.id], eng_t, max(t.opened, night), max_candidates=max_candidates)
        if res.insertion is None:
            unserved.append(t.id)
            continue
        plan = res.plan
        displaced += bool(res.insertion.displaced)
    insert_s = time.perf_counter() - t1
    # the final plan is the executed day: check it against the jobs and engineers, independently of the planner
    served = {s.job_id for r in plan.routes for s in r.stops}
    viol = verify(plan, [jobs[i] for i in served], eng_t)
    met = 0
    by_id = {t.id: t for t in day.tickets}
    for r in plan.routes:
        for s in r.stops:
            start = plan.time(s.start_s)
            met += start <= by_id[s.job_id].due and start >= by_id[s.job_id].opened
    carried = [i for i in unserved if by_id[i].due > SHIFT_END + timedelta(minutes=overtime_min)]
    n = len(day.tickets)
    tot = plan.totals
    return {"met": met / n, "met_n": met, "served": len(served), "unserved": len(unserved) - len(carried),
            "carried": len(carried), "km": tot.distance / 1000, "engineers_used": tot.engineers_used,
            "overtime_min": tot.overtime_s / 60, "violations": len(viol), "late": tot.late_jobs,
            "displaced": displaced, "night_planned": len(known) - len(plan.unplanned) if nightly else 0,
            "night_known": len(known), "plan_s": plan_s, "insert_s": insert_s,
            "violation_kinds": sorted({v.kind for v in viol})}


def _replace_unplanned(plan: Plan, unplanned: tuple[Any, ...]) -> Plan:
    from dataclasses import replace
    return replace(plan, unplanned=unplanned)


def three_way(n_tickets: int = 2000, n_eng: int = 200, seed: int = 11, night_limit_s: float = 20.0) -> dict[str, Any]:
    day = generate(n_tickets, n_eng, seed)
    return {"tickets": n_tickets, "engineers": n_eng, "seed": seed,
            "known_at_night": sum(1 for t in day.tickets if t.zone_class != "in_zone"
                                  and t.opened <= DAY0 - timedelta(hours=2)),
            "today": run_today(day), "insertion": run_insertion(day, nightly=False),
            "nightly": run_insertion(day, nightly=True, night_limit_s=night_limit_s),
            # sensitivity: 2 h overtime allowed and the insertion's default 24 candidates
            "insertion_tight": run_insertion(day, nightly=False, overtime_min=120.0, max_candidates=24)}


if __name__ == "__main__":
    import json
    import sys
    print(json.dumps(three_way(night_limit_s=float(sys.argv[1]) if len(sys.argv) > 1 else 20.0), indent=2))
