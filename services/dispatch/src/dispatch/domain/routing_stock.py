"""Centre stock shared by the routes of one plan (issue 14, stock and restock stops).

The solver checks a centre's stock per restock stop, so two routes may both plan to take its last unit. After
solving, :func:`share_centres` walks the routes in order (the plan's route order) and gives each restock stop
exactly what the jobs after it (up to the next restock stop) need beyond what the van still holds then
(``Stop.parts`` of the restock stop), from what the centre has left after the routes before it. A stop its centre
can no longer serve moves to the nearest other centre (by travel from the previous point) that still holds all of
it; failing that it takes what is left, and a job whose parts are then short leaves the route, unplanned with
``parts_unavailable``. Changed routes are laid again (their windows and shift still checked); pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from .routing_model import (
    Engineer,
    Route,
    RouteFrame,
    ServiceCentre,
    Stop,
    Unplanned,
    UnplannedReason,
    restock_stop,
)
from .routing_travel import TravelModel, as_points

Lay = Callable[[RouteFrame, list[Stop]], tuple[Route, list[Stop]]]


def _segment(stops: Sequence[Stop], i: int) -> list[Stop]:
    """The job stops after the restock stop at ``i``, up to the next restock stop."""
    out = []
    for s in stops[i + 1:]:
        if s.restock is not None:
            break
        out.append(s)
    return out


def _need(seg: Sequence[Stop], held: Mapping[str, int]) -> dict[str, int]:
    demand: dict[str, int] = {}
    for s in seg:
        for p, q in s.parts.items():
            demand[p] = demand.get(p, 0) + q
    return {p: d - max(held.get(p, 0), 0) for p, d in sorted(demand.items()) if d > max(held.get(p, 0), 0)}


def exact_takes(stops: Sequence[Stop], van: Mapping[str, int]) -> list[Stop]:
    """The stops with each restock stop's ``parts`` = what the jobs after it need beyond the van's stock then."""
    held = dict(van)
    out: list[Stop] = []
    for i, s in enumerate(stops):
        if s.restock is not None:
            take = _need(_segment(stops, i), held)
            for p, q in take.items():
                held[p] = held.get(p, 0) + q
            out.append(replace(s, parts=take))
            continue
        for p, q in s.parts.items():
            held[p] = held.get(p, 0) - q
        out.append(s)
    return out


def share_centres(routes: Sequence[Route], engineers: Mapping[str, Engineer], centres: Sequence[ServiceCentre],
                  travel: TravelModel, frames: Mapping[str, RouteFrame], lay: Lay,
                  penalty: Mapping[str, float | None]) -> tuple[list[Route], list[Unplanned]]:
    """Allocate the centres' stock over ``routes`` in order (see the module); the routes and the jobs that left."""
    left = {c.id: dict(c.stock) for c in centres}
    by_id = {c.id: c for c in centres}
    out_routes: list[Route] = []
    gone: list[Unplanned] = []
    for route in routes:
        e = engineers.get(route.engineer_id)
        if e is None or not any(s.restock is not None for s in route.stops):
            out_routes.append(route)
            continue
        stops = list(route.stops)
        held = dict(e.van_stock)
        kept: list[Stop] = []
        changed = False
        i = 0
        while i < len(stops):
            s = stops[i]
            if s.restock is None:
                for p, q in s.parts.items():
                    held[p] = held.get(p, 0) - q
                kept.append(s)
                i += 1
                continue
            planned = s.restock
            seg = _segment(stops, i)
            need = _need(seg, held)
            pick = planned if _covers(left.get(planned, {}), need) else _nearest(
                kept[-1].location if kept else route.start_location, need, left, centres, travel)
            if pick is not None:
                got = dict(need)
                if pick != planned:
                    s, changed = replace(restock_stop(by_id[pick], s.latest_s), parts=got), True
            else:  # nowhere holds all of it: what the planned centre has left
                pick = planned
                got = {p: min(q, max(left.setdefault(pick, {}).get(p, 0), 0)) for p, q in need.items()}
                got = {p: q for p, q in got.items() if q > 0}
            for p, q in got.items():
                left[pick][p] = left[pick].get(p, 0) - q
                held[p] = held.get(p, 0) + q
            if got:
                kept.append(replace(s, parts=got))
            else:  # nothing to take (the van holds enough) or nothing left: the stop goes
                changed = True
            for j in seg:
                if all(held.get(p, 0) >= q for p, q in j.parts.items()):
                    for p, q in j.parts.items():
                        held[p] = held.get(p, 0) - q
                    kept.append(j)
                else:
                    changed = True
                    gone.append(Unplanned(j.job_id, UnplannedReason.PARTS_UNAVAILABLE,
                                          "its parts are not left at any service centre the route could stop at "
                                          "(taken by other routes of the plan)", penalty.get(j.job_id)))
            i += 1 + len(seg)
        if changed:
            new, removed = lay(frames[route.engineer_id], kept)
            for s in removed:
                gone.append(Unplanned(s.job_id, UnplannedReason.CANNOT_FIT_WINDOW,
                                      "no longer fits its window once its restock stop moved",
                                      penalty.get(s.job_id)))
            final = exact_takes(new.stops, e.van_stock)
            for before, after in zip(new.stops, final, strict=True):  # what a removed job needed goes back
                if before.restock is not None:
                    for p, q in before.parts.items():
                        left[before.restock][p] = left[before.restock].get(p, 0) + q - after.parts.get(p, 0)
            route = replace(new, stops=tuple(final))
        else:
            route = replace(route, stops=tuple(kept))
        out_routes.append(route)
    return out_routes, gone


def _covers(have: Mapping[str, int], need: Mapping[str, int]) -> bool:
    return all(have.get(p, 0) >= q for p, q in need.items())


def _nearest(here: tuple[float, float], need: Mapping[str, int], left: Mapping[str, Mapping[str, int]],
             centres: Sequence[ServiceCentre], travel: TravelModel) -> str | None:
    able = [c for c in centres if _covers(left.get(c.id, {}), need)]
    if not able:
        return None
    _, t = travel.legs(as_points([here] * len(able)), as_points([c.location for c in able]))
    return min(zip((int(x) for x in t), (c.id for c in able), strict=True))[1]
