"""Zone-day planner on PyVRP (issue 14): jobs x engineers -> routes, unplanned jobs with a reason.

How the dispatch rules become a PyVRP model (no I/O, no clock: ``now`` is passed in):

- engineer = a vehicle of a vehicle type (start/end depot = home or service centre, ``tw_early`` = ready time,
  ``start_late`` = the same, so the route's clock time is real; ``tw_late`` = shift end + allowed overtime;
  ``shift_duration`` + ``max_overtime`` + ``unit_overtime_cost`` price overtime). Engineers alike in every one of
  these (and in what they may do) share one vehicle type, so 250 identical vans are one type as in the raw API.
- skills with levels, tools, parts, pins = a routing profile per distinct "may not do" set: the arcs into the
  jobs an engineer may not do are prohibitive (distance and duration 2^44 -> time warp -> infeasible).
  Memory: one (n x n) int64 distance + duration matrix per profile.
- service time by skill level (``Job.service_by_level``): when any job has one, the profile is per distinct
  ("may not do" set, service time of every job) and the service is folded into the profile's duration matrix
  (arc i -> j = service_i of that profile + travel(i, j); PyVRP's client service duration is 0). Without such a
  job the model is as before (client service durations, one profile per "may not do" set): the Solomon / GH
  adaptor is unchanged. Every route is re-laid with the engineer's own service times.
- time window of the start of service = client ``[tw_early, tw_late]``; service duration; van volume and per-part
  stock = load dimensions against the van's capacity / stock.
- optional work: every job with a ``penalty`` is an optional client whose prize is the penalty in distance units
  (``travel_cost_per_km``), so a short-staffed plan leaves the cheapest work. ``penalty=None``: required.
- lateness: a job with a ``late_penalty`` becomes a mutually exclusive group of two clients at one location: on
  time (prize p) or late (window to the end of the day, prize p - late_penalty).
- restock stops: each service centre with stock is a reload depot of the engineers it can top up (``restock_to``
  above the van's stock, the centre holding the topped-up level of every part in the plan); each part's load
  dimension then has the topped-up level as capacity and the missing quantity as initial load, so the van serves
  from its own stock until a stop at a centre refills it (a job needing more than the van holds forces that stop).
  The centre's stock is checked per stop by the search; after it, ``routing_stock.share_centres`` shares each
  centre's stock over all routes in route order (a stop moves to another centre, or its job is unplanned with
  ``parts_unavailable``) and gives every restock stop the exact parts it takes (``Stop.parts``).
- started jobs are not given to the solver: the engineer's route starts where and when the started job ends, and
  the started job is put back first in sequence.
Every route is re-laid with :func:`routing_model.schedule` (same integer legs); a stop that the solver left
infeasible (time warp) is taken out and reported, so a plan never claims a window it misses.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

from .routing_model import (
    Engineer,
    Job,
    Plan,
    PlanOptions,
    Route,
    RouteFrame,
    ServiceCentre,
    SolverInfo,
    Stop,
    Unplanned,
    UnplannedReason,
    restock_stop,
    schedule,
    stop_for,
    to_seconds,
)
from .routing_stock import share_centres
from .routing_travel import TravelModel, as_points, matrices

PROHIBITIVE = 10**9  # distance units / seconds on an arc into a job the engineer may not do: far above any day,
# and small enough that time warp x penalty weight cannot overflow int64 (2^44 did, and made such arcs cheap)


_TypeKey = tuple[int, int, int, int, int, tuple[int, ...], int, tuple[int, ...], tuple[int, ...]]


@dataclass
class _Vehicles:
    key: _TypeKey
    engineers: list[Engineer]
    frames: list[RouteFrame]


def _cost_units(money: float, travel: TravelModel, options: PlanOptions) -> int:
    return int(round(money / options.travel_cost_per_km * travel.units_per_km))


def frames_for(engineers: Sequence[Engineer], jobs: Sequence[Job], now: datetime) -> tuple[
        dict[str, RouteFrame], dict[str, Job]]:
    """Each available engineer's frame (epoch = now) and started job, if any."""
    started: dict[str, Job] = {}
    for j in jobs:
        if j.started and j.pinned_to is not None:
            if j.pinned_to in started:
                raise ValueError(f"engineer {j.pinned_to} has two started jobs")
            started[j.pinned_to] = j
    frames: dict[str, RouteFrame] = {}
    for e in engineers:
        shift_end = to_seconds(now, e.shift_end, up=False)
        max_end = shift_end + int(round(e.max_overtime_minutes * 60))
        ready = max(0, to_seconds(now, e.shift_start, up=True))
        if max_end <= 0 or max_end < ready:
            continue  # off shift for the rest of the day
        frames[e.id] = RouteFrame(e.id, e.start, e.end_point, ready, to_seconds(now, e.shift_start, up=True),
                                  shift_end, max_end)
    return frames, started


