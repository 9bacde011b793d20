"""Real-time assignment as insertion into a planned route (issue 14 point 2).

``insert_job`` puts one new job where it adds the least lateness, then the least travel, into the day sequence
of an engineer who may do it, without breaking any promised window: a stop planned on time stays on time, a
stop already late gets no later, and the engineer is back by the end of the shift (or no later than planned).
Stops the engineer has already left for (or a started job) are never moved or preceded.

Fast with thousands of engineers: a vectorised pre-filter (skills at level by numpy arrays, pin, shift end,
closeness of the job to any point of each route) keeps the ``max_candidates`` nearest qualified engineers; only
those are evaluated exactly (every position, O(route length) each). The index behind the pre-filter is cached
per plan and updated incrementally, so a stream of insertions does not rebuild it.

Parts (issue 14, restock stops): the van holds its stock (restocks already committed to it included) less what the
jobs on its route need; a job needing more may still go to that engineer with a stop before it at the service
centre (of ``centres``) nearest the job that holds the shortfall: the detour counts in travel and in the times of
the stops after it (their windows still hold), so a van that has the parts wins when otherwise equal.

An urgent job (R-S2, 2 h in-zone) that no engineer can reach in time may displace one movable stop (not started,
not pinned, not yet driven to) if that stop can itself be re-inserted on time elsewhere (or later on the same
route).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import numpy.typing as npt

from .routing_model import (
    Engineer,
    Job,
    Plan,
    Route,
    RouteFrame,
    ServiceCentre,
    Stop,
    UnplannedReason,
    for_engineer,
    restock_stop,
    schedule,
    stop_for,
    to_seconds,
)
from .routing_travel import as_points


@dataclass(frozen=True)
class Move:
    job_id: str
    from_engineer: str
    to_engineer: str
    position: int


@dataclass(frozen=True)
class Insertion:
    job_id: str
    engineer_id: str
    position: int
    arrival_s: int
    start_s: int
    lateness_s: int
    added_distance: int
    added_travel_s: int
    displaced: tuple[Move, ...] = ()
    restock: str | None = None  # a stop at this service centre right before the job (its van lacked the parts)
    restock_parts: tuple[tuple[str, int], ...] = ()  # what that stop takes from the centre
    restock_arrival_s: int | None = None


@dataclass(frozen=True)
class InsertResult:
    plan: Plan  # the new plan (the old one if nothing was inserted)
    insertion: Insertion | None
    reason: UnplannedReason | None = None
    detail: str = ""
    evaluated: int = 0  # engineers evaluated exactly after the pre-filter


class _Index:
    """Arrays over the plan's routes for the pre-filter; rebuilt per engineer list, patched per insertion."""

    def __init__(self, plan: Plan, engineers: Sequence[Engineer]) -> None:
        self.engineers = engineers
        by_id = {e.id: e for e in engineers}
        self.routes: list[Route] = [r for r in plan.routes if r.engineer_id in by_id]
        self.pos = {r.engineer_id: k for k, r in enumerate(self.routes)}
        self.eng: list[Engineer] = [by_id[r.engineer_id] for r in self.routes]
        n = len(self.routes)
        skills = sorted({s for e in self.eng for s in e.skills})
        self.levels = {s: np.fromiter((e.skills.get(s, 0) for e in self.eng), dtype=np.int64, count=n)
                       for s in skills}
        self.max_end = np.fromiter((max(r.max_end_s, r.return_s) for r in self.routes), dtype=np.int64, count=n)
        pts: list[tuple[float, float]] = []
        owner: list[int] = []
        for k, r in enumerate(self.routes):
            rp = _route_points(r)
            pts.extend(rp)
            owner.extend([k] * len(rp))
        self.pts = as_points(pts) if pts else np.zeros((0, 2))
        self.owner = np.asarray(owner, dtype=np.int64)
        self.plan_pos = {r.engineer_id: i for i, r in enumerate(plan.routes)}
        self.planned = {s.job_id for r in plan.routes for s in r.stops}

    def with_route(self, route: Route) -> _Index:
        new = object.__new__(_Index)
        new.__dict__.update(self.__dict__)
        k = self.pos[route.engineer_id]
        new.routes = list(self.routes)
        new.routes[k] = route
        new.max_end = self.max_end.copy()
        new.max_end[k] = max(route.max_end_s, route.return_s)
        keep = self.owner != k
        rp = _route_points(route)
        new.pts = np.concatenate([self.pts[keep], as_points(rp)])
        new.owner = np.concatenate([self.owner[keep], np.full(len(rp), k, dtype=np.int64)])
        new.planned = (self.planned - set(self.routes[k].job_ids)) | set(route.job_ids)
        return new

    def candidates(self, plan: Plan, job: Job, now_s: int, limit: int, *, restockable: bool = False) -> list[int]:
        n = len(self.routes)
        mask = np.ones(n, dtype=bool)
        for s, lvl in job.skills.items():
            lv = self.levels.get(s)
            if lv is None:
                return []
            mask &= lv >= lvl
        mask &= self.max_end >= now_s + job.fastest_service_s
        if job.pinned_to is not None:
            only = np.zeros(n, dtype=bool)
            if job.pinned_to in self.pos:
                only[self.pos[job.pinned_to]] = True
            mask &= only
        if not mask.any():
            return []
        prox = plan.travel.proximity(job.location, self.pts)
        prox = np.where(mask[self.owner], prox, np.inf)
        m = min(len(prox), max(limit * 16, 64))
        near = np.argpartition(prox, m - 1)[:m] if m < len(prox) else np.arange(len(prox))
        near = near[np.argsort(prox[near], kind="stable")]
        out: list[int] = []
        seen: set[int] = set()
        for i in near:
            if not np.isfinite(prox[i]):
                break
            k = int(self.owner[i])
            if k in seen:
                continue
            seen.add(k)
            e = self.eng[k]
            if job.tools <= e.tools and e.qualifies(replace(job, parts={}) if restockable else job):
                out.append(k)
                if len(out) >= limit:
                    break
        return out


