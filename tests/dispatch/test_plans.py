"""Zone-day plans (issue 14) over HTTP + Kafka against the real stack: what a plan needs is editable, a plan
request is an event the planner worker group plans, publishing assigns with planned times, the engineer sees the
ordered route; one active plan per zone-day under racing requests; pins and started jobs are kept; and a property:
a stored plan never reports a window as met that it misses (the routing core's ``verify``)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from aftersales_shared import clock
from aftersales_shared.clock import BUSINESS_TZ
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running, wait_for
from dispatch.domain import routing
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.models import Job, PlanRow
from dispatch.plans import service as plans
from dispatch.plans.inputs import from_snapshot, stored_plan

from .conftest import action, engineer_body, ticket, uniq

pytestmark = pytest.mark.integration

ZONE = "310101"
SITE = (31.2304, 121.4737)


def tomorrow():
    return clock.business_today() + timedelta(days=1)


def at(day, hh, mm=0) -> str:
    return datetime.combine(day, time(hh, mm), BUSINESS_TZ).isoformat()


async def county_zone(client, admin):
    # 48 h to arrive (R-S4): every window reaches past the end of tomorrow, whatever time the suite runs
    r = await client.put(f"/v1/zones/{ZONE}", json={"name": "Huangpu", "zone_class": "county",
                                                    "lat": SITE[0], "lon": SITE[1]}, headers=admin)
    assert r.status_code == 200, r.text


async def open_jobs(client, skill, n, *, spread=0.02):
    out = []
    for i in range(n):
        loc = (SITE[0] + spread * ((i % 3) - 1), SITE[1] + spread * ((i // 3) - 1))
        async with unit_of_work(client.app.state.sessions) as s:
            out.append(await jobs.open_job(s, client.app.state.dispatch_cfg, ticket(skill, region=ZONE, loc=loc),
                                           clock.now()))
    return out


async def put_engineer(client, admin, eid, skill, loc=SITE, **kw):
    body = {**engineer_body(skill, region=ZONE, loc=loc), **kw}
    r = await client.put(f"/v1/engineers/{eid}", json=body, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


async def run_now(client, plan_id):
    async with unit_of_work(client.app.state.sessions) as s:
        return await plans.run_plan(s, client.app.state.dispatch_cfg, plan_id=plan_id, now=clock.now())


async def test_what_a_plan_needs_is_editable_with_defaults(clean, dispatch_settings, admin, auth_headers):
    skill = uniq("hvac")
    async with running(create_app(dispatch_settings())) as client:
        await county_zone(client, admin)
        saved = await put_engineer(client, admin, "P1", skill, shift_start="07:30", shift_end="16:00")
        assert (saved["shift_start"], saved["shift_end"]) == ("07:30", "16:00")
        listed = (await client.get("/v1/engineers", headers=admin)).json()
        assert [(e["shift_start"], e["shift_end"]) for e in listed] == [("07:30", "16:00")]
        for start, end in (("18:00", "08:00"), ("08:00", "08:00"), ("08:00+08:00", "18:00"), ("24:00", "25:00")):
            bad = {**engineer_body(skill, region=ZONE), "shift_start": start, "shift_end": end}
            assert (await client.put("/v1/engineers/P2", json=bad, headers=admin)).status_code == 422, (start, end)
        [job] = await open_jobs(client, skill, 1)

        got = (await client.get(f"/v1/jobs/{job.id}/planning", headers=admin)).json()
        assert got["required_skills"] == {skill: 1} and got["service_minutes"] == 60  # today's skill = level 1
        assert got["unserved_cost"] == "500.00" and got["pinned_engineer_id"] is None and not got["booked"]
        assert datetime.fromisoformat(got["latest_start"]) == job.arrive_due
        assert datetime.fromisoformat(got["earliest_start"]) == job.opened_at

        r = await client.put("/v1/service-durations", json={"product_line": skill, "minutes": 45}, headers=admin)
        assert r.status_code == 200 and r.json() == {"product_line": skill, "fault_class": None, "skill_level": None,
                                                     "minutes": 45, "override": False, "learned_minutes": None,
                                                     "samples": 0, "effective_minutes": 45}
        await client.put("/v1/service-durations", json={"product_line": skill, "fault_class": "compressor",
                                                        "minutes": 120}, headers=admin)
        assert (await client.get(f"/v1/jobs/{job.id}/planning", headers=admin)).json()["service_minutes"] == 45
        slot = at(tomorrow(), 14)
        r = await client.patch(f"/v1/jobs/{job.id}/planning", headers=admin, json={
            "fault_class": "compressor", "earliest_start": slot, "required_skills": {skill: 3, "gas": 2},
            "unserved_cost": "1200.50", "pinned_engineer_id": "P1"})
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["service_minutes"] == 120 and got["booked"] and got["pinned_engineer_id"] == "P1"
        assert datetime.fromisoformat(got["earliest_start"]) == datetime.fromisoformat(slot)
        assert got["required_skills"] == {skill: 3, "gas": 2} and got["unserved_cost"] == "1200.50"
        # null goes back to the default; fields not sent stay
        got = (await client.patch(f"/v1/jobs/{job.id}/planning", headers=admin,
                                  json={"unserved_cost": None, "service_minutes": 30})).json()
        assert got["unserved_cost"] == "500.00" and got["service_minutes"] == 30 and got["pinned_engineer_id"] == "P1"
        r = await client.patch(f"/v1/jobs/{job.id}/planning", headers=admin, json={"pinned_engineer_id": "nobody"})
        assert r.status_code == 422 and r.json()["field"] == "pinned_engineer_id"
        eng = auth_headers("engineer", sub="P1", engineer_id="P1")
        assert (await client.patch(f"/v1/jobs/{job.id}/planning", headers=eng, json={})).status_code == 403
        # the SLA policy carries the cost of not serving
        pol = {"zone_class": "county", "calendar_code": "24x7", "respond_minutes": 60, "arrive_minutes": 2880,
               "resolve_minutes": 1440, "unserved_cost": "800"}
        assert (await client.put("/v1/sla/policies", json=pol, headers=admin)).status_code == 200
        assert (await client.get(f"/v1/jobs/{job.id}/planning", headers=admin)).json()["unserved_cost"] == "800.00"
        policies = (await client.get("/v1/sla/policies", headers=admin)).json()
        county = [p for p in policies if p["zone_class"] == "county"]
        assert county[0]["unserved_cost"] == "800.00"


async def test_plan_requested_planned_by_the_worker_group_published_and_routed(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """HTTP -> dispatch.plan.requested on Kafka -> planner consumer group (process executor) -> done -> publish
    -> jobs assigned with planned times (JobAssigned assigned_by=plan) -> the engineer's ordered route."""
    skill = uniq("hvac")
    settings_ = dispatch_settings(run_consumers=True, plan_time_limit_seconds=1.0, planner_executor="process")
    async with running(create_app(settings_)) as client:
        await county_zone(client, admin)
        js = await open_jobs(client, skill, 5)  # before the engineers exist: all queued
        await put_engineer(client, admin, "E1", skill)
        await put_engineer(client, admin, "E2", skill, loc=(SITE[0] + 0.05, SITE[1] + 0.05))
        pinned = js[0]
        r = await client.patch(f"/v1/jobs/{pinned.id}/planning", json={"pinned_engineer_id": "E2"}, headers=admin)
        assert r.status_code == 200
        day = tomorrow()
        r = await client.post("/v1/plans", json={"zone": ZONE, "date": day.isoformat()}, headers=admin)
        assert r.status_code == 202, r.text
        plan_id = r.json()["id"]
        assert r.json()["status"] in ("requested", "running", "done")

        async def done():
            got = (await client.get(f"/v1/plans/{plan_id}", headers=admin)).json()
            return got if got["status"] in ("done", "failed") else None

        plan = await wait_for(done, timeout=120, what="plan done")
        assert plan["status"] == "done", plan
        assert plan["score"]["planned_jobs"] + plan["score"]["unplanned_jobs"] == 5
        on_route = {s["job_id"]: r["engineer_id"] for r in plan["routes"] for s in r["stops"]}
        assert set(on_route) | {u["job_id"] for u in plan["unplanned"]} == {j.id for j in js}
        assert on_route[pinned.id] == "E2"  # a pinned job goes to its engineer only
        for route in plan["routes"]:
            starts = [s["planned_start"] for s in route["stops"]]
            assert starts == sorted(starts) and [s["position"] for s in route["stops"]] == list(range(len(starts)))
            assert all(s["window_met"] for s in route["stops"])

        r = await client.post(f"/v1/plans/{plan_id}/publish", headers=admin)
        assert r.status_code == 200, r.text
        assert sorted(r.json()["assigned"]) == sorted(on_route) and r.json()["status"] == "published"
        assert (await client.post(f"/v1/plans/{plan_id}/publish", headers=admin)).status_code == 409
        for route in plan["routes"]:
            for s in route["stops"]:
                job = (await client.get(f"/v1/jobs/{s['job_id']}", headers=admin)).json()
                assert job["status"] == "accepted" and job["engineer_id"] == route["engineer_id"]
                assert datetime.fromisoformat(job["planned_arrival"]) == datetime.fromisoformat(s["planned_arrival"])
        rows = await admin_db.fetch("SELECT key, payload::text AS p FROM dispatch.outbox "
                                    "WHERE event_type = 'dispatch.job.assigned'")
        planned = {r["key"]: json.loads(r["p"])["payload"] for r in rows}
        for job_id, eng in on_route.items():
            assert planned[job_id]["assigned_by"] == "plan" and planned[job_id]["engineer_id"] == eng
            assert planned[job_id]["planned_arrival"] and planned[job_id]["plan_id"] == plan_id
        published = await admin_db.fetch("SELECT key, topic FROM dispatch.outbox "
                                         "WHERE event_type = 'dispatch.plan.published'")
        assert [(r["key"], r["topic"]) for r in published] == [(ZONE, "dispatch.plan.v1")]

        for route in plan["routes"]:
            eid = route["engineer_id"]
            eng = auth_headers("engineer", sub=eid, engineer_id=eid)
            mine = (await client.get("/v1/me/route", params={"date": day.isoformat()}, headers=eng)).json()
            assert [s["job_id"] for s in mine["stops"]] == [s["job_id"] for s in route["stops"]]
            assert all(s["status"] == "accepted" for s in mine["stops"])
        # a new request for the zone-day is the next version
        r = await client.post("/v1/plans", json={"zone": ZONE, "date": day.isoformat()}, headers=admin)
        assert r.status_code == 202 and r.json()["id"] != plan_id and r.json()["version"] == 2


