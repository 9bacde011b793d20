"""Restock stops in real plans (issue 14 item 1; R-S2..R-S4 windows kept) over HTTP + Kafka: a job's expected parts
(its fault class's, or named for the job), an engineer's van stock and the zone's service centres' stock feed the
zone-day plan; a job whose part the van lacks gets a stop at a centre that holds it, before the job, in the
published plan; a van that holds it needs no stop; a centre without the part is never used."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import AIOKafkaConsumer

from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running, wait_for
from dispatch.domain import routing
from dispatch.main import create_app
from dispatch.models import Job
from dispatch.plans import service as plans
from dispatch.plans.inputs import from_snapshot, stored_plan

from .conftest import uniq
from .test_plans import SITE, ZONE, county_zone, open_jobs, put_engineer, run_now, tomorrow

pytestmark = pytest.mark.integration

JOB_AT = (SITE[0] + 0.03, SITE[1])  # ~3.3 km north of the engineer's home
NEAR = (SITE[0] + 0.02, SITE[1])  # a centre on the way (holds only another part)
AWAY = (SITE[0], SITE[1] - 0.03)  # a centre off the way (holds the part)


async def put_centre(client, admin, cid, loc, parts, *, region=ZONE):
    r = await client.put(f"/v1/service-centres/{cid}", json={"name": cid, "region_code": region, "lat": loc[0],
                                                             "lon": loc[1]}, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.put(f"/v1/service-centres/{cid}/stock", json={"parts": parts}, headers=admin)
    assert r.status_code == 200 and r.json() == {"centre_id": cid, "parts": parts}, r.text


async def job_needing(client, admin, skill, part, *, fault_class=None):
    """One open job of product line ``skill``: by fault class (the table names the part) or named for the job."""
    [job] = await open_jobs(client, skill, 1, spread=0.0)
    body = {"fault_class": fault_class} if fault_class else {"expected_parts": {part: 1}}
    r = await client.patch(f"/v1/jobs/{job.id}/planning", json=body, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["expected_parts"] == {part: 1}
    assert r.json()["expected_parts_from"] == ("fault_class" if fault_class else "job")
    return job


async def move_job(client, job, loc):
    async with unit_of_work(client.app.state.sessions) as s:
        row = await s.get(Job, job.id)
        row.lat, row.lon = loc


async def published_event(bootstrap: str, plan_id: str) -> dict:
    """The ``dispatch.plan.published`` of this plan, read from the topic (the relay put it there)."""
    consumer = AIOKafkaConsumer("dispatch.plan.v1", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        async def find():
            for msgs in (await consumer.getmany(timeout_ms=1000)).values():
                for m in msgs:
                    env = json.loads(m.value)
                    if env.get("type") == "dispatch.plan.published" and env["payload"]["plan_id"] == plan_id:
                        return env["payload"]
            return None
        return await wait_for(find, timeout=120, what="plan published on Kafka")
    finally:
        await consumer.stop()


async def test_a_job_whose_part_the_van_lacks_gets_a_restock_stop_before_it_at_a_centre_that_has_it(
        clean, dispatch_settings, admin, infra_settings, auth_headers):
    """R-S2..R-S4: HTTP config -> plan requested on Kafka -> planner group -> a restock stop at the centre holding
    the part, before the job; the centre on the way without it is not used; published with the restock and the
    parts to pick up there on Kafka; the engineer's ``GET /v1/me/route`` shows the restock stop (centre, name,
    planned times) before the job."""
    skill, part, other = uniq("hvac"), uniq("CMP"), uniq("FLT")
    settings_ = dispatch_settings(run_consumers=True, plan_time_limit_seconds=1.0, planner_executor="thread")
    async with running(create_app(settings_)) as client:
        await county_zone(client, admin)
        r = await client.put(f"/v1/fault-classes/{skill}/no-cooling/parts", json={"parts": {part: 1}},
                             headers=admin)
        assert r.status_code == 200 and r.json()["parts"] == {part: 1}, r.text
        assert (await client.get(f"/v1/fault-classes/{skill}/no-cooling/parts", headers=admin)).json()["parts"] \
            == {part: 1}
        job = await job_needing(client, admin, skill, part, fault_class="no-cooling")
        await move_job(client, job, JOB_AT)
        await put_engineer(client, admin, "R1", skill)
        r = await client.put("/v1/engineers/R1/van-stock", json={"parts": {other: 3}}, headers=admin)
        assert r.status_code == 200 and r.json() == {"engineer_id": "R1", "parts": {other: 3}}
        await put_centre(client, admin, "C-NEAR", NEAR, {other: 10})
        await put_centre(client, admin, "C-AWAY", AWAY, {part: 5})

        r = await client.post("/v1/plans", json={"zone": ZONE, "date": tomorrow().isoformat()}, headers=admin)
        assert r.status_code == 202, r.text
        plan_id = r.json()["id"]

        async def done():
            got = (await client.get(f"/v1/plans/{plan_id}", headers=admin)).json()
            return got if got["status"] in ("done", "failed") else None

        plan = await wait_for(done, timeout=120, what="plan done")
        assert plan["status"] == "done", plan
        [route] = plan["routes"]
        kinds = [(s["kind"], s["job_id"], s["centre_id"]) for s in route["stops"]]
        assert kinds == [("restock", None, "C-AWAY"), ("job", job.id, None)]
        restock, served = route["stops"]
        assert [s["position"] for s in route["stops"]] == [0, 1]
        assert restock["planned_end"] <= served["planned_arrival"] and served["window_met"]
        assert plan["score"]["planned_jobs"] == 1

        r = await client.post(f"/v1/plans/{plan_id}/publish", headers=admin)
        assert r.status_code == 200 and r.json()["assigned"] == [job.id], r.text
        event = await published_event(infra_settings("dispatch")["kafka"].bootstrap_servers, plan_id)
        [ev_route] = event["routes"]
        assert [s["job_id"] for s in ev_route["stops"]] == [job.id] and ev_route["stops"][0]["position"] == 1
        # issue 14: each restock stop says what the engineer picks up there (what the publish moved to the van)
        assert [(x["centre_id"], x["position"], x["parts"]) for x in ev_route["restocks"]] == [
            ("C-AWAY", 0, {part: 1})]

        eng = auth_headers("engineer", sub="R1", engineer_id="R1")
        mine = (await client.get("/v1/me/route", params={"date": tomorrow().isoformat()}, headers=eng)).json()
        assert [(s["position"], s["kind"], s["job_id"], s["centre_id"]) for s in mine["stops"]] == [
            (0, "restock", None, "C-AWAY"), (1, "job", job.id, None)]
        stop_r, stop_j = mine["stops"]
        assert stop_r["centre_name"] == "C-AWAY" and (stop_r["lat"], stop_r["lon"]) == AWAY
        assert stop_r["plan_id"] == plan_id and stop_r["status"] is None and stop_r["latest_start"] is None
        assert (stop_r["planned_arrival"], stop_r["planned_start"], stop_r["planned_end"]) == (
            restock["planned_arrival"], restock["planned_start"], restock["planned_end"])
        assert stop_j["status"] == "accepted" and stop_r["planned_end"] <= stop_j["planned_arrival"]

        # the stored plan, re-walked by the routing core with the van and centre stock as planned: no violation
        async with unit_of_work(client.app.state.sessions) as s:
            row, routes, stops, unplanned = await plans.get_plan(s, plan_id)
            restocks = plans.stored_restocks(await plans.plan_restocks(s, plan_id))
        inp = from_snapshot(row.inputs)
        assert [c.id for c in inp.centres] == ["C-AWAY", "C-NEAR"]
        assert [e.van_stock for e in inp.engineers] == [{other: 3}]
        sr, ss = plans.stored(routes, stops)
        stored = stored_plan(inp, sr, ss, [(u.job_id, u.reason) for u in unplanned], restocks)
        assert routing.verify(stored, inp.jobs, inp.engineers, inp.travel, centres=inp.centres) == []
        # without its restock stop the same stored plan runs the van out of the part
        bare = stored_plan(inp, sr, ss, [(u.job_id, u.reason) for u in unplanned])
        assert ("stock", job.id) in {(v.kind, v.job_id) for v in routing.verify(
            bare, inp.jobs, inp.engineers, inp.travel, centres=inp.centres)}


async def test_no_restock_stop_when_the_van_holds_the_part(clean, dispatch_settings, admin):
    skill, part = uniq("hvac"), uniq("CMP")
    async with running(create_app(dispatch_settings(planner_executor="thread"))) as client:
        await county_zone(client, admin)
        job = await job_needing(client, admin, skill, part)  # named for the job, not by fault class
        await move_job(client, job, JOB_AT)
        await put_engineer(client, admin, "R2", skill)
        assert (await client.put("/v1/engineers/R2/van-stock", json={"parts": {part: 1}},
                                 headers=admin)).status_code == 200
        await put_centre(client, admin, "C-AWAY", AWAY, {part: 5})
        r = await client.post("/v1/plans", json={"zone": ZONE, "date": tomorrow().isoformat()}, headers=admin)
        plan_id = r.json()["id"]
        assert await run_now(client, plan_id) == "done"
        plan = (await client.get(f"/v1/plans/{plan_id}", headers=admin)).json()
        [route] = plan["routes"]
        assert [(s["kind"], s["job_id"]) for s in route["stops"]] == [("job", job.id)]


async def test_a_centre_without_the_part_is_not_used_and_the_job_stays_unplanned(clean, dispatch_settings, admin):
    skill, part, other = uniq("hvac"), uniq("CMP"), uniq("FLT")
    async with running(create_app(dispatch_settings(planner_executor="thread"))) as client:
        await county_zone(client, admin)
        job = await job_needing(client, admin, skill, part)
        await put_engineer(client, admin, "R3", skill)
        await put_centre(client, admin, "C-NEAR", NEAR, {other: 10})
        r = await client.post("/v1/plans", json={"zone": ZONE, "date": tomorrow().isoformat()}, headers=admin)
        plan_id = r.json()["id"]
        assert await run_now(client, plan_id) == "done"
        plan = (await client.get(f"/v1/plans/{plan_id}", headers=admin)).json()
        assert plan["routes"] == []
        assert [(u["job_id"], u["reason"]) for u in plan["unplanned"]] == [(job.id, "no_qualified_engineer")]
        # the dispatcher says the job needs no parts after all: it is planned, still without a restock stop
        r = await client.patch(f"/v1/jobs/{job.id}/planning", json={"expected_parts": {}}, headers=admin)
        assert r.json()["expected_parts"] == {} and r.json()["expected_parts_from"] == "job"
        r = await client.post("/v1/plans", json={"zone": ZONE, "date": tomorrow().isoformat()}, headers=admin)
        assert await run_now(client, r.json()["id"]) == "done"
        plan = (await client.get(f"/v1/plans/{r.json()['id']}", headers=admin)).json()
        assert [[s["kind"] for s in x["stops"]] for x in plan["routes"]] == [["job"]]


async def test_stock_and_parts_input_is_validated_as_problem_json(clean, dispatch_settings, admin, auth_headers):
    skill = uniq("hvac")
    async with running(create_app(dispatch_settings())) as client:
        await county_zone(client, admin)
        await put_engineer(client, admin, "R4", skill)
        [job] = await open_jobs(client, skill, 1)
        cases = [
            ("/v1/engineers/R4/van-stock", {"parts": {"RLY-1": -1}}, 422),
            ("/v1/engineers/R4/van-stock", {"parts": {"bad part!": 1}}, 422),
            ("/v1/engineers/R4/van-stock", {"RLY-1": 1}, 422),  # the map goes under "parts"
            ("/v1/engineers/NOBODY/van-stock", {"parts": {"RLY-1": 1}}, 404),
            ("/v1/service-centres/NOWHERE/stock", {"parts": {"RLY-1": 1}}, 404),
            (f"/v1/fault-classes/{skill}/no-cooling/parts", {"parts": {"RLY-1": 0}}, 422),
        ]
        for url, body, status in cases:
            r = await client.put(url, json=body, headers=admin)
            assert r.status_code == status, (url, body, r.text)
            assert r.headers["content-type"].startswith("application/problem+json") and r.json()["field"], r.text
        assert (await client.get("/v1/engineers/NOBODY/van-stock", headers=admin)).json()["field"] == "engineer_id"
        r = await client.patch(f"/v1/jobs/{job.id}/planning", json={"expected_parts": {"RLY 1": 1}}, headers=admin)
        assert r.status_code == 422 and "expected_parts" in r.json()["field"]
        assert (await client.get("/v1/engineers/R4/van-stock", headers=admin)).json()["parts"] == {}  # nothing written
        eng = auth_headers("engineer", sub="R4", engineer_id="R4")
        assert (await client.put("/v1/engineers/R4/van-stock", json={"parts": {}}, headers=eng)).status_code == 403


async def test_racing_van_stock_writes_end_as_one_of_them(clean, dispatch_settings, admin):
    """Two dispatchers replace a van's stock at once: both answered, the stock is one whole write, never a mix."""
    async with running(create_app(dispatch_settings())) as client:
        await put_engineer(client, admin, "R5", uniq("hvac"))
        bodies = [{"parts": {f"P-{i}": i + 1, "SHARED": i + 1}} for i in range(6)]
        answers = await asyncio.gather(*(client.put("/v1/engineers/R5/van-stock", json=b, headers=admin)
                                         for b in bodies))
        assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
        final = (await client.get("/v1/engineers/R5/van-stock", headers=admin)).json()["parts"]
        assert final in [b["parts"] for b in bodies]
