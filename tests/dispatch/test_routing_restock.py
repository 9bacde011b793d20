"""Restock stops (issue 14 item 1): a route may stop at a service centre with stock (a PyVRP reload depot) when a
job needs parts the engineer's van lacks; the verifier walks the van's stock stop by stop."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dispatch.domain.routing import EuclideanTravel, Job, PlanOptions, UnplannedReason, plan_day, verify
from dispatch.domain.routing_model import RESTOCK_PREFIX, Engineer, ServiceCentre

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
T = EuclideanTravel(scale=60)  # one coordinate unit = 60 s
FAST = PlanOptions(time_limit_s=5.0, max_iterations=3000)


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def job(jid: str, loc, **kw) -> Job:
    return Job(id=jid, location=loc, earliest=at(0), latest=at(600), service_minutes=30, **kw)


def van(eid: str = "E", **kw) -> Engineer:
    return Engineer(id=eid, start=(0.0, 0.0), shift_start=at(0), shift_end=at(600), **kw)


CENTRE = ServiceCentre("C1", (5.0, 5.0), stock={"compressor": 5, "filter": 10}, service_minutes=10)


def test_a_job_whose_parts_the_van_lacks_forces_a_stop_at_the_centre_before_it():
    jobs = [job("P", (10.0, 0.0), parts={"compressor": 1}), job("Q", (-3.0, 0.0))]
    engs = [van(van_stock={"filter": 2}, restock_to={"compressor": 2, "filter": 2})]
    p = plan_day(jobs, engs, T, NOW, FAST, centres=[CENTRE])
    [route] = [r for r in p.routes if r.stops]
    ids = list(route.job_ids)
    assert set(ids) == {"P", "Q", RESTOCK_PREFIX + "C1"}
    assert ids.index(RESTOCK_PREFIX + "C1") < ids.index("P")  # restocked before the job that needs it
    stop = route.stops[ids.index(RESTOCK_PREFIX + "C1")]
    assert stop.restock == "C1" and stop.end_s - stop.start_s == 600 and stop.location == CENTRE.location
    assert p.totals.planned_jobs == 2  # the restock stop is not a job
    assert verify(p, jobs, engs, centres=[CENTRE]) == []

    # the same plan without the restock stop: the verifier sees the van run out of compressors
    bare = replace(route, stops=tuple(s for s in route.stops if s.restock is None))
    broken = replace(p, routes=tuple(bare if r is route else r for r in p.routes))
    kinds = {(v.kind, v.job_id) for v in verify(broken, jobs, engs, centres=[CENTRE])}
    assert ("stock", "P") in kinds


def test_without_a_centre_that_stocks_the_part_nobody_may_do_the_job():
    jobs = [job("P", (10.0, 0.0), parts={"compressor": 1})]
    engs = [van(restock_to={"compressor": 2})]
    assert plan_day(jobs, engs, T, NOW, FAST).unplanned[0].reason == UnplannedReason.NO_QUALIFIED_ENGINEER
    short = ServiceCentre("C2", (5.0, 5.0), stock={"compressor": 1})  # cannot top the van up to 2
    p = plan_day(jobs, engs, T, NOW, FAST, centres=[short])
    assert p.unplanned[0].reason == UnplannedReason.NO_QUALIFIED_ENGINEER


def test_no_restock_stop_when_the_van_has_what_the_jobs_need():
    jobs = [job("P", (10.0, 0.0), parts={"compressor": 1}), job("Q", (3.0, 0.0))]
    engs = [van(van_stock={"compressor": 1}, restock_to={"compressor": 2})]
    p = plan_day(jobs, engs, T, NOW, FAST, centres=[CENTRE])
    assert all(s.restock is None for r in p.routes for s in r.stops)
    assert {"P", "Q"} <= {j for r in p.routes for j in r.job_ids}
    assert verify(p, jobs, engs, centres=[CENTRE]) == []


def test_two_jobs_needing_more_than_the_van_holds_get_a_restock_between_them():
    jobs = [job("P1", (10.0, 0.0), parts={"compressor": 2}), job("P2", (10.0, 10.0), parts={"compressor": 2})]
    engs = [van(van_stock={"compressor": 2}, restock_to={"compressor": 2})]
    p = plan_day(jobs, engs, T, NOW, FAST, centres=[CENTRE])
    [route] = [r for r in p.routes if r.stops]
    ids = list(route.job_ids)
    assert ids.count(RESTOCK_PREFIX + "C1") == 1 and ids.index(RESTOCK_PREFIX + "C1") == 1  # between P1 and P2
    assert verify(p, jobs, engs, centres=[CENTRE]) == []
    # a centre shared by routes: the verifier counts what all of them draw
    tiny = replace(CENTRE, stock={"compressor": 2})
    assert [v.kind for v in verify(p, jobs, engs, centres=[tiny])] == []  # drew 2 (topped 0 -> 2)


def test_a_lone_job_needing_a_restock_first_thing_is_planned_after_the_centre():
    """PyVRP's search only puts a reload depot between two clients: the first plan gives it the centre stop, with
    and without a late option (R-S9 groups), so a route whose only job needs a restock is planned, not dropped."""
    for late in (None, 100.0):
        jobs = [job("P", (10.0, 0.0), parts={"compressor": 1}, late_penalty=late)]
        engs = [van(restock_to={"compressor": 1})]
        p = plan_day(jobs, engs, T, NOW, FAST, centres=[CENTRE])
        assert p.unplanned == (), late
        [route] = [r for r in p.routes if r.stops]
        assert route.job_ids == (RESTOCK_PREFIX + "C1", "P"), late
        assert verify(p, jobs, engs, centres=[CENTRE]) == []


def _two_far_apart_vans():
    """Two engineers far apart, each with a job needing one compressor its van lacks."""
    jobs = [job("A", (10.0, 0.0), parts={"compressor": 1}), job("B", (-10.0, 0.0), parts={"compressor": 1})]
    engs = [Engineer(id="E1", start=(10.0, 1.0), shift_start=at(0), shift_end=at(600), restock_to={"compressor": 1}),
            Engineer(id="E2", start=(-10.0, 1.0), shift_start=at(0), shift_end=at(600), restock_to={"compressor": 1})]
    return jobs, engs


def test_issue14_two_routes_competing_for_one_centre_unit_only_one_gets_it():
    """Issue 14 (stock shared across routes): the centre holds one compressor, two routes each need one -> one
    route restocks it (its stop takes exactly 1), the other job is unplanned ``parts_unavailable``; the verifier's
    shared-stock walk finds nothing wrong."""
    jobs, engs = _two_far_apart_vans()
    one = ServiceCentre("C1", (0.0, 0.0), stock={"compressor": 1}, service_minutes=10)
    p = plan_day(jobs, engs, T, NOW, FAST, centres=[one])
    served = [r for r in p.routes if r.stops]
    assert len(served) == 1
    [restock] = [s for s in served[0].stops if s.restock is not None]
    assert restock.restock == "C1" and dict(restock.parts) == {"compressor": 1}
    assert [(u.reason, u.job_id in {"A", "B"}) for u in p.unplanned] == [(UnplannedReason.PARTS_UNAVAILABLE, True)]
    assert verify(p, jobs, engs, centres=[one]) == []


def test_issue14_a_route_whose_centre_ran_out_restocks_at_another_centre_that_still_has_it():
    jobs, engs = _two_far_apart_vans()
    one = ServiceCentre("C1", (0.0, 0.0), stock={"compressor": 1}, service_minutes=10)
    other = ServiceCentre("C2", (0.0, 3.0), stock={"compressor": 1}, service_minutes=10)
    p = plan_day(jobs, engs, T, NOW, FAST, centres=[one, other])
    assert p.unplanned == ()
    stops = [s for r in p.routes for s in r.stops if s.restock is not None]
    assert sorted(s.restock for s in stops) == ["C1", "C2"]  # one unit from each, never two from one
    assert verify(p, jobs, engs, centres=[one, other]) == []
