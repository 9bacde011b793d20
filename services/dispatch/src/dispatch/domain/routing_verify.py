"""Independent check of a plan: re-walks every route from the jobs and engineers, not from the solver.

It trusts nothing the plan stores about windows or legs: the window, service time, skills and pin come from the
``Job``; the shift from the ``Engineer``; every leg is recomputed with the travel model. A plan passes when the
list of violations is empty; the property tests run it on every plan they make.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from .routing_model import Engineer, Job, Plan, ServiceCentre, to_seconds
from .routing_travel import TravelModel, leg


@dataclass(frozen=True)
class Violation:
    kind: str  # window | early | skill | pin | started | shift_start | shift_end | travel | service | capacity
    #            | stock | duplicate | missing | unknown_job | unknown_engineer | claim | restock | centre_stock
    job_id: str | None
    engineer_id: str | None
    detail: str


def verify(plan: Plan, jobs: Sequence[Job], engineers: Sequence[Engineer], travel: TravelModel | None = None,
           now: datetime | None = None, centres: Sequence[ServiceCentre] = ()) -> list[Violation]:
    """Every way the plan breaks a rule; ``[]`` when it keeps them all.

    - each job is on exactly one route or unplanned (``missing`` / ``duplicate``);
    - the engineer may do it (skills at level, tools, parts, pin) (``skill``, ``pin``; on a route whose restock
      stops name the parts they take, as live insertion's do, the parts are judged by the walk below alone);
    - times are physically possible: arrival >= previous end + travel (an engineer is never in two places),
      start >= arrival and >= earliest, end = start + the service time of THIS engineer (by his level in the
      job's ``level_skill``) (``travel``, ``early``, ``service``);
    - start <= latest unless the job may be late (``window``), and a stop's own ``on_time`` agrees (``claim``);
    - a started job stays first with its engineer (``started``);
    - the route leaves no earlier than the shift start (or now) and is back by shift end + overtime
      (``shift_start`` / ``shift_end``; a route of nothing but the job in progress comes back when that job ends,
      a fact and not the plan's choice); van volume and stock are enough (``capacity`` / ``stock``), walking the
      van's stock stop by stop: a restock stop (``Stop.restock``) at a known centre tops it up to
      ``Engineer.van_level`` from the centre's stock (``restock``), and no centre gives more than it holds over all
      routes (``centre_stock``).
    """
    travel = travel or plan.travel
    now = now or plan.epoch
    epoch = plan.epoch
    now_s = to_seconds(epoch, now, up=False)
    by_job = {j.id: j for j in jobs}
    by_eng = {e.id: e for e in engineers}
    by_centre = {c.id: c for c in centres}
    drawn: dict[tuple[str, str], int] = {}
    out: list[Violation] = []
    seen: dict[str, str] = {}

    def add(kind: str, job: str | None, eng: str | None, detail: str) -> None:
        out.append(Violation(kind, job, eng, detail))

    for r in plan.routes:
        e = by_eng.get(r.engineer_id)
        if e is None:
            add("unknown_engineer", None, r.engineer_id, "route for an engineer not in the input")
            continue
        if not r.stops:
            continue
        shift_start = to_seconds(epoch, e.shift_start, up=True)
        shift_end = to_seconds(epoch, e.shift_end, up=False)
        max_end = shift_end + int(round(e.max_overtime_minutes * 60))
        here = e.start
        t = r.depart_s
        volume = 0
        held = dict(e.van_stock)  # what the van holds now
        # restock stops naming what they take (live insertion's): the stop-by-stop walk alone judges the parts
        explicit = any(x.restock is not None and x.parts for x in r.stops)
        if not r.stops[0].started and r.depart_s < shift_start:
            add("shift_start", None, e.id, f"leaves at {r.depart_s}, shift starts {shift_start}")
        for i, s in enumerate(r.stops):
            if s.restock is not None:
                c = by_centre.get(s.restock)
                if c is None:
                    add("restock", s.job_id, e.id, f"restock at unknown service centre {s.restock}")
                    continue
                d, dt = leg(travel, here, c.location)
                if s.arrival_s < t + dt or s.start_s < s.arrival_s:
                    add("travel", s.job_id, e.id, f"at the centre at {s.arrival_s}, cannot before {t + dt}")
                if s.end_s != s.start_s + c.service_s:
                    add("service", s.job_id, e.id, "restock end is not start + the centre's service time")
                if s.parts:  # the exact parts this stop takes (shared over the plan's routes)
                    for p, q in s.parts.items():
                        drawn[c.id, p] = drawn.get((c.id, p), 0) + q
                        held[p] = held.get(p, 0) + q
                for p in () if s.parts else set(held) | set(e.restock_to):
                    top = e.van_level(p) - held.get(p, 0)
                    if top > 0:
                        drawn[c.id, p] = drawn.get((c.id, p), 0) + top
                        held[p] = e.van_level(p)
                volume = 0
                here, t = c.location, s.end_s
                continue
            j = by_job.get(s.job_id)
            if j is None:
                add("unknown_job", s.job_id, e.id, "stop for a job not in the input")
                continue
            if s.job_id in seen:
                add("duplicate", s.job_id, e.id, f"also on {seen[s.job_id]}")
            seen[s.job_id] = e.id
            if j.started:  # in progress: a fact, not a choice; only "who" is checked
                if j.pinned_to != e.id:
                    add("started", j.id, e.id, f"started by {j.pinned_to}, planned on {e.id}")
            elif not e.qualifies(replace(j, parts={}) if explicit else j, restock=True):
                kind = "pin" if j.pinned_to is not None and j.pinned_to != e.id else "skill"
                add(kind, j.id, e.id, "engineer may not do this job (skills, tools, parts or pin)")
            if j.started and i != 0:
                add("started", j.id, e.id, f"started job at position {i}, not first")
            if not j.started and any(x.started for x in r.stops[i + 1:]):
                add("started", j.id, e.id, "a job before the started one")
            earliest = to_seconds(epoch, j.earliest, up=True)
            latest = to_seconds(epoch, j.latest, up=False)
            if j.started:
                here, t = j.location, s.end_s
                service = j.service_s_for(e)
                if s.end_s - s.start_s != service and s.end_s != max(now_s, s.start_s + service):
                    add("service", j.id, e.id, "started job's end is not start + service (or now)")
                continue
            d, dt = leg(travel, here, j.location)
            if s.arrival_s < t + dt:
                add("travel", j.id, e.id, f"arrives at {s.arrival_s}, cannot before {t + dt} (in two places)")
            if s.start_s < s.arrival_s:
                add("travel", j.id, e.id, "starts before arriving")
            if s.start_s < earliest:
                add("early", j.id, e.id, f"starts {s.start_s} before earliest {earliest}")
            if s.start_s > latest and j.late_penalty is None:
                add("window", j.id, e.id, f"starts {s.start_s} after latest {latest}")
            if s.on_time and s.start_s > latest:
                add("claim", j.id, e.id, "reported on time but starts after the latest start")
            if s.end_s != s.start_s + j.service_s_for(e):  # this engineer's service time (by his level)
                add("service", j.id, e.id, f"end {s.end_s} != start + service {s.start_s + j.service_s_for(e)}")
            volume += j.volume
            if e.van_capacity is not None and volume > e.van_capacity:
                add("capacity", j.id, e.id, f"volume {volume} > van capacity {e.van_capacity}")
            for p, q in j.parts.items():
                held[p] = held.get(p, 0) - q
                if held[p] < 0:
                    add("stock", j.id, e.id, f"needs {q} x {p}, the van has {held[p] + q} left")
            here, t = j.location, s.end_s
        _, dt = leg(travel, here, e.end_point)
        back = t + dt
        if r.return_s < back:
            add("travel", None, e.id, f"claims back at {r.return_s}, cannot before {back}")
        forced = all(x.started for x in r.stops) and r.return_s <= back  # only the job in progress: a fact
        if max(back, r.return_s) > max_end and not forced:
            add("shift_end", None, e.id, f"back at {max(back, r.return_s)}, latest return {max_end}")
    for (cid, p), q in drawn.items():
        if q > by_centre[cid].stock.get(p, 0):
            add("centre_stock", None, None, f"routes take {q} x {p} from {cid}, it holds "
                                            f"{by_centre[cid].stock.get(p, 0)}")
    for u in plan.unplanned:
        if u.job_id in seen:
            add("duplicate", u.job_id, seen[u.job_id], "both planned and unplanned")
        seen[u.job_id] = "unplanned"
    for j in jobs:
        if j.id not in seen:
            add("missing", j.id, None, "neither on a route nor unplanned")
        elif j.started and j.pinned_to is not None and seen[j.id] not in (j.pinned_to, "unplanned"):
            add("started", j.id, seen[j.id], f"started job moved away from {j.pinned_to}")
    return out