async def test_racing_plan_requests_for_one_zone_day_make_one_plan(clean, dispatch_settings, admin, admin_db):
    async with running(create_app(dispatch_settings())) as client:  # no planner: the plan stays requested
        day = tomorrow().isoformat()

        async def ask():
            return await client.post("/v1/plans", json={"zone": ZONE, "date": day}, headers=admin)

        answers = await asyncio.gather(*(ask() for _ in range(8)))
        assert {a.status_code for a in answers} == {202}
        assert len({a.json()["id"] for a in answers}) == 1
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.plans WHERE zone = $1", ZONE) == 1
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.outbox "
                                       "WHERE event_type = 'dispatch.plan.requested'") == 1
        r = await client.post("/v1/plans", json={"zone": ZONE, "date": clock.business_today().isoformat()},
                              headers=admin)
        assert r.status_code == 202 and r.json()["id"] != answers[0].json()["id"]  # another day: another plan
        r = await client.post("/v1/plans", json={"zone": ZONE, "date": "2001-01-01"}, headers=admin)
        assert r.status_code == 422 and r.json()["code"] == "plan_date_past"
        assert (await client.post(f"/v1/plans/{answers[0].json()['id']}/publish", headers=admin)).status_code == 409
        assert (await client.get("/v1/plans/nope", headers=admin)).status_code == 404


