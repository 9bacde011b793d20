"""Pure route-planning core (issue 14): plan_day, insert_job, verify. No stack; solver limits <= 1 s.

Coordinates are "minutes of driving": EuclideanTravel(scale=60) makes one unit 60 s and 60 distance units.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from dispatch.domain.routing import (
    Engineer,
    EuclideanTravel,
    HaversineTravel,
    Job,
    MatrixTravel,
    PlanOptions,
    UnplannedReason,
    insert_job,
    plan_day,
    verify,
)
from dispatch.domain.routing_model import RESTOCK_PREFIX, ServiceCentre
from dispatch.domain.routing_travel import leg, matrices

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
T = EuclideanTravel(scale=60)
FAST = PlanOptions(time_limit_s=1.0, max_iterations=300)


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def job(jid: str, loc=(10.0, 0.0), e=0.0, lat=600.0, service=30.0, **kw) -> Job:
    return Job(id=jid, location=loc, earliest=at(e), latest=at(lat), service_minutes=service, **kw)


def eng(eid: str, loc=(0.0, 0.0), start=0.0, end=600.0, **kw) -> Engineer:
    return Engineer(id=eid, start=loc, shift_start=at(start), shift_end=at(end), **kw)


def plan(jobs, engs, **kw):
    return plan_day(jobs, engs, T, NOW, replace(FAST, **kw) if kw else FAST)


def where(p, jid):
    return next((r.engineer_id for r in p.routes if jid in r.job_ids), None)


def reason(p, jid):
    return next(u.reason for u in p.unplanned if u.job_id == jid)


# ------------------------------------------------------------------------------------------------ plan_day
def test_R_S2_window_met_is_reported_and_true():
    jobs = [job("A", (10, 0), e=0, lat=120), job("B", (20, 0), e=60, lat=180)]
    engs = [eng("E1")]
    p = plan(jobs, engs)
    assert verify(p, jobs, engs) == []
    r = p.route_of("E1")
    assert r is not None and set(r.job_ids) == {"A", "B"}
    for s in r.stops:
        assert s.on_time and s.start_s <= p.seconds(next(j for j in jobs if j.id == s.job_id).latest)
    a = r.stops[0]
    assert (a.arrival_s, a.start_s, a.end_s) == (600, 600, 600 + 1800)  # just in time: no early wait on site
    assert p.time(a.start_s) == at(10)


def test_skill_levels_respected_far_qualified_engineer_wins():
    jobs = [job("J", (5, 0), skills={"boiler": 3})]
    engs = [eng("near", (4, 0), skills={"boiler": 2}), eng("far", (50, 0), skills={"boiler": 3})]
    p = plan(jobs, engs)
    assert where(p, "J") == "far"
    assert verify(p, jobs, engs) == []


def test_no_qualified_engineer_is_the_reason():
    jobs = [job("J", skills={"lift": 1}), job("K", tools=frozenset({"ladder"}))]
    p = plan(jobs, [eng("E", skills={"ac": 3})])
    assert reason(p, "J") == UnplannedReason.NO_QUALIFIED_ENGINEER
    assert reason(p, "K") == UnplannedReason.NO_QUALIFIED_ENGINEER


def test_cannot_fit_window_is_the_reason():
    # 100 minutes away, must start within 60 minutes, may not be late
    p = plan([job("J", (100, 0), lat=60)], [eng("E", end=600)])
    assert reason(p, "J") == UnplannedReason.CANNOT_FIT_WINDOW


def test_shift_end_is_the_latest_return():
    # each job 50 min away, 60 min service: 160 min alone; the shift is 200 min, so only one fits
    jobs = [job("A", (50, 0), penalty=100), job("B", (-50, 0), penalty=200)]
    engs = [eng("E", end=200)]
    p = plan(jobs, engs)
    r = p.route_of("E")
    assert r is not None and r.job_ids == ("B",)
    assert r.return_s <= p.seconds(at(200))
    assert reason(p, "A") == UnplannedReason.DROPPED_UNDER_CAPACITY
    assert verify(p, jobs, engs) == []


def test_overtime_allowed_is_bounded_and_reported():
    jobs = [job("A", (50, 0), service=60)]
    engs = [eng("E", end=150, max_overtime_minutes=20)]  # 50 + 60 + 50 = 160 min: 10 min overtime
    p = plan(jobs, engs, overtime_cost_per_hour=1.0)
    assert p.totals.overtime_s == 600
    assert verify(p, jobs, engs) == []


def test_pin_respected():
    jobs = [job("J", (1, 0), pinned_to="far")]
    engs = [eng("near", (0, 0)), eng("far", (80, 0))]
    p = plan(jobs, engs)
    assert where(p, "J") == "far"


def test_pinned_to_engineer_off_shift_is_reported():
    p = plan([job("J", pinned_to="gone")], [eng("E"), eng("gone", start=-600, end=-10)])
    assert reason(p, "J") == UnplannedReason.ENGINEER_UNAVAILABLE


def test_started_job_stays_first_with_its_engineer():
    started = job("S", (30, 0), e=-60, lat=60, service=90, pinned_to="E2", started=True, started_at=at(-30))
    other = job("O", (31, 0))
    engs = [eng("E1", (30, 0)), eng("E2", (0, 0))]
    p = plan([started, other], engs)
    r2 = p.route_of("E2")
    assert r2 is not None and r2.stops[0].job_id == "S" and r2.stops[0].started
    assert r2.stops[0].start_s == p.seconds(at(-30)) and r2.stops[0].end_s == p.seconds(at(60))
    assert verify(p, [started, other], engs) == []


def test_dropped_jobs_are_the_cheapest_under_shortage():
    # six one-hour jobs at the engineer's base, a four-hour shift: four fit, the two cheapest are left
    jobs = [job(f"J{k}", (0, 0), service=60, penalty=float(p)) for k, p in enumerate([50, 900, 10, 700, 300, 800])]
    p = plan(jobs, [eng("E", end=240)])
    dropped = {u.job_id for u in p.unplanned}
    assert dropped == {"J0", "J2"}
    assert all(u.reason == UnplannedReason.DROPPED_UNDER_CAPACITY for u in p.unplanned)


def test_R_S9_late_allowed_job_is_served_late_and_reported_late():
    # alone on a far site: can only start 100 min in, the window closes at 60; lateness costs little
    jobs = [job("L", (100, 0), lat=60, penalty=1000, late_penalty=1)]
    engs = [eng("E")]
    p = plan(jobs, engs)
    r = p.route_of("E")
    assert r is not None and r.job_ids == ("L",)
    s = r.stops[0]
    assert not s.on_time and s.lateness_s == 40 * 60
    assert p.totals.late_jobs == 1 and p.totals.lateness_s == 2400
    assert verify(p, jobs, engs) == []


def test_van_capacity_and_stock():
    jobs = [job("A", (1, 0), volume=3), job("B", (2, 0), volume=3), job("P", (3, 0), parts={"pump": 1})]
    engs = [eng("E", van_capacity=4, van_stock={"pump": 1}), eng("F", (1, 1), van_capacity=4)]
    p = plan(jobs, engs)
    assert where(p, "P") == "E"
    assert where(p, "A") != where(p, "B")
    assert verify(p, jobs, engs) == []


def test_engineers_alike_share_one_vehicle_type_and_profile():
    jobs = [job(f"J{k}", (k, k)) for k in range(6)]
    p = plan(jobs, [eng(f"E{k}") for k in range(4)])
    assert (p.solver.vehicle_types, p.solver.profiles) == (1, 1)


def test_totals_add_up():
    jobs = [job("A", (10, 0)), job("B", (0, 10))]
    p = plan(jobs, [eng("E1"), eng("E2", (5, 5))])
    t = p.totals
    assert t.planned_jobs == 2 and t.unplanned_jobs == 0
    assert t.distance == sum(r.distance for r in p.routes)
    assert t.engineers_used == sum(1 for r in p.routes if r.stops)


# ------------------------------------------------------------------------------------------------ travel
def test_haversine_leg_equals_matrix_entry():
    pts = [(31.23, 121.47), (31.30, 121.50), (31.10, 121.30)]
    h = HaversineTravel(speed_kmh=30)
    d, t = matrices(h, pts)
    assert leg(h, pts[0], pts[2]) == (int(d[0, 2]), int(t[0, 2]))
    assert 20_000 < d[0, 2] < 40_000  # ~24 km x 1.3


def test_matrix_travel_uses_the_given_matrix():
    pts = [(0.0, 0.0), (1.0, 0.0)]
    m = MatrixTravel({p: i for i, p in enumerate(pts)}, np.array([[0, 7], [9, 0]]), np.array([[0, 70], [90, 0]]))
    assert leg(m, pts[0], pts[1]) == (7, 70) and leg(m, pts[1], pts[0]) == (9, 90)


def test_dimacs_truncation():
    e = EuclideanTravel(scale=10)
    assert leg(e, (0, 0), (1, 1)) == (14, 14)  # sqrt(2) * 10 = 14.14 -> 14


# ------------------------------------------------------------------------------------------------ verifier
def _two_stop_plan():
    jobs = [job("A", (10, 0), lat=60, skills={"ac": 2}), job("B", (20, 0), e=30, lat=120)]
    engs = [eng("E", skills={"ac": 2}), eng("F", skills={"ac": 1})]
    p = plan(jobs, engs)
    assert verify(p, jobs, engs) == []
    return p, jobs, engs


def _with_route(p, r):
    return replace(p, routes=tuple(r if x.engineer_id == r.engineer_id else x for x in p.routes))


def test_verifier_catches_a_missed_window():
    p, jobs, engs = _two_stop_plan()
    r = p.route_of("E")
    assert r is not None and r.job_ids == ("A", "B")
    late = replace(r.stops[0], start_s=r.stops[0].start_s + 3600, end_s=r.stops[0].end_s + 3600)
    broken = _with_route(p, replace(r, stops=(late, r.stops[1])))
    kinds = {v.kind for v in verify(broken, jobs, engs)}
    assert "window" in kinds and "travel" in kinds  # A starts after 60 min, and B now overlaps A


def test_verifier_catches_a_claimed_window_from_a_stale_deadline():
    p, jobs, engs = _two_stop_plan()
    r = p.route_of("E")
    assert r is not None
    stale = replace(r.stops[0], latest_s=10**6, start_s=5000, end_s=6800, arrival_s=5000)
    broken = _with_route(p, replace(r, stops=(stale, r.stops[1])))
    kinds = {v.kind for v in verify(broken, jobs, engs)}
    assert "window" in kinds and "claim" in kinds


def test_verifier_catches_skill_missing_and_impossible_travel():
    p, jobs, engs = _two_stop_plan()
    r = p.route_of("E")
    assert r is not None
    moved = replace(r, engineer_id="F")  # F has ac level 1 < 2
    broken = replace(p, routes=(moved, replace(r, stops=())))
    assert "skill" in {v.kind for v in verify(broken, jobs, engs)}
    teleport = replace(r.stops[1], arrival_s=r.stops[0].end_s, start_s=max(r.stops[0].end_s, 1800),
                       end_s=max(r.stops[0].end_s, 1800) + 1800)
    broken = _with_route(p, replace(r, stops=(r.stops[0], teleport)))
    assert "travel" in {v.kind for v in verify(broken, jobs, engs)}
    dropped = _with_route(p, replace(r, stops=r.stops[:1]))
    assert "missing" in {v.kind for v in verify(dropped, jobs, engs)}


def test_verifier_catches_a_moved_started_job_and_shift_overrun():
    started = job("S", (5, 0), e=-60, lat=60, pinned_to="E", started=True, started_at=at(-10))
    jobs = [started, job("A", (10, 0))]
    engs = [eng("E", end=300), eng("F", end=300)]
    p = plan(jobs, engs)
    r = p.route_of("E")
    assert r is not None and r.stops[0].job_id == "S"
    swapped = _with_route(p, replace(r, stops=tuple(reversed(r.stops))) if len(r.stops) > 1 else
                          replace(r, engineer_id="F"))
    assert {"started", "pin"} & {v.kind for v in verify(swapped, jobs, engs)}
    over = _with_route(p, replace(r, return_s=10**6))
    assert "shift_end" in {v.kind for v in verify(over, jobs, engs)}


# ------------------------------------------------------------------------------------------------ insertion
def _day():
    jobs = [job("A", (10, 0), e=0, lat=60), job("B", (20, 0), e=120, lat=150), job("C", (-10, 0), e=0, lat=300)]
    engs = (eng("E1", skills={"ac": 2}), eng("E2", (-10, 0), skills={"ac": 1}))
    return plan(list(jobs), engs), jobs, engs


def test_insertion_keeps_promised_windows():
    p, jobs, engs = _day()
    on_time = {s.job_id for r in p.routes for s in r.stops if s.on_time}
    new = job("N", (15, 0), e=0, lat=400, service=30)
    res = insert_job(p, new, engs, NOW)
    assert res.insertion is not None
    assert verify(res.plan, jobs + [new], engs) == []
    after = {s.job_id for r in res.plan.routes for s in r.stops if s.on_time}
    assert on_time <= after
    assert p.route_of(res.insertion.engineer_id) != res.plan.route_of(res.insertion.engineer_id)  # old plan intact


def test_insertion_least_lateness_then_least_travel():
    p, jobs, engs = _day()
    near_e2 = job("N", (-11, 0), lat=400)
    res = insert_job(p, near_e2, engs, NOW)
    assert res.insertion is not None and res.insertion.engineer_id == "E2" and res.insertion.lateness_s == 0
    needs_ac2 = job("M", (-11, 0), lat=400, skills={"ac": 2})
    res = insert_job(p, needs_ac2, engs, NOW)
    assert res.insertion is not None and res.insertion.engineer_id == "E1"


def test_insertion_refuses_to_break_a_window_and_says_why():
    p, jobs, engs = _day()
    impossible = job("X", (300, 0), lat=30)
    res = insert_job(p, impossible, engs, NOW)
    assert res.insertion is None and res.reason == UnplannedReason.CANNOT_FIT_WINDOW and res.plan is p
    res = insert_job(p, job("Y", skills={"gas": 1}), engs, NOW)
    assert res.reason == UnplannedReason.NO_QUALIFIED_ENGINEER


def test_insertion_never_before_a_stop_already_driven_to():
    p, jobs, engs = _day()
    r = p.route_of("E1")
    assert r is not None and r.job_ids[0] == "A"
    later = NOW + timedelta(minutes=5)  # E1 left for A at 08:00
    res = insert_job(p, job("N", (1, 0), lat=400), engs, later, max_candidates=1)
    assert res.insertion is not None
    nr = res.plan.route_of(res.insertion.engineer_id)
    assert nr is not None
    if res.insertion.engineer_id == "E1":
        assert nr.job_ids[0] == "A"
    assert res.insertion.start_s >= p.seconds(later)


def test_R_S2_urgent_job_displaces_a_job_whose_window_allows_it():
    # E's short day is full with a flexible job F; G is too far to reach the urgent job within 60 min
    flex = job("F", (10, 0), e=0, lat=480, service=200)
    engs = (eng("E", end=230), eng("G", (80, 0), end=600))
    p = plan([flex], engs)
    assert where(p, "F") == "E"
    urgent = job("U", (12, 0), e=0, lat=60, service=30, urgent=True)
    assert insert_job(p, urgent, engs, NOW, allow_displace=False).insertion is None
    res = insert_job(p, urgent, engs, NOW)
    assert res.insertion is not None and res.insertion.lateness_s == 0 and res.insertion.engineer_id == "E"
    assert [(m.job_id, m.from_engineer, m.to_engineer) for m in res.insertion.displaced] == [("F", "E", "G")]
    assert where(res.plan, "F") == "G"
    assert all(s.on_time for r in res.plan.routes for s in r.stops)
    assert verify(res.plan, [flex, urgent], engs) == []


def test_a_job_in_progress_that_runs_past_the_shift_end_is_a_fact_not_a_plan_overrun():
    # found by the hypothesis property: a level-1 engineer's started job takes 120 min and ends at the shift end;
    # he is back a minute later, which no plan could avoid, so only a job the plan added there is an overrun
    started = job("S", (0, 1), e=-60, lat=-30, service=5, pinned_to="E", started=True, started_at=NOW,
                  service_by_level={1: 120.0, 3: 5.0}, level_skill="ac", skills={"ac": 1})
    engs = [eng("E", end=120, skills={"ac": 1})]
    p = plan([started], engs)
    route = p.route_of("E")
    assert route is not None and route.return_s == 120 * 60 + 60
    assert verify(p, [started], engs) == []
    extra = job("X", (0, 2), service=10, skills={"ac": 1})
    stops = (*route.stops, replace(route.stops[0], job_id="X", started=False, pinned=False, arrival_s=7260,
                                   start_s=7260, end_s=7860, earliest_s=0, latest_s=36000, leg_s=60,
                                   leg_distance=60, service_rule=None))
    added = replace(p, routes=(replace(route, stops=stops, return_s=7980, return_leg_s=120),))
    assert "shift_end" in {v.kind for v in verify(added, [started, extra], engs)}


def test_R_S2_an_urgent_job_whose_parts_no_van_holds_displaces_behind_a_restock_stop():
    # as above, but the urgent job needs a compressor no van holds: E may still take it behind a stop at the centre
    # (11 min away), putting the flexible job on G
    flex = job("F", (10, 0), e=0, lat=480, service=200)
    engs = (eng("E", end=230), eng("G", (80, 0), end=600))
    p = plan([flex], engs)
    centre = ServiceCentre("C", (11.0, 0.0), stock={"compressor": 3}, service_minutes=10)
    urgent = job("U", (12, 0), e=0, lat=60, service=30, urgent=True, parts={"compressor": 1})
    assert insert_job(p, urgent, engs, NOW).insertion is None  # no van holds it and no centre is known
    assert insert_job(p, urgent, engs, NOW, centres=[centre], allow_displace=False).insertion is None
    res = insert_job(p, urgent, engs, NOW, centres=[centre])
    ins = res.insertion
    assert ins is not None and ins.engineer_id == "E" and ins.lateness_s == 0
    assert [(m.job_id, m.from_engineer, m.to_engineer) for m in ins.displaced] == [("F", "E", "G")]
    assert (ins.restock, ins.restock_parts) == ("C", (("compressor", 1),))
    route = res.plan.route_of("E")
    assert route is not None and route.job_ids == (RESTOCK_PREFIX + "C", "U")
    assert ins.restock_arrival_s == route.stops[0].arrival_s == 11 * 60
    assert ins.arrival_s == route.stops[1].arrival_s == (11 + 10 + 1) * 60  # centre, loading, then the job
    assert where(res.plan, "F") == "G"
    assert verify(res.plan, [flex, urgent], engs, centres=[centre]) == []


def test_urgent_job_does_not_displace_a_pinned_or_tight_job():
    tight = job("T", (10, 0), e=0, lat=15, service=200, pinned_to="E")
    engs = (eng("E", end=600),)
    p = plan([tight], engs)
    res = insert_job(p, job("U", (12, 0), lat=60, urgent=True), engs, NOW)
    assert res.insertion is None or not res.insertion.displaced


def test_insertion_into_an_idle_engineer_and_a_stream_of_jobs():
    engs = tuple(eng(f"E{k}", (k * 10.0, 0), skills={"ac": 1 + k % 3}) for k in range(12))
    p = plan_day([], engs, T, NOW)
    jobs = []
    for k in range(40):
        j = job(f"N{k}", (k * 3 % 110, k % 7), e=0, lat=480, service=20, skills={"ac": 1 + k % 3})
        res = insert_job(p, j, engs, NOW)
        if res.insertion is not None:
            p = res.plan
            jobs.append(j)
    assert len(jobs) >= 30
    assert verify(p, jobs, engs) == []


def test_insert_rejects_an_already_planned_job():
    p, jobs, engs = _day()
    with pytest.raises(ValueError):
        insert_job(p, jobs[0], engs, NOW)