def _started_stop(job: Job, now: datetime, engineer: Engineer) -> Stop:
    s = stop_for(job, now, earliest_floor=-(10**9), engineer=engineer)
    begun = to_seconds(now, job.started_at, up=False) if job.started_at is not None else 0
    return replace(s, arrival_s=begun, start_s=begun, end_s=begun + job.service_s_for(engineer))


def plan_day(jobs: Sequence[Job], engineers: Sequence[Engineer], travel: TravelModel, now: datetime,
             options: PlanOptions | None = None, *, centres: Sequence[ServiceCentre] = ()) -> Plan:
    """Plan a zone-day: every job is on a route (ordered, with arrival/start/end) or unplanned with a reason;
    routes may stop at ``centres`` to restock parts (``Stop.restock``)."""
    options = options or PlanOptions()
    t_build = time.perf_counter()
    ids = [j.id for j in jobs]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate job ids")
    frames, started = frames_for(engineers, jobs, now)
    eng_by_id = {e.id: e for e in engineers if e.id in frames}
    unplanned: list[Unplanned] = []
    prefix: dict[str, Stop] = {}
    eff: dict[str, RouteFrame] = dict(frames)  # frames the solver sees (after a started job)
    for eid, job in started.items():
        if eid not in frames:
            unplanned.append(Unplanned(job.id, UnplannedReason.ENGINEER_UNAVAILABLE, f"started by {eid}, off shift"))
            continue
        st = _started_stop(job, now, eng_by_id[eid])
        prefix[eid] = st
        f = frames[eid]
        end = max(0, st.end_s)
        eff[eid] = replace(f, start_location=job.location, depart_s=max(f.depart_s, end))

    # who may do what (skills/levels, tools, parts, pins), and does it fit alone in anyone's day?
    open_jobs = [j for j in jobs if not j.started]
    avail = list(eng_by_id.values())
    skus = sorted({p for j in open_jobs for p in j.parts})
    restock = {e.id: [c for c in centres if c.can_restock(e, skus)] for e in avail}
    candidates: list[Job] = []
    qual: dict[str, list[Engineer]] = {}
    # engineers alike in skills, tools, stock and van are checked once (250 identical vans: one check per job)
    kinds: dict[tuple[object, ...], list[Engineer]] = {}
    for e in avail:
        sig = (frozenset(e.skills.items()), e.tools, frozenset(e.van_stock.items()), e.van_capacity,
               frozenset(e.restock_to.items()), bool(restock[e.id]))
        kinds.setdefault(sig, []).append(e)
    for j in open_jobs:
        if j.pinned_to is not None and j.pinned_to not in eng_by_id:
            unplanned.append(Unplanned(j.id, UnplannedReason.ENGINEER_UNAVAILABLE,
                                       f"pinned to {j.pinned_to}, off shift", j.penalty))
            continue
        if j.pinned_to is not None:
            pe = eng_by_id[j.pinned_to]
            q = [pe] if pe.qualifies(j, restock=bool(restock[pe.id])) else []
        else:
            q = [e for group in kinds.values() if group[0].qualifies(j, restock=bool(restock[group[0].id]))
                 for e in group]
        if not q:
            unplanned.append(Unplanned(j.id, UnplannedReason.NO_QUALIFIED_ENGINEER, _why_unqualified(j, avail),
                                       j.penalty))
            continue
        qual[j.id] = q
        candidates.append(j)
    fits = _fits_alone(candidates, qual, eff, travel, now)
    solver_jobs: list[Job] = []
    for j in candidates:
        if fits[j.id]:
            solver_jobs.append(j)
        else:
            unplanned.append(Unplanned(j.id, UnplannedReason.CANNOT_FIT_WINDOW,
                                       "no qualified engineer reaches it in its window and is back by shift end",
                                       j.penalty))

    routes_seq: dict[str, list[Job | ServiceCentre]] = {e.id: [] for e in avail}
    info = SolverInfo(build_s=time.perf_counter() - t_build)
    if solver_jobs:
        routes_seq, dropped, info = _solve(solver_jobs, avail, qual, eff, travel, now, options, t_build, restock)
        for j in dropped:
            unplanned.append(Unplanned(j.id, UnplannedReason.DROPPED_UNDER_CAPACITY,
                                       "left out: the cheapest work when the day cannot hold everything", j.penalty))

    routes: list[Route] = []
    by_job = {j.id: j for j in jobs}
    for e in avail:
        horizon = frames[e.id].max_end_s
        seq, short = _within_stock(e, routes_seq.get(e.id, []))
        for j in short:
            unplanned.append(Unplanned(j.id, UnplannedReason.DROPPED_UNDER_CAPACITY,
                                       "the van would have run out of its parts on the route", j.penalty))
        stops = ([prefix[e.id]] if e.id in prefix else []) + [
            stop_for(x, now, engineer=e) if isinstance(x, Job) else restock_stop(x, horizon) for x in seq]
        route, removed = _lay_feasibly(frames[e.id], stops, travel)
        for s in removed:
            unplanned.append(Unplanned(s.job_id, UnplannedReason.CANNOT_FIT_WINDOW,
                                       "the solver could not fit it without missing a window or the shift",
                                       by_job[s.job_id].penalty))
        routes.append(route)
    if centres:  # one centre's stock shared by every route of the plan, in route order
        routes, short_of = share_centres(routes, eng_by_id, centres, travel, frames,
                                         lambda f, st: _lay_feasibly(f, st, travel),
                                         {j.id: j.penalty for j in jobs})
        unplanned.extend(short_of)
    return Plan(epoch=now, routes=tuple(routes), unplanned=tuple(unplanned), travel=travel, solver=info)


