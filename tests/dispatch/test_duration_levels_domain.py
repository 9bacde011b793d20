"""Service duration by skill level (issue 14 item 1), the pure parts: which value an engineer of a level gets
(``domain.durations.effective_at_level``, ``plans.inputs.service_minutes``), and the routing core giving each
engineer his own service time: insertion (a job that fits only the senior's shorter service goes to him), the
PyVRP plan (the level's service folded into the profile's duration matrix: planned times exact, a day that holds
the jobs only at the senior's pace is planned whole), and the plan snapshot keeping it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from dispatch.domain.durations import Source, effective_at_level
from dispatch.domain.routing import (
    Engineer,
    EuclideanTravel,
    HaversineTravel,
    Job,
    PlanOptions,
    insert_job,
    plan_day,
    verify,
)
from dispatch.plans.inputs import Inputs, from_snapshot, service_by_level, service_minutes, snapshot

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
T = EuclideanTravel(scale=60)  # one coordinate unit = one minute of driving
OPTS = PlanOptions(time_limit_s=0.5, max_iterations=200)


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def levelled(jid: str, loc: tuple[float, float], *, base=60.0, senior=30.0, **kw) -> Job:
    return Job(id=jid, location=loc, earliest=NOW, latest=at(600), service_minutes=base, skills={"ac": 1},
               service_by_level={3: senior}, level_skill="ac", **kw)


def test_issue14_level_row_then_level_less_row_then_learned_per_level():
    """A level's configured row, else the level-less one (with its override); the level's learned value, else
    the level-less learned value; an override wins over learning, else learned, else configured."""
    none = Source()
    assert effective_at_level(Source(30, True), Source(60, True)) == 30
    assert effective_at_level(Source(30, False), Source(60, True)) == 30  # the level's own row is the configured
    assert effective_at_level(none, Source(60, True, learned=45)) == 60  # level-less override: every level
    assert effective_at_level(Source(learned=40), Source(60, True)) == 60
    assert effective_at_level(Source(learned=40), Source(60, False, learned=45)) == 40
    assert effective_at_level(Source(learned=None), Source(60, False, learned=45)) == 45  # below the minimum
    assert effective_at_level(Source(30, False), Source(learned=45)) == 45  # learned before configured
    assert effective_at_level(none, Source(60)) == 60 and effective_at_level(none, none) is None


def test_issue14_service_minutes_by_level_then_fault_class_then_line():
    job = SimpleNamespace(service_minutes=None, product_line="ac", fault_class="fan")
    table = {("ac", "fan", 0): 60, ("ac", "fan", 3): 30, ("ac", "", 2): 45, ("ac", "", 0): 90}
    assert [service_minutes(job, table, 99, lvl) for lvl in (0, 1, 2, 3)] == [60, 60, 60, 30]
    assert service_by_level(job, table, 99) == {3: 30}
    other = SimpleNamespace(service_minutes=None, product_line="ac", fault_class="pump")
    assert service_by_level(other, table, 99) == {2: 45}
    own = SimpleNamespace(service_minutes=20, product_line="ac", fault_class="fan")
    assert service_minutes(own, table, 99, 3) == 20 and service_by_level(own, table, 99) == {}


def test_issue14_insertion_gives_the_job_to_the_senior_whose_shorter_service_fits_the_shift():
    """The junior is next to the job but 60 min do not fit his last hour; the senior, 10 min away, does it in 30:
    it goes to him, the stop lasting his 30 min. Without levels nobody can take it."""
    junior = Engineer(id="JUN", start=(0.0, 0.0), shift_start=NOW, shift_end=at(60), skills={"ac": 1})
    senior = Engineer(id="SEN", start=(10.0, 0.0), shift_start=NOW, shift_end=at(60), skills={"ac": 3})
    plan = plan_day([], [junior, senior], T, NOW, OPTS)
    job = levelled("J", (1.0, 0.0))
    res = insert_job(plan, job, [junior, senior], NOW)
    assert res.insertion is not None and res.insertion.engineer_id == "SEN"
    [stop] = res.plan.route_of("SEN").stops  # type: ignore[union-attr]
    assert stop.end_s - stop.start_s == 30 * 60
    assert verify(res.plan, [job], [junior, senior]) == []
    flat = Job(id="J", location=(1.0, 0.0), earliest=NOW, latest=at(600), service_minutes=60, skills={"ac": 1})
    assert insert_job(plan, flat, [junior, senior], NOW).insertion is None


def test_issue14_a_plan_lays_each_stop_with_its_engineers_service_and_the_next_arrival_follows():
    """Arrival of the next stop = previous arrival + the senior's 30 min + the drive; the junior's stops take 60."""
    senior = Engineer(id="SEN", start=(0.0, 0.0), shift_start=NOW, shift_end=at(480), skills={"ac": 3})
    junior = Engineer(id="JUN", start=(100.0, 0.0), shift_start=NOW, shift_end=at(480), skills={"ac": 1})
    jobs = [levelled("A", (5.0, 0.0), pinned_to="SEN"), levelled("B", (5.0, 7.0), pinned_to="SEN"),
            levelled("C", (100.0, 5.0), pinned_to="JUN")]
    plan = plan_day(jobs, [senior, junior], T, NOW, OPTS)
    assert verify(plan, jobs, [senior, junior]) == [] and not plan.unplanned
    first, second = plan.route_of("SEN").stops  # type: ignore[union-attr]
    assert first.end_s - first.start_s == 30 * 60 and first.start_s == first.arrival_s
    assert second.arrival_s == first.arrival_s + 30 * 60 + 7 * 60
    [c] = plan.route_of("JUN").stops  # type: ignore[union-attr]
    assert c.end_s - c.start_s == 60 * 60


def test_issue14_the_solver_plans_a_day_that_holds_the_jobs_only_at_the_seniors_pace():
    """Jobs at the engineers' home, a two-hour day: the senior does 4 x 30 min, the junior 2 x 60. PyVRP sees the
    level's service (folded into the profile's durations): every job planned, none dropped."""
    senior = Engineer(id="SEN", start=(0.0, 0.0), shift_start=NOW, shift_end=at(120), skills={"ac": 3})
    junior = Engineer(id="JUN", start=(0.0, 0.0), shift_start=NOW, shift_end=at(120), skills={"ac": 1})
    jobs = [levelled(f"J{k}", (0.0, 0.0)) for k in range(4)]
    alone = plan_day(jobs, [senior], T, NOW, OPTS)
    assert verify(alone, jobs, [senior]) == [] and not alone.unplanned
    six = jobs + [levelled(f"J{k}", (0.0, 0.0)) for k in (4, 5)]  # 4 at the senior's pace + 2 at the junior's
    both = plan_day(six, [senior, junior], T, NOW, OPTS)
    assert verify(both, six, [senior, junior]) == [] and not both.unplanned
    assert len(both.route_of("SEN").stops) == 4 and len(both.route_of("JUN").stops) == 2  # type: ignore[union-attr]


def test_issue14_the_plan_snapshot_keeps_the_service_by_level():
    e = Engineer(id="SEN", start=(0.0, 0.0), shift_start=NOW, shift_end=at(120), skills={"ac": 3})
    inp = Inputs(NOW, [levelled("J", (1.0, 1.0))], [e], HaversineTravel(speed_kmh=30, road_factor=1.3))
    [j] = from_snapshot(snapshot(inp)).jobs
    assert (j.service_by_level, j.level_skill, j.service_s_for(e)) == ({3: 30.0}, "ac", 30 * 60)