async def test_a_started_job_never_moves_and_a_pinned_job_stays_with_its_engineer(
        clean, dispatch_settings, admin, auth_headers):
    skill = uniq("hvac")
    async with running(create_app(dispatch_settings(plan_time_limit_seconds=0.5,
                                                    planner_executor="thread"))) as client:
        # today's plan needs a day still in progress: 09:00 Shanghai of a coming workday, whenever the suite runs
        day = clock.business_today() + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        morning = datetime.combine(day, time(9), clock.BUSINESS_TZ)
        r = await client.post("/v1/admin/clock", json={"to": morning.isoformat()}, headers=admin)
        assert r.status_code == 200, r.text
        await county_zone(client, admin)
        far = (SITE[0] + 0.3, SITE[1] + 0.3)
        started, pinned, free = await open_jobs(client, skill, 3)
        await put_engineer(client, admin, "S1", skill, loc=far)  # far away: a planner would rather use S2
        await put_engineer(client, admin, "S2", skill)
        r = await client.post(f"/v1/jobs/{started.id}/assign", json={"engineer_id": "S1", "version": 1},
                              headers=admin)
        assert r.status_code == 200, r.text
        s1 = auth_headers("engineer", sub="S1", engineer_id="S1")
        at = clock.now().isoformat()  # the app's moved clock: the device time must not be before the job
        for body in (action("depart", device_time=at), action("arrive", lat=SITE[0], lon=SITE[1], device_time=at)):
            r = await client.post(f"/v1/jobs/{started.id}/actions", json=body, headers=s1)
            assert r.status_code == 200, r.text
        # pinning a started job elsewhere does not move it either
        for job_id, eng in ((pinned.id, "S1"), (started.id, "S2")):
            r = await client.patch(f"/v1/jobs/{job_id}/planning", json={"pinned_engineer_id": eng}, headers=admin)
            assert r.status_code == 200
        r = await client.post("/v1/plans", json={"zone": ZONE, "date": clock.business_today().isoformat()},
                              headers=admin)
        plan_id = r.json()["id"]
        status = await run_now(client, plan_id)
        plan = (await client.get(f"/v1/plans/{plan_id}", headers=admin)).json()
        assert status == plan["status"]
        if status == "failed":  # run after the end of the business day: nothing to plan today
            assert plan["error"] == "the day is over"
            return
        on_route = {s["job_id"]: (r["engineer_id"], s["position"], s["started"])
                    for r in plan["routes"] for s in r["stops"]}
        assert on_route[started.id] == ("S1", 0, True)
        assert on_route.get(pinned.id, ("S1",))[0] == "S1"
        r = await client.post(f"/v1/plans/{plan_id}/publish", headers=admin)
        assert r.status_code == 200, r.text
        assert started.id in r.json()["kept"] and started.id not in r.json()["assigned"]
        job = (await client.get(f"/v1/jobs/{started.id}", headers=admin)).json()
        assert (job["status"], job["engineer_id"]) == ("on_site", "S1")
        if pinned.id in on_route:
            assert (await client.get(f"/v1/jobs/{pinned.id}", headers=admin)).json()["engineer_id"] == "S1"
        assert free.id in on_route or free.id in {u["job_id"] for u in plan["unplanned"]}