def _within_stock(e: Engineer, seq: list[Job | ServiceCentre]) -> tuple[list[Job | ServiceCentre], list[Job]]:
    """Walk the van's stock along a solved route (a centre tops it up to ``van_level``, as ``verify`` does) and take
    out a job its parts have run out for: an infeasible search result never becomes a plan that claims it."""
    held = dict(e.van_stock)
    kept: list[Job | ServiceCentre] = []
    short: list[Job] = []
    for x in seq:
        if isinstance(x, ServiceCentre):
            for p in set(held) | set(e.restock_to):
                held[p] = max(held.get(p, 0), e.van_level(p))
            kept.append(x)
        elif any(held.get(p, 0) < q for p, q in x.parts.items()):
            short.append(x)
        else:
            for p, q in x.parts.items():
                held[p] -= q
            kept.append(x)
    return kept, short


def _why_unqualified(job: Job, engineers: Sequence[Engineer]) -> str:
    if not engineers:
        return "no engineer on shift"
    if job.skills and not any(all(e.skills.get(s, 0) >= lvl for s, lvl in job.skills.items()) for e in engineers):
        return "nobody has skills " + ", ".join(f"{s}>={lvl}" for s, lvl in sorted(job.skills.items()))
    if job.tools and not any(job.tools <= e.tools for e in engineers):
        return "nobody carries tools " + ", ".join(sorted(job.tools))
    return "no engineer has the parts in stock or the van capacity"


def _fits_alone(jobs: Sequence[Job], qual: dict[str, list[Engineer]], frames: dict[str, RouteFrame],
                travel: TravelModel, now: datetime) -> dict[str, bool]:
    """Vectorised: can some qualified engineer do the job as his only stop, in window and back in time?"""
    pairs: list[tuple[Job, RouteFrame, int]] = []
    for j in jobs:  # engineers with the same frame (and service time for this job) need one check
        seen: set[tuple[object, ...]] = set()
        for e in qual[j.id]:
            f = frames[e.id]
            service = j.service_s_for(e)
            key = (f.start_location, f.end_location, f.depart_s, f.max_end_s, service)
            if key not in seen:
                seen.add(key)
                pairs.append((j, f, service))
    if not pairs:
        return {}
    js = as_points([j.location for j, _, _ in pairs])
    _, t_in = travel.legs(as_points([f.start_location for _, f, _ in pairs]), js)
    _, t_out = travel.legs(js, as_points([f.end_location for _, f, _ in pairs]))
    ok: dict[str, bool] = {j.id: False for j in jobs}
    for k, (j, f, service) in enumerate(pairs):
        if ok[j.id]:
            continue
        early = max(0, to_seconds(now, j.earliest, up=True))
        start = max(f.depart_s + int(t_in[k]), early)
        if start > to_seconds(now, j.latest, up=False) and j.late_penalty is None:
            continue
        ok[j.id] = start + service + int(t_out[k]) <= f.max_end_s
    return ok