def _route_points(r: Route) -> list[tuple[float, float]]:
    return [r.start_location] + [s.location for s in r.stops] + [r.end_location]


_CACHE: weakref.WeakKeyDictionary[Plan, _Index] = weakref.WeakKeyDictionary()


def _index(plan: Plan, engineers: Sequence[Engineer]) -> _Index:
    idx = _CACHE.get(plan)
    if idx is None or idx.engineers is not engineers:
        idx = _Index(plan, engineers)
        _CACHE[plan] = idx
    return idx


@dataclass(frozen=True)
class _Option:
    key: tuple[int, int, int]  # (lateness, added travel s, added distance)
    route_k: int
    position: int
    arrival_s: int
    start_s: int
    restock: Stop | None = None  # a restock stop put right before the job


def shortfall(r: Route, e: Engineer, job: Job) -> dict[str, int]:
    """What the van lacks for ``job`` after the jobs already on the route (restock stops' parts are in the van's
    stock already: they were moved when committed)."""
    out = {}
    for part, q in sorted(job.parts.items()):
        left = max(e.van_stock.get(part, 0) - sum(s.parts.get(part, 0) for s in r.stops if s.restock is None), 0)
        if q > left:
            out[part] = q - left
    return out


def _first_open(r: Route, now_s: int) -> int:
    """First position a new stop may take: after a started stop and after stops the engineer has left for."""
    p = 0
    for i, s in enumerate(r.stops):
        if s.started or s.arrival_s - s.leg_s < now_s or s.start_s <= now_s:
            p = i + 1
    return p