async def test_publish_skips_a_job_pinned_elsewhere_or_closed_since_planning(clean, dispatch_settings, admin):
    skill = uniq("hvac")
    async with running(create_app(dispatch_settings(plan_time_limit_seconds=0.5,
                                                    planner_executor="thread"))) as client:
        await county_zone(client, admin)
        a, b = await open_jobs(client, skill, 2)
        await put_engineer(client, admin, "K1", skill)
        plan_id = (await client.post("/v1/plans", json={"zone": ZONE, "date": tomorrow().isoformat()},
                                     headers=admin)).json()["id"]
        assert await run_now(client, plan_id) == "done"
        await put_engineer(client, admin, "K2", skill)
        assert (await client.patch(f"/v1/jobs/{a.id}/planning", json={"pinned_engineer_id": "K2"},
                                   headers=admin)).status_code == 200
        async with unit_of_work(client.app.state.sessions) as s:
            await jobs.cancel_job(s, b.ticket_id, "customer fixed it", clock.now())
        r = await client.post(f"/v1/plans/{plan_id}/publish", headers=admin)
        assert r.status_code == 200, r.text
        assert sorted((x["job_id"], x["reason"]) for x in r.json()["skipped"]) == sorted(
            [(a.id, "pinned_elsewhere"), (b.id, "closed")])
        assert (await client.get(f"/v1/jobs/{a.id}", headers=admin)).json()["status"] == "queued"