def _lay_feasibly(frame: RouteFrame, stops: list[Stop], travel: TravelModel) -> tuple[Route, list[Stop]]:
    """Schedule; take out stops that miss a hard window or push the return past the shift, until none does."""
    removed: list[Stop] = []
    while True:
        route = schedule(frame, stops, travel)
        bad = next((i for i, s in enumerate(route.stops)
                    if not s.started and (s.start_s > s.latest_s and not s.late_allowed)), None)
        if bad is None and route.stops and route.return_s > frame.max_end_s:
            movable = [i for i, s in enumerate(route.stops) if not s.started and s.restock is None]
            bad = movable[-1] if movable else None
        if bad is None:
            return route, removed
        removed.append(stops.pop(bad))


def _solve(jobs: list[Job], engineers: list[Engineer], qual: dict[str, list[Engineer]],
           frames: dict[str, RouteFrame], travel: TravelModel, now: datetime, options: PlanOptions,
           t_build: float, restock: dict[str, list[ServiceCentre]]) -> tuple[
               dict[str, list[Job | ServiceCentre]], list[Job], SolverInfo]:
    # locations: depots (distinct start / end points, then service centres) first, then one per job
    depot_pts: dict[tuple[float, float], int] = {}
    for f in frames.values():
        for p in (f.start_location, f.end_location):
            depot_pts.setdefault((float(p[0]), float(p[1])), len(depot_pts))
    centre_depot: dict[str, int] = {}
    centre_by_depot: dict[int, ServiceCentre] = {}
    for cs in restock.values():
        for c in cs:
            if c.id not in centre_depot:
                pt = (float(c.location[0]), float(c.location[1]))
                if pt not in depot_pts:
                    depot_pts[pt] = len(depot_pts)
                centre_depot[c.id] = depot_pts[pt]
                centre_by_depot.setdefault(depot_pts[pt], c)
    nd = len(depot_pts)
    points = list(depot_pts) + [j.location for j in jobs]
    base_dist, base_dur = matrices(travel, points)
    locations = [pyvrp.Location(x=float(p[1]), y=float(p[0])) for p in points]
    depots = [pyvrp.Depot(location=i, service_duration=centre_by_depot[i].service_s if i in centre_by_depot else 0)
              for i in range(nd)]

    # load dimensions: van volume (if anyone uses it) + each part expected by some job
    skus = sorted({p for j in jobs for p in j.parts})
    use_volume = any(j.volume for j in jobs) or any(e.van_capacity is not None for e in engineers)
    big_cap = sum(j.volume for j in jobs) + 1

    def demand(j: Job) -> list[int]:
        return ([j.volume] if use_volume else []) + [j.parts.get(p, 0) for p in skus]

    # service by the engineer's level: folded into each profile's duration matrix (arc i -> j takes
    # travel(i, j) + service_i of that profile's engineers), PyVRP's per-client service duration is then 0
    levelled = any(j.service_rule is not None for j in jobs)
    clients: list[pyvrp.Client] = []
    groups: list[pyvrp.ClientGroup] = []
    client_job: list[int] = []
    horizon = max(f.max_end_s for f in frames.values())
    for k, j in enumerate(jobs):
        loc = nd + k
        early = max(0, to_seconds(now, j.earliest, up=True))
        late = to_seconds(now, j.latest, up=False)
        required = j.penalty is None
        prize = 0 if required else max(1, _cost_units(j.penalty or 0.0, travel, options))
        common = dict(location=loc, delivery=demand(j), service_duration=0 if levelled else j.service_s, name=j.id)
        if j.late_penalty is None:
            clients.append(pyvrp.Client(tw_early=early, tw_late=max(early, late), prize=prize, required=required,
                                        **common))  # type: ignore[arg-type]
            client_job.append(k)
            continue
        late_cost = _cost_units(j.late_penalty, travel, options)
        on_time_prize = prize + late_cost if required else prize
        late_prize = max(0, on_time_prize - late_cost)
        g = len(groups)
        a = len(clients)
        if late >= early:
            clients.append(pyvrp.Client(tw_early=early, tw_late=late, prize=on_time_prize, required=False,
                                        group=g, **common))  # type: ignore[arg-type]
            client_job.append(k)
        clients.append(pyvrp.Client(tw_early=max(early, late + 1), tw_late=max(horizon, early, late + 1),
                                    prize=late_prize,
                                    required=False, group=g, **common))  # type: ignore[arg-type]
        client_job.append(k)
        groups.append(pyvrp.ClientGroup(list(range(a, len(clients))), required=required))

    # profiles: one per distinct set of jobs an engineer may not do
    job_index = {j.id: k for k, j in enumerate(jobs)}
    forbidden: dict[str, frozenset[int]] = {}
    allowed_by_eng: dict[str, set[int]] = {e.id: set() for e in engineers}
    for j in jobs:
        for e in qual[j.id]:
            allowed_by_eng[e.id].add(job_index[j.id])
    all_jobs = frozenset(range(len(jobs)))
    for e in engineers:
        forbidden[e.id] = all_jobs - allowed_by_eng[e.id]
    service_of = _service_vectors(jobs, engineers) if levelled else {}
    profile_key: dict[str, tuple[frozenset[int], bytes]] = {
        e.id: (forbidden[e.id], service_of[e.id].tobytes() if levelled else b"") for e in engineers}
    profile_of: dict[tuple[frozenset[int], bytes], int] = {}
    services: dict[tuple[frozenset[int], bytes], Any] = {}
    for e in engineers:
        profile_of.setdefault(profile_key[e.id], len(profile_of))
        if levelled:
            services.setdefault(profile_key[e.id], service_of[e.id])
    dist_mats: list[Any] = []  # PyVRP's stubs type these as ndarray[int]; they are int64 matrices
    dur_mats: list[Any] = []
    for pkey in profile_of:
        fset = pkey[0]
        if not fset and not levelled:
            dist_mats.append(base_dist)
            dur_mats.append(base_dur)
            continue
        cols = np.fromiter((nd + k for k in sorted(fset)), dtype=np.int64)
        d = base_dist.copy() if fset else base_dist
        t = base_dur.copy()
        if levelled:
            t[nd:, :] += services[pkey][:, None]  # leaving job k takes its service time first
            np.fill_diagonal(t, 0)  # PyVRP wants a zero diagonal (a job's two copies never follow each other)
        if fset:
            d[:, cols] = PROHIBITIVE
            t[:, cols] = PROHIBITIVE
            d[cols, cols] = 0
            t[cols, cols] = 0
        dist_mats.append(d)
        dur_mats.append(t)

    # vehicle types: engineers alike in frame, van and profile share one
    ot_cost = options.overtime_cost_per_hour / 3600 / options.travel_cost_per_km * travel.units_per_km
    fixed = _cost_units(options.engineer_fixed_cost, travel, options)
    types: dict[_TypeKey, _Vehicles] = {}
    for e in engineers:
        f = frames[e.id]
        sd = depot_pts[(float(f.start_location[0]), float(f.start_location[1]))]
        ed = depot_pts[(float(f.end_location[0]), float(f.end_location[1]))]
        reload = tuple(sorted({centre_depot[c.id] for c in restock[e.id]}))
        level = (lambda p, e=e: e.van_level(p)) if reload else (lambda p, e=e: e.van_stock.get(p, 0))
        cap = ([e.van_capacity if e.van_capacity is not None else big_cap] if use_volume else []) + [
            level(p) for p in skus]
        init_load = ([0] if use_volume else []) + [level(p) - e.van_stock.get(p, 0) for p in skus]
        key: _TypeKey = (sd, ed, f.depart_s, f.shift_end_s, f.max_end_s, tuple(cap), profile_of[profile_key[e.id]],
                         tuple(init_load), reload)
        types.setdefault(key, _Vehicles(key, [], [])).engineers.append(e)
        types[key].frames.append(f)
    vtypes = []
    for (sd, ed, ready, shift_end, max_end, vcap, prof, initial, reload), v in types.items():
        nominal = max(0, min(shift_end, max_end) - ready)
        vtypes.append(pyvrp.VehicleType(
            num_available=len(v.engineers), capacity=list(vcap), initial_load=list(initial),
            reload_depots=list(reload),
            start_depot=sd, end_depot=ed, fixed_cost=fixed, tw_early=ready, tw_late=max_end, start_late=ready,
            shift_duration=nominal, max_overtime=max(0, max_end - ready - nominal),
            unit_overtime_cost=int(round(ot_cost)), profile=prof, name=",".join(x.id for x in v.engineers)[:200]))
    data = pyvrp.ProblemData(locations=locations, clients=clients, depots=depots, vehicle_types=vtypes,
                             distance_matrices=dist_mats, duration_matrices=dur_mats, groups=groups)
    stop: StoppingCriterion = MaxRuntime(options.time_limit_s)
    if options.max_iterations is not None:
        stop = MultipleCriteria([MaxRuntime(options.time_limit_s), MaxIterations(options.max_iterations)])
    build_s = time.perf_counter() - t_build
    reloads = any(t.key[8] for t in types.values())
    if len(profile_of) == 1 and not groups and len(vtypes) == 1 and not reloads:
        result = pyvrp.solve(data, stop, seed=options.seed, collect_stats=False, display=False)
    else:
        plain: list[Any] = [base_dist, base_dur]
        cheap = data.replace(vehicle_types=[replace_profile(vtypes[0])], distance_matrices=plain[:1],
                             duration_matrices=plain[1:])
        init = _greedy_start(data, jobs, engineers, frames, travel, now, types, client_job,
                             _Restocks(qual, restock, centre_depot, base_dist, nd))
        result = _solve_from(data, cheap, stop, options.seed, init)

    seq: dict[str, list[Job | ServiceCentre]] = {e.id: [] for e in engineers}
    planned: set[int] = set()
    type_list = list(types.values())
    used = [0] * len(type_list)
    for r in result.best.routes():
        vt = r.vehicle_type()
        eng = type_list[vt].engineers[used[vt]]
        used[vt] += 1
        acts = r.schedule()
        for pos, act in enumerate(acts):
            if act.type == pyvrp.ActivityType.DEPOT and 0 < pos < len(acts) - 1 and act.idx in centre_by_depot:
                seq[eng.id].append(centre_by_depot[act.idx])  # a reload: restock at the service centre
            if act.type == pyvrp.ActivityType.CLIENT:
                k = client_job[act.idx]
                if not eng.qualifies(jobs[k], restock=bool(restock[eng.id])):
                    continue  # defence in depth: never trust an arc the profile prohibits
                seq[eng.id].append(jobs[k])
                planned.add(k)
    dropped = [j for k, j in enumerate(jobs) if k not in planned]
    info = SolverInfo(objective=int(result.cost()) if result.is_feasible() else -1, feasible=result.is_feasible(),
                      iterations=result.num_iterations, runtime_s=result.runtime, build_s=build_s,
                      profiles=len(profile_of), vehicle_types=len(vtypes))
    return seq, dropped, info