def _evaluate(r: Route, e: Engineer, sj: Stop, service: int, now_s: int, t_to: npt.NDArray[np.int64],
              d_to: npt.NDArray[np.int64], t_from: npt.NDArray[np.int64], d_from: npt.NDArray[np.int64],
              job: Job) -> tuple[tuple[int, int, int], int, int, int] | None:
    """Best position in one route: (key, position, arrival, start), or None. t_to[i]: point i -> job."""
    if e.van_capacity is not None and sum(s.volume for s in r.stops) + job.volume > e.van_capacity:
        return None
    if shortfall(r, e, job):
        return None
    stops = r.stops
    n = len(stops)
    limit_end = max(r.max_end_s, r.return_s)
    best: tuple[tuple[int, int, int], int, int, int] | None = None
    for p in range(_first_open(r, now_s), n + 1):
        dep = max(now_s, r.ready_s if p == 0 else stops[p - 1].end_s)
        arr = dep + int(t_to[p])
        start = max(arr, sj.earliest_s)
        late = max(0, start - sj.latest_s)
        if late and not sj.late_allowed:
            continue
        if best is not None and late > best[0][0]:
            continue
        t = start + service
        ok = True
        if p < n:
            nxt = stops[p]
            arr_k = t + int(t_from[p + 1])
            for k in range(p, n):
                s = stops[k]
                if k > p:
                    arr_k = t + s.leg_s
                start_k = max(arr_k, s.earliest_s)
                if start_k <= s.start_s:
                    t = None  # type: ignore[assignment]  # no push from here on: the rest is unchanged
                    break
                if start_k > (s.latest_s if s.start_s <= s.latest_s else s.start_s):
                    ok = False
                    break
                t = start_k + (s.end_s - s.start_s)
            if not ok:
                continue
            if t is not None and t + r.return_leg_s > limit_end:
                continue
            old_d, old_t = nxt.leg_distance, nxt.leg_s
            add_d = int(d_to[p]) + int(d_from[p + 1]) - old_d
            add_t = int(t_to[p]) + int(t_from[p + 1]) - old_t
        else:
            back = t + int(t_from[n + 1])
            if back > limit_end:
                continue
            old_d, old_t = (r.return_distance, r.return_leg_s) if n else (0, 0)
            add_d = int(d_to[p]) + int(d_from[n + 1]) - old_d
            add_t = int(t_to[p]) + int(t_from[n + 1]) - old_t
        key = (late, add_t, add_d)
        if best is None or key < best[0]:
            best = (key, p, arr, start)
    return best


def _relay(r: Route, stops: list[Stop], p: int, plan: Plan, now_s: int) -> Route:
    """The route with ``stops`` from position ``p`` on re-laid after the kept prefix."""
    prefix = list(r.stops[:p])
    if p == 0:
        frame = RouteFrame(r.engineer_id, r.start_location, r.end_location, max(r.ready_s, now_s),
                           r.shift_start_s, r.shift_end_s, r.max_end_s)
        nr = schedule(frame, stops[p:], plan.travel)
        return replace(nr, ready_s=r.ready_s)
    last = prefix[-1]
    frame = RouteFrame(r.engineer_id, last.location, r.end_location, max(last.end_s, now_s), r.shift_start_s,
                       r.shift_end_s, r.max_end_s)
    tail = schedule(frame, stops[p:], plan.travel, just_in_time=False)
    if not tail.stops:
        # the last stop was taken out: the drive home is from the new last stop (an empty tail has no legs,
        # and a zero return leg let the next insertion into this route overrun the shift end)
        d, t = plan.travel.legs(as_points([last.location]), as_points([r.end_location]))
        return replace(r, stops=tuple(prefix), return_distance=int(d[0]), return_leg_s=int(t[0]),
                       return_s=last.end_s + int(t[0]))
    return replace(r, stops=tuple(prefix) + tail.stops, return_distance=tail.return_distance,
                   return_leg_s=tail.return_leg_s, return_s=tail.return_s)


def _best_in(plan: Plan, idx: _Index, cands: list[int], job: Job, sj: Stop, now_s: int,
             centres: Sequence[ServiceCentre] = ()) -> _Option | None:
    if not cands:
        return None
    to_job: list[int] = []
    if job.parts and centres:
        _, tc = plan.travel.legs(as_points([c.location for c in centres]),
                                 as_points([job.location] * len(centres)))
        to_job = [int(x) for x in tc]
    pts: list[tuple[float, float]] = []
    spans: list[tuple[int, int]] = []
    for k in cands:
        rp = _route_points(idx.routes[k])
        spans.append((len(pts), len(rp)))
        pts.extend(rp)
    arr = as_points(pts)
    jrep = np.repeat(as_points([job.location]), len(arr), axis=0)
    d_to, t_to = plan.travel.legs(arr, jrep)
    d_from, t_from = plan.travel.legs(jrep, arr)
    best: _Option | None = None
    for k, (a, m) in zip(cands, spans, strict=True):
        r = idx.routes[k]
        short = shortfall(r, idx.eng[k], job) if job.parts else {}
        if short:
            opt = _with_restock(plan, r, k, short, for_engineer(sj, idx.eng[k]), now_s, centres, to_job)
            if opt is not None and (best is None or opt.key < best.key):
                best = opt
            continue
        res = _evaluate(r, idx.eng[k], sj, job.service_s_for(idx.eng[k]), now_s, t_to[a:a + m], d_to[a:a + m],
                        t_from[a:a + m], d_from[a:a + m], job)
        if res is None:
            continue
        key, p, arrival, start = res
        if best is None or key < best.key:
            best = _Option(key, k, p, arrival, start)
    return best


