"""Pure assignment scorer: feasibility and ranking."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.domain.assignment import (
    EngineerState,
    HaversineEstimator,
    JobNeed,
    Shift,
    best,
    haversine_km,
    infeasibility,
    rank,
)

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 10, tzinfo=SH)  # Monday
SITE = (31.2304, 121.4737)  # Shanghai centre
EST = HaversineEstimator()


def eng(eid, loc=SITE, active=0, cap=2, skills=None, zones=("310101",), **kw):
    return EngineerState(eid, skills or {"hvac": 2}, frozenset(zones), loc, active, cap, **kw)


def need(arrive_by=NOW + timedelta(hours=2), **kw):
    base = dict(job_id="J", skill="hvac", region_code="310101", zone_class="in_zone", location=SITE,
                arrive_by=arrive_by)
    base.update(kw)
    return JobNeed(**base)


def test_haversine_known_distance():
    # Shanghai - Nanjing is about 270 km as the crow flies
    assert 260 < haversine_km(SITE, (32.0603, 118.7969)) < 280


def test_travel_estimate_uses_road_factor_and_zone_speed():
    far = (31.2304 + 0.27, 121.4737)  # ~30 km north
    t = HaversineEstimator(road_factor=1.0, speeds_kmh={"in_zone": 30.0}).estimate(SITE, far, "in_zone")
    assert timedelta(minutes=55) < t < timedelta(minutes=65)


def test_feasibility_reasons():
    assert infeasibility(eng("a", skills={"tv": 3}), need(), NOW) == "skill"
    assert infeasibility(eng("a", skills={"hvac": 1}), need(min_level=2), NOW) == "skill"
    assert infeasibility(eng("a", zones=("320100",)), need(), NOW) == "zone"
    assert infeasibility(eng("a", active=2, cap=2), need(), NOW) == "capacity"
    assert infeasibility(eng("a", shifts=(Shift(0, 13 * 60, 17 * 60),)), need(), NOW) == "shift"
    assert infeasibility(eng("a", absences=((date(2026, 3, 1), date(2026, 3, 3)),)), need(), NOW) == "shift"
    assert infeasibility(eng("a", shifts=(Shift(0, 8 * 60, 17 * 60),)), need(), NOW) is None


def test_night_shift_spills_into_next_day():
    e = eng("a", shifts=(Shift(6, 22 * 60, 30 * 60),))  # Sunday 22:00 -> Monday 06:00
    assert e.on_shift(datetime(2026, 3, 2, 5, tzinfo=SH))
    assert not e.on_shift(datetime(2026, 3, 2, 7, tzinfo=SH))


def test_cannot_arrive_before_deadline_is_infeasible():
    far = (32.0603, 118.7969)
    assert rank(need(), [eng("far", loc=far)], EST, NOW) == []


def test_ranking_lateness_then_travel_then_load():
    near_busy = eng("near_busy", loc=(31.24, 121.47), active=1, cap=2)
    near_free = eng("near_free", loc=(31.24, 121.47), active=0, cap=2)
    farther = eng("farther", loc=(31.30, 121.47))
    order = [c.engineer_id for c in rank(need(), [farther, near_busy, near_free], EST, NOW)]
    assert order == ["near_free", "near_busy", "farther"]
    # with lateness tolerated, the on-time engineer still beats a nearer-to-nothing late one
    late = eng("late", loc=(31.9, 121.47))
    tol = rank(need(arrive_by=NOW + timedelta(minutes=30)), [late, farther], EST, NOW,
               max_lateness=timedelta(hours=5))
    assert tol[0].engineer_id == "farther" and tol[-1].lateness > timedelta(0)


def test_best_none_when_nobody_feasible_and_exclusions_respected():
    assert best(need(), [eng("a", active=2, cap=2)], EST, NOW) is None
    assert best(need(), [eng("a"), eng("b", loc=(31.3, 121.5))], EST, NOW, exclude=["a"]).engineer_id == "b"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(30.5, 32.0), st.floats(120.5, 122.0), st.integers(0, 3), st.integers(1, 3)),
                min_size=1, max_size=20))
def test_property_ranked_candidates_are_all_feasible_and_sorted(specs):
    engineers = [eng(f"e{i}", loc=(lat, lon), active=a, cap=c) for i, (lat, lon, a, c) in enumerate(specs)]
    ranked = rank(need(), engineers, EST, NOW)
    by_id = {e.engineer_id: e for e in engineers}
    for c in ranked:
        e = by_id[c.engineer_id]
        assert e.active_jobs < e.max_jobs and c.eta <= NOW + timedelta(hours=2)
    assert [c.sort_key for c in ranked] == sorted(c.sort_key for c in ranked)