def _service_vectors(jobs: Sequence[Job], engineers: Sequence[Engineer]) -> dict[str, Any]:
    """Per engineer: the service seconds of every job (int64 vector) when he does it; engineers with the same
    levels in the skills that set a service time share one vector."""
    rules = [j.service_rule for j in jobs]
    skills = sorted({r.skill for r in rules if r is not None})
    by_sig: dict[tuple[int | None, ...], Any] = {}
    out: dict[str, Any] = {}
    for e in engineers:
        sig = tuple(e.skills.get(sk) for sk in skills)
        if sig not in by_sig:
            by_sig[sig] = np.fromiter((j.service_s if r is None else r.seconds_for(e) for j, r in zip(
                jobs, rules, strict=True)), dtype=np.int64, count=len(jobs))
        out[e.id] = by_sig[sig]
    return out


def replace_profile(vt: pyvrp.VehicleType) -> pyvrp.VehicleType:
    return vt.replace(profile=0, num_available=1)


@dataclass
class _Restocks:
    """What the first plan needs to give the search its restock stops (see :func:`_greedy_start`)."""

    qual: dict[str, list[Engineer]]
    centres: dict[str, list[ServiceCentre]]  # per engineer: the centres that can top its van up
    depot_of: dict[str, int]  # centre id -> PyVRP depot index
    dist: Any  # the plain distance matrix (depots first, then one location per job)
    nd: int