# --- property: a stored (published) plan never reports a window as met that it misses -----------------------

job_specs = st.lists(st.tuples(
    st.floats(-0.08, 0.08), st.floats(-0.08, 0.08),  # offset from the site
    st.integers(8 * 60, 17 * 60),  # booked slot start, minute of tomorrow
    st.integers(10, 240),  # service minutes
    st.integers(1, 3),  # required level
    st.booleans(),  # booked at all
), min_size=1, max_size=6)
engineer_specs = st.lists(st.tuples(st.floats(-0.1, 0.1), st.integers(1, 3), st.integers(6, 10),
                                    st.integers(12, 20)), min_size=1, max_size=3)


async def test_plan_requests_keep_working_on_one_connection_after_its_statements_turn_generic(
        clean, dispatch_settings, admin, admin_db):
    """After five executions on one connection asyncpg's prepared INSERT … ON CONFLICT switches to a generic plan;
    the partial unique index is then inferred only from a literal predicate (a bound one failed with a 500 in CI)."""
    from aftersales_shared.config import DatabaseSettings

    base = dispatch_settings()
    one_connection = base.db.model_copy(update={"pool_size": 1, "max_overflow": 0})
    assert isinstance(one_connection, DatabaseSettings)
    async with running(create_app(base.model_copy(update={"db": one_connection}))) as client:
        start = tomorrow()
        for n in range(8):
            r = await client.post("/v1/plans", json={"zone": ZONE, "date": (start + timedelta(days=n)).isoformat()},
                                  headers=admin)
            assert r.status_code == 202, (n, r.text)
            day = (start + timedelta(days=n)).isoformat()
            again = await client.post("/v1/plans", json={"zone": ZONE, "date": day}, headers=admin)
            assert again.status_code == 202 and again.json()["id"] == r.json()["id"]
    assert await admin_db.fetchval("SELECT count(*) FROM dispatch.plans WHERE zone = $1", ZONE) == 8