def _with_restock(plan: Plan, r: Route, k: int, short: dict[str, int], sj: Stop, now_s: int,
                  centres: Sequence[ServiceCentre], to_job: Sequence[int]) -> _Option | None:
    """Best position for [a restock stop, the job] in one route: the stop at the centre nearest the job (by
    travel, ``to_job``) holding the shortfall; every later stop keeps its window, the engineer is back in time."""
    able = [(t, c) for t, c in zip(to_job, centres, strict=True) if all(c.stock.get(p, 0) >= q
                                                                         for p, q in short.items())]
    if not able:
        return None
    centre = min(able, key=lambda x: (x[0], x[1].id))[1]
    rs = replace(restock_stop(centre, max(r.max_end_s, r.return_s)), parts=dict(short))
    limit_end = max(r.max_end_s, r.return_s)
    best: _Option | None = None
    for p in range(_first_open(r, now_s), len(r.stops) + 1):
        stops = list(r.stops)
        stops[p:p] = [rs, sj]
        nr = _relay(r, stops, p, plan, now_s)
        st = nr.stops[p + 1]
        late = st.lateness_s
        if (late and not sj.late_allowed) or nr.return_s > limit_end:
            continue
        if any(new.start_s > (old.latest_s if old.start_s <= old.latest_s else old.start_s)
               for old, new in zip(r.stops[p:], nr.stops[p + 2:], strict=True)):
            continue
        key = (late, nr.travel_s - r.travel_s, nr.distance - r.distance)
        if best is None or key < best.key:
            best = _Option(key, k, p, st.arrival_s, st.start_s, restock=nr.stops[p])
    return best


def _replaced(plan: Plan, idx: _Index, route: Route) -> tuple[Route, ...]:
    routes = list(plan.routes)
    routes[idx.plan_pos[route.engineer_id]] = route
    return tuple(routes)


def _apply(plan: Plan, idx: _Index, opt: _Option, sj: Stop, now_s: int) -> tuple[Plan, _Index, Route]:
    r = idx.routes[opt.route_k]
    sj = for_engineer(sj, idx.eng[opt.route_k])  # this engineer's service time (by his level)
    stops = list(r.stops)
    stops[opt.position:opt.position] = [sj] if opt.restock is None else [opt.restock, sj]
    nr = _relay(r, stops, opt.position, plan, now_s)
    routes = _replaced(plan, idx, nr)
    unplanned = tuple(u for u in plan.unplanned if u.job_id != sj.job_id)
    new_plan = replace(plan, routes=routes, unplanned=unplanned)
    new_idx = idx.with_route(nr)
    _CACHE[new_plan] = new_idx
    return new_plan, new_idx, nr


def insert_job(plan: Plan, job: Job, engineers: Sequence[Engineer], now: datetime, *, max_candidates: int = 24,
               allow_displace: bool | None = None, centres: Sequence[ServiceCentre] = ()) -> InsertResult:
    """Cheapest feasible insertion of ``job`` (least added lateness, then travel); the plan is not mutated.
    ``centres``: service centres (with their stock) a route may stop at first when the van lacks the job's parts."""
    now_s = to_seconds(plan.epoch, now, up=False)
    idx = _index(plan, engineers)
    if job.id in idx.planned:
        raise ValueError(f"job {job.id} is already planned")
    sj = stop_for(job, plan.epoch, earliest_floor=now_s)
    restockable = bool(job.parts) and any(all(c.stock.get(p, 0) >= q for p, q in job.parts.items())
                                          for c in centres)
    cands = idx.candidates(plan, job, now_s, max_candidates, restockable=restockable)
    if not cands:
        return InsertResult(plan, None, UnplannedReason.NO_QUALIFIED_ENGINEER,
                            "no engineer on shift may do it (skills, tools, parts, pin)")
    best = _best_in(plan, idx, cands, job, sj, now_s, centres)
    displace = job.urgent if allow_displace is None else allow_displace
    if displace and (best is None or best.key[0] > 0):
        moved = _displace(plan, idx, cands, job, sj, now_s, max_candidates, centres)
        if moved is not None:
            return moved
    if best is None:
        return InsertResult(plan, None, UnplannedReason.CANNOT_FIT_WINDOW,
                            "no qualified engineer can take it without breaking a promised window or the shift",
                            evaluated=len(cands))
    new_plan, _, nr = _apply(plan, idx, best, sj, now_s)
    pos = best.position + (0 if best.restock is None else 1)
    st = nr.stops[pos]
    rs = None if best.restock is None else nr.stops[best.position]
    ins = Insertion(job.id, nr.engineer_id, pos, st.arrival_s, st.start_s, st.lateness_s,
                    best.key[2], best.key[1], restock=rs.restock if rs else None,
                    restock_parts=tuple(sorted(rs.parts.items())) if rs else (),
                    restock_arrival_s=rs.arrival_s if rs else None)
    return InsertResult(new_plan, ins, evaluated=len(cands))


