"""Properties of the route planner (issue 14), on random small zone-days (hypothesis).

- a plan never reports a window as met that it misses; skills, levels, shifts and pins are respected; an
  engineer is never in two places (``verify`` re-walks each plan independently of the solver);
- a started job never moves; every job is planned or unplanned with a reason;
- insertion keeps promised windows; dropped jobs are the cheapest under shortage;
- with service times by skill level (issue 14) each stop takes its engineer's own service time (``verify``).
Solver: <= 0.5 s and <= 200 iterations per plan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.domain.routing import (
    Engineer,
    EuclideanTravel,
    Job,
    PlanOptions,
    UnplannedReason,
    insert_job,
    plan_day,
    verify,
)

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
T = EuclideanTravel(scale=60)  # one coordinate unit = one minute of driving
OPTS = PlanOptions(time_limit_s=0.5, max_iterations=200)
SKILLS = ["ac", "boiler", "tv"]
PROPS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


coord = st.floats(min_value=-40, max_value=40, allow_nan=False).map(lambda v: round(v, 1))


@st.composite
def engineers(draw, n_max=3):
    n = draw(st.integers(1, n_max))
    out = []
    for i in range(n):
        start = draw(st.sampled_from([0, 0, 30, 60]))
        out.append(Engineer(
            id=f"E{i}", start=(draw(coord), draw(coord)), shift_start=at(start),
            shift_end=at(start + draw(st.integers(120, 480))),
            skills={s: draw(st.integers(1, 3)) for s in draw(st.sets(st.sampled_from(SKILLS), min_size=1))},
            van_capacity=draw(st.sampled_from([None, 5, 10])),
            max_overtime_minutes=draw(st.sampled_from([0, 0, 30]))))
    return out


by_levels = st.sampled_from([{}, {}, {3: 10.0}, {1: 120.0, 3: 5.0}, {2: 45.5}])


@st.composite
def zone_day(draw, n_jobs_max=8):
    engs = draw(engineers())
    jobs = []
    started_by: set[str] = set()
    for k in range(draw(st.integers(1, n_jobs_max))):
        e = draw(st.integers(0, 300))
        width = draw(st.sampled_from([30, 120, 240, 600]))
        kw: dict = {}
        mode = draw(st.sampled_from(["free", "free", "free", "pin", "started"]))
        if mode == "pin":
            kw["pinned_to"] = draw(st.sampled_from(engs)).id
        elif mode == "started":
            free = [x for x in engs if x.id not in started_by]
            if free:
                who = draw(st.sampled_from(free))
                started_by.add(who.id)
                kw.update(pinned_to=who.id, started=True, started_at=at(-draw(st.integers(0, 30))))
                e = -60
        skill = draw(st.sampled_from(SKILLS))
        by_level = draw(by_levels)  # issue 14: service time by the engineer's level in the job's skill
        jobs.append(Job(
            id=f"J{k}", location=(draw(coord), draw(coord)), earliest=at(e), latest=at(e + width),
            service_minutes=draw(st.integers(5, 90)), skills={skill: draw(st.integers(1, 3))},
            volume=draw(st.integers(0, 4)), penalty=float(draw(st.integers(1, 5000))),
            late_penalty=draw(st.sampled_from([None, None, 50.0])),
            service_by_level=by_level, level_skill=skill if by_level else None, **kw))
    return jobs, engs


@PROPS
@given(zone_day())
def test_plan_keeps_windows_skills_shifts_pins_and_places(day):
    jobs, engs = day
    plan = plan_day(jobs, engs, T, NOW, OPTS)
    assert verify(plan, jobs, engs) == []
    # a stop reported on time really starts inside its job's window
    by_id = {j.id: j for j in jobs}
    for r in plan.routes:
        for s in r.stops:
            j = by_id[s.job_id]
            if s.on_time:
                assert plan.time(s.start_s) <= j.latest
            assert plan.time(s.start_s) >= j.earliest or j.started
        # never in two places: each stop begins after the previous one ends plus the drive
        for a, b in zip(r.stops, r.stops[1:], strict=False):
            assert b.arrival_s >= a.end_s + b.leg_s
    planned = [s.job_id for r in plan.routes for s in r.stops]
    assert sorted(planned + [u.job_id for u in plan.unplanned]) == sorted(by_id)


@PROPS
@given(zone_day())
def test_started_job_never_moves(day):
    jobs, engs = day
    plan = plan_day(jobs, engs, T, NOW, OPTS)
    for j in jobs:
        if j.started:
            r = plan.route_of(j.pinned_to or "")
            assert r is not None and r.stops and r.stops[0].job_id == j.id
            assert r.stops[0].start_s == plan.seconds(j.started_at or NOW)


@PROPS
@given(zone_day(n_jobs_max=6), st.data())
def test_insertion_keeps_promised_windows(day, data):
    jobs, engs = day
    plan = plan_day(jobs, engs, T, NOW, OPTS)
    promised = {s.job_id for r in plan.routes for s in r.stops if s.on_time}
    late_before = {s.job_id: s.start_s for r in plan.routes for s in r.stops if not s.on_time}
    e = data.draw(st.integers(0, 300))
    new = Job(id="NEW", location=(data.draw(coord), data.draw(coord)), earliest=at(e),
              latest=at(e + data.draw(st.sampled_from([60, 240, 600]))), service_minutes=data.draw(st.integers(5, 60)),
              skills={(skill := data.draw(st.sampled_from(SKILLS))): data.draw(st.integers(1, 3))},
              urgent=data.draw(st.booleans()), service_by_level=(lv := data.draw(by_levels)),
              level_skill=skill if lv else None)
    now = at(data.draw(st.sampled_from([0, 0, 45])))
    res = insert_job(plan, new, engs, now)
    if res.insertion is None:
        assert res.plan is plan and res.reason is not None
        return
    assert verify(res.plan, jobs + [new], engs) == []
    after = {s.job_id: s for r in res.plan.routes for s in r.stops}
    assert all(after[j].on_time for j in promised)
    assert all(after[j].start_s <= start for j, start in late_before.items() if j in after)
    moved = {m.job_id for m in res.insertion.displaced}
    assert not moved & {j.id for j in jobs if j.started or j.pinned_to}
    # nothing that had started, or that the engineer had already left for, changed
    for r in plan.routes:
        for s in r.stops:
            if s.started or s.start_s <= res.plan.seconds(now):
                assert after[s.job_id] == s


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 10_000), min_size=3, max_size=8, unique=True), st.integers(1, 4))
def test_dropped_jobs_are_the_cheapest_under_shortage(penalties, capacity):
    # one-hour jobs at the base; the shift holds ``capacity`` of them
    jobs = [Job(id=f"J{k}", location=(0.0, 0.0), earliest=NOW, latest=at(600), service_minutes=60,
                penalty=float(p)) for k, p in enumerate(penalties)]
    engs = [Engineer(id="E", start=(0.0, 0.0), shift_start=NOW, shift_end=at(60 * capacity))]
    plan = plan_day(jobs, engs, T, NOW, OPTS)
    served = sorted(p for j, p in zip(jobs, penalties, strict=True) if any(j.id in r.job_ids for r in plan.routes))
    assert served == sorted(penalties)[-min(capacity, len(penalties)):]
    assert all(u.reason == UnplannedReason.DROPPED_UNDER_CAPACITY for u in plan.unplanned)


@PROPS
@given(zone_day())
def test_verifier_catches_any_stop_pushed_past_its_window(day):
    jobs, engs = day
    plan = plan_day(jobs, engs, T, NOW, OPTS)
    by_id = {j.id: j for j in jobs}
    for r in plan.routes:
        for i, s in enumerate(r.stops):
            j = by_id[s.job_id]
            if j.started or j.late_penalty is not None:
                continue
            push = plan.seconds(j.latest) - s.start_s + 60
            bad = [*r.stops]
            bad[i] = type(s)(**{**s.__dict__, "arrival_s": s.arrival_s + push, "start_s": s.start_s + push,
                                "end_s": s.end_s + push})
            broken_route = type(r)(**{**r.__dict__, "stops": tuple(bad)})
            broken = type(plan)(plan.epoch, tuple(broken_route if x is r else x for x in plan.routes),
                                plan.unplanned, plan.travel)
            assert "window" in {v.kind for v in verify(broken, jobs, engs)}
            return



@st.composite
def full_day_and_urgent(draw):
    """E0's day filled by insertion (no solver) with flexible jobs in a cluster far from home, so its route ends
    near the latest return; G, far from the cluster with a free day, may take a displaced job later; an urgent
    in-zone job in the cluster that only E0 can reach in time."""
    x = st.floats(min_value=-6, max_value=6, allow_nan=False).map(lambda v: round(v, 1))
    e0 = Engineer(id="E0", start=(0.0, 0.0), shift_start=NOW, shift_end=at(draw(st.integers(120, 420))),
                  skills={s: 3 for s in SKILLS}, max_overtime_minutes=draw(st.sampled_from([0, 0, 30])))
    cx = draw(st.integers(30, 60))
    cy = draw(st.integers(-10, 10))
    g = Engineer(id="G", start=(cx + draw(st.integers(50, 80)), cy), shift_start=NOW, shift_end=at(600),
                 skills={s: 3 for s in SKILLS})
    jobs = [Job(id=f"J{k}", location=(cx + draw(x), cy + draw(x)), earliest=NOW,
                latest=at(draw(st.sampled_from([300, 600]))), service_minutes=draw(st.integers(10, 60)),
                skills={draw(st.sampled_from(SKILLS)): 1})
            for k in range(draw(st.integers(3, 10)))]
    now = draw(st.integers(40, 200))
    urgent = Job(id="URGENT", location=(cx + draw(x), cy + draw(x)), earliest=at(now),
                 latest=at(now + draw(st.integers(15, 40))), service_minutes=draw(st.integers(10, 60)),
                 skills={draw(st.sampled_from(SKILLS)): 1}, urgent=True)
    return jobs, [e0, g], urgent, at(now)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(full_day_and_urgent())
def test_R_S2_displacement_never_breaks_shift_end_or_promised_windows(day):
    """R-S2: an urgent job that displaces another leaves every route it touches back by the latest return
    (shift end + overtime) and every promised window kept, in the route it went into as in the displaced job's."""
    jobs, engs, urgent, now = day
    plan = plan_day([], engs, T, NOW, OPTS)
    placed = []
    for j in jobs:
        res = insert_job(plan, j, engs[:1], NOW)
        if res.insertion is not None:
            plan, placed = res.plan, placed + [j]
    assert verify(plan, placed, engs) == []
    promised = {s.job_id for r in plan.routes for s in r.stops if s.on_time}
    res = insert_job(plan, urgent, engs, now)
    if res.insertion is None:
        return
    assert verify(res.plan, placed + [urgent], engs) == []
    after = {s.job_id: s for r in res.plan.routes for s in r.stops}
    assert all(after[j].on_time for j in promised)