@pytest.fixture
async def planning_client(clean, dispatch_settings, admin):
    async with running(create_app(dispatch_settings(plan_time_limit_seconds=0.3,
                                                    planner_executor="thread"))) as client:
        await county_zone(client, admin)
        yield client


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(js=job_specs, es=engineer_specs)
async def test_a_published_plan_never_reports_a_window_as_met_that_it_misses(planning_client, admin, admin_db, js,
                                                                             es):
    client = planning_client
    await admin_db.execute("TRUNCATE dispatch.plan_stops, dispatch.plan_routes, dispatch.plan_unplanned, "
                           "dispatch.plans, dispatch.offers, dispatch.job_actions, dispatch.jobs, "
                           "dispatch.engineers CASCADE")
    skill = uniq("p")
    day = tomorrow()
    created = await open_jobs(client, skill, len(js))
    for job, (dlat, dlon, slot, minutes, level, booked) in zip(created, js, strict=True):
        body = {"service_minutes": minutes, "required_skills": {skill: level}}
        if booked:
            body["earliest_start"] = at(day, slot // 60, slot % 60)
        async with unit_of_work(client.app.state.sessions) as s:
            row = await s.get(Job, job.id)
            row.lat, row.lon = SITE[0] + dlat, SITE[1] + dlon
        assert (await client.patch(f"/v1/jobs/{job.id}/planning", json=body, headers=admin)).status_code == 200
    for i, (dlat, level, start_h, end_h) in enumerate(es):
        await put_engineer(client, admin, f"H{i}", skill, loc=(SITE[0] + dlat, SITE[1]),
                           skills={skill: level}, shift_start=f"{start_h:02d}:00", shift_end=f"{end_h:02d}:00")
    plan_id = (await client.post("/v1/plans", json={"zone": ZONE, "date": day.isoformat()},
                                 headers=admin)).json()["id"]
    assert await run_now(client, plan_id) == "done"
    assert (await client.post(f"/v1/plans/{plan_id}/publish", headers=admin)).status_code == 200

    async with unit_of_work(client.app.state.sessions) as s:
        row, routes, stops, unplanned = await plans.get_plan(s, plan_id)
        assert isinstance(row, PlanRow) and row.status == "published" and row.inputs
        inp = from_snapshot(row.inputs)
        sr, ss = plans.stored(routes, stops)
        plan = stored_plan(inp, sr, ss, [(u.job_id, u.reason) for u in unplanned])
        assert routing.verify(plan, inp.jobs, inp.engineers, inp.travel) == []
        real = set((await s.scalars(select(Job.id).where(Job.id.in_([x.job_id for x in stops])))).all())
    by_job = {j.id: j for j in inp.jobs}
    for x in stops:  # and against the job as stored, not only the snapshot
        if x.window_met:
            assert x.window_start <= x.planned_start <= x.window_end
            assert by_job[x.job_id].earliest <= x.planned_start + timedelta(seconds=1)
            assert x.planned_start <= by_job[x.job_id].latest
        assert x.job_id in real
    assert all(x.planned_start.tzinfo is not None and x.planned_start >= datetime(2000, 1, 1, tzinfo=UTC)
               for x in stops)


def test_an_instance_runs_the_planner_worker_by_setting(monkeypatch):
    """``DISPATCH_RUN_PLANNER`` decides whether the planner group runs here; ``DISPATCH_PLANNER_ONLY`` makes an
    instance nothing but a planner (docker-compose's dispatch-planner, make run's planner process); the time limit
    per plan is ``DISPATCH_PLAN_TIME_LIMIT_SECONDS``."""
    from aftersales_shared.config import AuthSettings
    from dispatch.background import background_jobs
    from dispatch.config import DispatchConfig, DispatchSettings
    from dispatch.consumers import consumer_specs

    def make(**env):
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        return DispatchSettings(environment="test", auth=AuthSettings(public_key_pem=None))

    groups = {"tickets", "parts", "durations", "contracts", "maintenance"}
    assert {c.name for c in consumer_specs(make())} == groups | {"planner"}
    assert {c.name for c in consumer_specs(make(DISPATCH_RUN_PLANNER="false"))} == groups
    only = make(DISPATCH_RUN_PLANNER="true", DISPATCH_PLANNER_ONLY="true", DISPATCH_PLAN_TIME_LIMIT_SECONDS="2")
    assert [(c.name, c.topics) for c in consumer_specs(only)] == [("planner", ["dispatch.plan.v1"])]
    assert background_jobs(only, DispatchConfig.from_settings(only))(object()) == []  # type: ignore[arg-type]
    assert DispatchConfig.from_settings(only).plan_time_limit == 2.0
