"""Service duration by skill level (issue 14 item 1: product line x fault class x skill level), against the real
stack: a configured override per level is what the engineer of that level gets in a plan (planned end = start +
his duration, the next stop's arrival = that end + the drive); durations are learned per level from completions
(the level of the engineer who did the job, in its required skill), each level with its own minimum sample count
and the level-less value as its fallback; live insertion gives a job to the senior engineer whose shorter service
lets it fit his remaining shift when the nearer junior's does not; an overrun is measured against the on-site
engineer's own duration."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running
from dispatch.domain import routing
from dispatch.domain.routing_travel import leg
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.models import PlanRow
from dispatch.plans import durations
from dispatch.plans import service as plans
from dispatch.plans.inputs import from_snapshot, stored_plan

from .conftest import RECORD, action, uniq
from .test_durations_learned import complete, handle
from .test_live_routes import KM15, at, engineer, move_clock, next_workday, open_at, row, zone
from .test_plans import SITE, ZONE, county_zone, open_jobs, put_engineer, run_now, tomorrow

pytestmark = pytest.mark.integration

MIN = timedelta(minutes=1)


def listed_row(listed, skill, fault_class, level):
    return next(d for d in listed if (d["product_line"], d["fault_class"], d["skill_level"]) == (
        skill, fault_class, level))


async def test_issue14_an_override_per_level_is_what_that_levels_engineer_gets_in_a_plan(
        clean, dispatch_settings, admin):
    """Level-less 60 min (the fallback of every level), level 3 overridden to 30 min: the level-3 engineer's stops
    take 30 min, the level-1 engineer's 60; on the senior's route the next arrival is the previous end (start +
    30 min) plus the drive; the stored plan re-walks clean (``verify``, with the per-engineer service)."""
    skill = uniq("hvac")
    async with running(create_app(dispatch_settings(plan_time_limit_seconds=0.5,
                                                    planner_executor="thread"))) as client:
        await county_zone(client, admin)
        r = await client.put("/v1/service-durations", headers=admin,
                             json={"product_line": skill, "minutes": 60, "override": True})
        assert r.status_code == 200 and r.json()["skill_level"] is None, r.text
        r = await client.put("/v1/service-durations", headers=admin,
                             json={"product_line": skill, "skill_level": 3, "minutes": 30, "override": True})
        assert r.status_code == 200, r.text
        assert (r.json()["skill_level"], r.json()["effective_minutes"]) == (3, 30)
        for bad in (0, 6, "three"):
            r = await client.put("/v1/service-durations", headers=admin,
                                 json={"product_line": skill, "skill_level": bad, "minutes": 30})
            assert r.status_code == 422 and r.json()["field"] == "skill_level", (bad, r.text)
        listed = (await client.get("/v1/service-durations", headers=admin)).json()
        assert listed_row(listed, skill, None, None)["effective_minutes"] == 60
        assert listed_row(listed, skill, None, 3)["effective_minutes"] == 30

        await put_engineer(client, admin, "SEN", skill, skills={skill: 3})
        await put_engineer(client, admin, "JUN", skill, loc=(SITE[0] + 0.05, SITE[1]), skills={skill: 1})
        a, b, c = await open_jobs(client, skill, 3)
        for job, eng in ((a, "SEN"), (b, "SEN"), (c, "JUN")):
            r = await client.patch(f"/v1/jobs/{job.id}/planning", json={"pinned_engineer_id": eng}, headers=admin)
            assert r.status_code == 200, r.text
        r = await client.post("/v1/plans", json={"zone": ZONE, "date": tomorrow().isoformat()}, headers=admin)
        plan_id = r.json()["id"]
        assert await run_now(client, plan_id) == "done"
        plan = (await client.get(f"/v1/plans/{plan_id}", headers=admin)).json()
        routes = {rt["engineer_id"]: rt["stops"] for rt in plan["routes"]}
        assert {s["job_id"] for s in routes["SEN"]} == {a.id, b.id} and [s["job_id"] for s in routes["JUN"]] == [c.id]

        def t(stop, k):
            return datetime.fromisoformat(stop[k])

        assert all(t(s, "planned_end") - t(s, "planned_start") == 30 * MIN for s in routes["SEN"])
        assert t(routes["JUN"][0], "planned_end") - t(routes["JUN"][0], "planned_start") == 60 * MIN
        async with unit_of_work(client.app.state.sessions) as s:
            prow, sroutes, stops, unplanned = await plans.get_plan(s, plan_id)
            assert isinstance(prow, PlanRow)
            inp = from_snapshot(prow.inputs)
            sr, ss = plans.stored(sroutes, stops)
            stored = stored_plan(inp, sr, ss, [(u.job_id, u.reason) for u in unplanned])
        assert routing.verify(stored, inp.jobs, inp.engineers, inp.travel) == []
        first, second = routes["SEN"]
        loc = {j.id: j.location for j in inp.jobs}
        _, drive = leg(inp.travel, loc[first["job_id"]], loc[second["job_id"]])
        # the windows opened before the day: no waiting, arrival of the next = previous arrival + 30 min + drive
        assert t(first, "planned_start") == t(first, "planned_arrival")
        assert t(second, "planned_arrival") == t(first, "planned_arrival") + 30 * MIN + timedelta(seconds=drive)


async def test_issue14_durations_are_learned_per_level_with_the_minimum_count_per_level(
        clean, dispatch_settings, admin):
    """Completions learn at any level and at the level of the engineer who did the job (in the job's required
    skill); a level below the minimum sample count falls back to the level-less learned value."""
    skill = uniq("hvac")
    async with running(create_app(dispatch_settings(duration_min_samples=3, duration_window=50,
                                                    duration_trim=0.0))) as client:
        for eid, level in (("L3", 3), ("L1", 1), ("L2", 2)):
            await put_engineer(client, admin, eid, skill, skills={skill: level})
        for labour in (28, 30, 32):
            await complete(client, skill, labour, engineer_id="L3")
        for labour in (58, 60, 62):
            await complete(client, skill, labour, engineer_id="L1")
        await complete(client, skill, 90, engineer_id="L2")  # one sample at level 2: below the minimum
        listed = (await client.get("/v1/service-durations", headers=admin)).json()
        got = {lvl: listed_row(listed, skill, "compressor", lvl) for lvl in (None, 1, 2, 3)}
        assert (got[3]["learned_minutes"], got[3]["samples"], got[3]["effective_minutes"]) == (30, 3, 30)
        assert (got[1]["learned_minutes"], got[1]["samples"], got[1]["effective_minutes"]) == (60, 3, 60)
        # every completion at any level: (90 + 180 + 90) / 7 = 51.4 -> 51, what level 2 falls back to
        assert (got[None]["learned_minutes"], got[None]["samples"]) == (51, 7)
        assert (got[2]["learned_minutes"], got[2]["samples"], got[2]["effective_minutes"]) == (None, 1, 51)
        # a configured override at level 3 wins over what level 3 learned
        r = await client.put("/v1/service-durations", headers=admin, json={
            "product_line": skill, "fault_class": "compressor", "skill_level": 3, "minutes": 20, "override": True})
        assert (r.json()["effective_minutes"], r.json()["learned_minutes"]) == (20, 30)


async def test_issue14_live_insertion_gives_the_job_to_the_senior_whose_shorter_service_fits_his_shift(
        clean, dispatch_settings, admin, admin_db):
    """17:00, shifts end 18:00: the junior (level 1, 60 min) is next to the job but cannot be back by 18:00; the
    senior (level 3, 30 min), ~10 min away, can: the job goes to the senior, its planned arrival from his route."""
    skill, region = uniq("hvac"), "310112"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 17))
        await zone(client, admin, region, "county")
        r = await client.put("/v1/service-durations", headers=admin,
                             json={"product_line": skill, "skill_level": 3, "minutes": 30})
        assert r.status_code == 200, r.text
        await engineer(client, admin, "JUN", {skill: 1}, [region])
        await engineer(client, admin, "SEN", {skill: 3}, [region], loc=(SITE[0] + KM15 / 4, SITE[1]))
        job = await open_at(client, skill, region, (SITE[0] + 0.002, SITE[1]))
        got = await row(admin_db, job.id)
        assert (got["status"], got["engineer_id"]) == ("offered", "SEN"), dict(got)
        assert at(D, 17) < got["planned_arrival"] < at(D, 17, 30)


async def test_issue14_an_overrun_is_measured_against_the_on_site_engineers_own_duration(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """A level-3 engineer's job takes 30 min (60 at any level): 65 min on site is past his planned end plus the
    30 min margin, and marks the zone-day for a re-plan."""
    skill, region = uniq("hvac"), "310113"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        await zone(client, admin, region, "county")
        r = await client.put("/v1/service-durations", headers=admin,
                             json={"product_line": skill, "skill_level": 3, "minutes": 30})
        assert r.status_code == 200, r.text
        await engineer(client, admin, "SEN", {skill: 3}, [region])
        job = await open_at(client, skill, region, SITE)
        assert (await row(admin_db, job.id))["engineer_id"] == "SEN"
        eng = auth_headers("engineer", sub="SEN", engineer_id="SEN")
        for a in ("accept", "arrive"):
            b = action(a, device_time=clock.now().isoformat(), lat=SITE[0], lon=SITE[1])
            assert (await client.post(f"/v1/jobs/{job.id}/actions", json=b, headers=eng)).status_code == 200
        sessions, cfg = client.app.state.sessions, client.app.state.dispatch_cfg
        async with unit_of_work(sessions) as s:
            assert await jobs.flag_overruns(s, cfg, clock.now() + timedelta(minutes=65)) == 1


async def test_issue14_a_completion_is_learned_at_the_level_the_engineer_had_when_he_completed_it(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """R-S4 county jobs completed on site by a level-2 engineer (``complete``): the job keeps level 2
    (``completed_skill_level``, set with the completion); he is promoted to level 4 before the learning runs
    (a late event, ``relearn_all``): the minutes are still learned at level 2, not 4. A job completed before the
    level was recorded (no ``completed_skill_level``) falls back to his level now."""
    skill, region = uniq("hvac"), "310114"
    D = next_workday()
    async with running(create_app(dispatch_settings(duration_min_samples=3, duration_window=50,
                                                    duration_trim=0.0))) as client:
        await move_clock(client, admin, at(D, 9))
        await zone(client, admin, region, "county")
        await engineer(client, admin, "L2", {skill: 2}, [region])
        eng = auth_headers("engineer", sub="L2", engineer_id="L2")
        done = []
        for labour in (38, 40, 42):
            job = await open_at(client, skill, region, (SITE[0] + 0.002, SITE[1]))
            assert (await row(admin_db, job.id))["engineer_id"] == "L2"
            for a in ("accept", "arrive"):
                b = action(a, device_time=clock.now().isoformat(), lat=SITE[0], lon=SITE[1])
                assert (await client.post(f"/v1/jobs/{job.id}/actions", json=b, headers=eng)).status_code == 200
            b = action("complete", device_time=clock.now().isoformat(), record={**RECORD, "labour_minutes": labour})
            r = await client.post(f"/v1/jobs/{job.id}/actions", json=b, headers=eng)
            assert r.status_code == 200, r.text
            done.append(job.id)
        levels = await admin_db.fetch("SELECT completed_skill_level FROM dispatch.jobs WHERE id = ANY($1)", done)
        assert [x[0] for x in levels] == [2, 2, 2]
        await engineer(client, admin, "L2", {skill: 4}, [region])  # promoted before the learning runs
        await handle(client, done[-1])
        async with unit_of_work(client.app.state.sessions) as s:
            await durations.relearn_all(s, client.app.state.dispatch_cfg, clock.now())
        listed = (await client.get("/v1/service-durations", headers=admin)).json()
        got = listed_row(listed, skill, None, 2)
        assert (got["learned_minutes"], got["samples"]) == (40, 3)
        assert not any(d["product_line"] == skill and d["skill_level"] == 4 and d["samples"] for d in listed)
        # a job completed before the level was recorded: learned at the engineer's level now (4)
        await complete(client, skill, 70, fault_class=None, engineer_id="L2")
        listed = (await client.get("/v1/service-durations", headers=admin)).json()
        assert listed_row(listed, skill, None, 4)["samples"] == 1
        assert listed_row(listed, skill, None, 2)["samples"] == 3


async def test_issue14_a_jobs_planning_shows_the_minutes_each_level_would_get(clean, dispatch_settings, admin):
    """``GET /v1/jobs/{id}/planning``: ``service_minutes`` stays the level-less value (60), and
    ``service_minutes_by_level`` gives levels 1..5 (level 3 overridden to 30, the others fall back to 60); a job's
    own minutes are what every level gets."""
    skill = uniq("hvac")
    async with running(create_app(dispatch_settings())) as client:
        await county_zone(client, admin)
        for level, minutes in ((None, 60), (3, 30)):
            r = await client.put("/v1/service-durations", headers=admin, json={
                "product_line": skill, "skill_level": level, "minutes": minutes, "override": True})
            assert r.status_code == 200, r.text
        (job,) = await open_jobs(client, skill, 1)
        got = (await client.get(f"/v1/jobs/{job.id}/planning", headers=admin)).json()
        assert got["service_minutes"] == 60
        assert got["service_minutes_by_level"] == {"1": 60, "2": 60, "3": 30, "4": 60, "5": 60}
        r = await client.patch(f"/v1/jobs/{job.id}/planning", json={"service_minutes": 45}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["service_minutes_by_level"] == dict.fromkeys(("1", "2", "3", "4", "5"), 45)