def _displace(plan: Plan, idx: _Index, cands: list[int], job: Job, sj: Stop, now_s: int,
              max_candidates: int, centres: Sequence[ServiceCentre] = ()) -> InsertResult | None:
    """Urgent job: take one movable stop out of a nearby route, put the job there on time (behind a restock stop
    at one of ``centres`` when the van lacks its parts), re-insert the stop."""
    for k in cands:
        r = idx.routes[k]
        first = _first_open(r, now_s)
        for i in range(first, len(r.stops)):
            victim = r.stops[i]
            if victim.pinned or victim.started:
                continue
            stops = list(r.stops)
            del stops[i]
            r2 = _relay(r, stops, i, plan, now_s)
            plan2 = replace(plan, routes=_replaced(plan, idx, r2))
            idx2 = idx.with_route(r2)
            _CACHE[plan2] = idx2
            opt = _best_in(plan2, idx2, [k], job, sj, now_s, centres)
            if opt is None or opt.key[0] > 0:
                continue
            plan3, idx3, nr = _apply(plan2, idx2, opt, sj, now_s)
            vjob = _job_of(victim, plan)
            vs = replace(victim, earliest_s=max(victim.earliest_s, now_s), late_allowed=False)
            vc = idx3.candidates(plan3, vjob, now_s, max_candidates)
            vopt = _best_in(plan3, idx3, vc, vjob, vs, now_s)
            if vopt is None or vopt.key[0] > 0:
                continue
            plan4, _, vr = _apply(plan3, idx3, vopt, vs, now_s)
            nr4 = plan4.route_of(r.engineer_id) or nr
            touched = {nr4.engineer_id: nr4, vr.engineer_id: vr}
            if any(_overruns(x, plan.route_of(eid)) for eid, x in touched.items()):
                continue
            st = next(s for s in nr4.stops if s.job_id == job.id)
            pos = nr4.job_ids.index(job.id)
            # its restock stop: the last one before it (the re-inserted stop may have gone in between)
            rs = None if opt.restock is None else next(s for s in reversed(nr4.stops[:pos]) if s.restock is not None)
            ins = Insertion(job.id, r.engineer_id, pos, st.arrival_s, st.start_s, st.lateness_s,
                            plan4.totals.distance - plan.totals.distance,
                            plan4.totals.travel_s - plan.totals.travel_s,
                            (Move(victim.job_id, r.engineer_id, vr.engineer_id, vopt.position),),
                            restock=rs.restock if rs else None,
                            restock_parts=tuple(sorted(rs.parts.items())) if rs else (),
                            restock_arrival_s=rs.arrival_s if rs else None)
            return InsertResult(plan4, ins, evaluated=len(cands))
    return None


def _overruns(new: Route, old: Route | None) -> bool:
    """Whether a route changed by a displacement is back later than the latest return (or than it was)."""
    return new.return_s > max(new.max_end_s, old.return_s if old is not None and old.stops else new.max_end_s)


def _job_of(stop: Stop, plan: Plan) -> Job:
    """A displaced stop as a job again: its window (on time only), service (by level), skills, tools, parts."""
    rule = stop.service_rule
    return Job(id=stop.job_id, location=stop.location, earliest=plan.time(stop.earliest_s),
               latest=plan.time(max(stop.latest_s, stop.earliest_s)),
               service_minutes=(rule.base_s if rule else stop.end_s - stop.start_s) / 60,
               skills=stop.skills, tools=stop.tools, parts=stop.parts, volume=stop.volume,
               service_by_level={lvl: s / 60 for lvl, s in rule.by_level} if rule else {},
               level_skill=rule.skill if rule else None)