def _greedy_start(data: pyvrp.ProblemData, jobs: list[Job], engineers: list[Engineer],
                  frames: dict[str, RouteFrame], travel: TravelModel, now: datetime,
                  types: dict[_TypeKey, _Vehicles], client_job: list[int],
                  restocks: _Restocks | None = None) -> pyvrp.Solution:
    """A first plan by cheapest insertion (tightest deadline first): seconds, not minutes, to build.

    The insertion knows no restock stops, so a job whose parts no van holds is appended after a stop at the
    nearest centre that can top the van up, on the qualified engineer whose route ends nearest. PyVRP's search
    only inserts a reload depot between two clients (``RelocateWithDepot``): without this, a job needing a
    restock first thing in the route is never planned."""
    from .routing_insert import insert_job

    plan = Plan(epoch=now, routes=tuple(schedule(frames[e.id], [], travel) for e in engineers), unplanned=(),
                travel=travel)
    order = sorted(jobs, key=lambda j: (j.latest, -(j.penalty or 1e18)))
    for j in order:
        res = insert_job(plan, j, engineers, now, allow_displace=False)
        if res.insertion is not None:
            plan = res.plan
    first_client: dict[tuple[int, bool], int] = {}
    for c, k in enumerate(client_job):
        late_copy = (k, False) in first_client
        first_client.setdefault((k, late_copy), c)
    job_k = {j.id: k for k, j in enumerate(jobs)}
    vt_of = {e.id: t for t, v in enumerate(types.values()) for e in v.engineers}
    acts: dict[str, list[pyvrp.Activity]] = {}
    last: dict[str, int] = {}  # location index where the engineer's route is so far
    for r in plan.routes:
        if not r.stops:
            continue
        for st in r.stops:
            k = job_k[st.job_id]
            c = first_client.get((k, st.start_s > st.latest_s), first_client[(k, False)])
            acts.setdefault(r.engineer_id, []).append(pyvrp.Activity(pyvrp.ActivityType.CLIENT, c))
            last[r.engineer_id] = (restocks.nd if restocks else 0) + k
    if restocks is not None:
        placed = {job_k[s.job_id] for r in plan.routes for s in r.stops}
        start = {e.id: data.vehicle_type(vt_of[e.id]).start_depot for e in engineers}
        for k in sorted((k for k in range(len(jobs)) if k not in placed and jobs[k].parts),
                        key=lambda k: jobs[k].latest):
            options = [(restocks.dist[last.get(e.id, start[e.id]), restocks.depot_of[c.id]]
                        + restocks.dist[restocks.depot_of[c.id], restocks.nd + k], e.id, c.id)
                       for e in restocks.qual.get(jobs[k].id, []) for c in restocks.centres.get(e.id, [])]
            if not options:
                continue
            _, eid, cid = min(options)
            acts.setdefault(eid, []).extend([pyvrp.Activity(pyvrp.ActivityType.DEPOT, restocks.depot_of[cid]),
                                            pyvrp.Activity(pyvrp.ActivityType.CLIENT, first_client[(k, False)])])
            last[eid] = restocks.nd + k
    return pyvrp.Solution(data, [pyvrp.Route(data, a, vt_of[eid]) for eid, a in acts.items()])


def _solve_from(data: pyvrp.ProblemData, neighbour_data: pyvrp.ProblemData, stop: StoppingCriterion,
                seed: int, init: pyvrp.Solution) -> pyvrp.Result:
    """``pyvrp.solve`` (0.14.1) with two changes for the dispatch model, both costs of its set-up, not its search:

    - the granular neighbourhood is computed on the plain travel matrix with one vehicle type (PyVRP computes it
      over every vehicle type and profile: 7 s at 1,000 jobs x 100 engineers with distinct homes);
    - the search starts from a greedy insertion plan instead of an exhaustive local search from a RANDOM
      solution, which with prohibitive (skill) arcs takes minutes at 500+ jobs (and from the empty plan, the
      first iteration alone overran a 10 s limit several times).
    """
    from pyvrp.IteratedLocalSearch import IteratedLocalSearch
    from pyvrp.PenaltyManager import PenaltyManager
    from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours

    params = pyvrp.SolveParams()
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    neighbours = compute_neighbours(neighbour_data, params.neighbourhood)
    ls = LocalSearch(data, rng, neighbours, PerturbationManager(params.perturbation))
    for op in params.operators:
        if op.supports(data):
            ls.add_operator(op(data))
    pm = PenaltyManager(params.penalty.midpoint_penalties(data), params.penalty)
    algo = IteratedLocalSearch(data, pm, ls, init, params.ils)
    return algo.run(stop, False, False, params.display_interval)
