"""Tools as data (issue 14, item 1 "per engineer and day: ... tools") over HTTP against the real stack: an engineer's
tools (``PUT /v1/engineers/{id}/tools``), a job's required tools from its product line x fault class (``PUT
/v1/fault-classes/{line}/{class}/tools``) or named for the job (``PATCH /v1/jobs/{id}/planning``); a job needing a
tool goes only to an engineer who carries it, in a zone-day plan and in a live insertion (R-S2..R-S4 windows as
usual); nobody carrying it leaves the job unplanned / queued; bad input is problem+json naming the field."""

from __future__ import annotations

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running
from dispatch.jobs import service as jobs
from dispatch.main import create_app

from .conftest import uniq
from .test_live_routes import at, engineer, move_clock, next_workday, open_at, zone
from .test_plans import SITE, ZONE, county_zone, open_jobs, put_engineer, run_now, tomorrow

pytestmark = pytest.mark.integration

NEAR = (SITE[0] + 0.01, SITE[1])  # ~1 km from the jobs: the engineer a plan or an insertion would pick
FAR = (SITE[0] + 0.06, SITE[1])  # ~7 km


async def put_tools(client, admin, eid, tools):
    r = await client.put(f"/v1/engineers/{eid}/tools", json={"tools": tools}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"engineer_id": eid, "tools": sorted(set(tools))}


async def test_a_plan_gives_a_job_needing_a_tool_only_to_an_engineer_who_carries_it(
        clean, dispatch_settings, admin):
    """R-S4 windows: the nearer engineer without the fault class's tool is not given the job; with nobody
    carrying a tool a job needs, it is unplanned (no_qualified_engineer)."""
    skill = uniq("hvac")
    async with running(create_app(dispatch_settings())) as client:
        await county_zone(client, admin)
        r = await client.put(f"/v1/fault-classes/{skill}/leak/tools", json={"tools": ["gauge", "gauge", "vacuum"]},
                             headers=admin)
        assert r.status_code == 200 and r.json() == {"product_line": skill, "fault_class": "leak",
                                                     "tools": ["gauge", "vacuum"]}, r.text
        got = (await client.get(f"/v1/fault-classes/{skill}/leak/tools", headers=admin)).json()
        assert got["tools"] == ["gauge", "vacuum"]
        needs_tool, plain, nobody = await open_jobs(client, skill, 3, spread=0.0)
        r = await client.patch(f"/v1/jobs/{needs_tool.id}/planning", json={"fault_class": "leak"}, headers=admin)
        assert r.status_code == 200, r.text
        assert (r.json()["required_tools"], r.json()["required_tools_from"]) == (["gauge", "vacuum"], "fault_class")
        r = await client.patch(f"/v1/jobs/{nobody.id}/planning", json={"required_tools": ["borescope"]},
                               headers=admin)
        assert (r.json()["required_tools"], r.json()["required_tools_from"]) == (["borescope"], "job")
        got = (await client.get(f"/v1/jobs/{plain.id}/planning", headers=admin)).json()
        assert (got["required_tools"], got["required_tools_from"]) == ([], "none")

        await put_engineer(client, admin, "T-NEAR", skill, loc=NEAR)
        await put_engineer(client, admin, "T-FAR", skill, loc=FAR)
        await put_tools(client, admin, "T-NEAR", ["gauge"])  # one of the two tools only
        await put_tools(client, admin, "T-FAR", ["vacuum", "gauge", "ladder"])
        assert (await client.get("/v1/engineers/T-FAR/tools", headers=admin)).json()["tools"] == [
            "gauge", "ladder", "vacuum"]

        r = await client.post("/v1/plans", json={"zone": ZONE, "date": tomorrow().isoformat()}, headers=admin)
        assert r.status_code == 202, r.text
        plan_id = r.json()["id"]
        assert await run_now(client, plan_id) == "done"
        plan = (await client.get(f"/v1/plans/{plan_id}", headers=admin)).json()
        served = {s["job_id"]: route["engineer_id"] for route in plan["routes"] for s in route["stops"]}
        assert served[needs_tool.id] == "T-FAR"
        assert plain.id in served
        assert [(u["job_id"], u["reason"]) for u in plan["unplanned"]] == [(nobody.id, "no_qualified_engineer")]


async def test_a_live_insertion_gives_a_job_needing_a_tool_only_to_an_engineer_who_carries_it(
        clean, dispatch_settings, admin):
    """R-S4 (county, 48 h): the insertion skips the nearer engineer without the tool; without anyone carrying it
    the job stays queued, and is placed once an engineer gets the tool."""
    skill, region = uniq("tool"), "310115"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        await zone(client, admin, region, "county")
        job = await open_at(client, skill, region, SITE)  # nobody serves the zone yet: queued
        r = await client.patch(f"/v1/jobs/{job.id}/planning", json={"required_tools": ["gauge"]}, headers=admin)
        assert r.status_code == 200 and r.json()["required_tools"] == ["gauge"], r.text
        await engineer(client, admin, "L-NEAR", {skill: 3}, [region], loc=NEAR)
        await engineer(client, admin, "L-FAR", {skill: 3}, [region], loc=FAR)

        async def retry():
            async with unit_of_work(client.app.state.sessions) as s:
                return await jobs.retry_queue(s, client.app.state.dispatch_cfg, clock.now())

        assert await retry() == 0  # nobody carries the tool
        got = (await client.get(f"/v1/jobs/{job.id}", headers=admin)).json()
        assert (got["status"], got["engineer_id"]) == ("queued", None)

        await put_tools(client, admin, "L-FAR", ["gauge"])
        assert await retry() == 1
        got = (await client.get(f"/v1/jobs/{job.id}", headers=admin)).json()
        assert (got["status"], got["engineer_id"]) == ("offered", "L-FAR")



async def test_tools_input_is_validated_as_problem_json(clean, dispatch_settings, admin):
    skill = uniq("hvac")
    async with running(create_app(dispatch_settings())) as client:
        await county_zone(client, admin)
        await put_engineer(client, admin, "V1", skill)
        for body in ({"tools": ["bad tool"]}, {"tools": [""]}, {"tools": "gauge"}, {"tools": ["x"] * 51}, {}):
            r = await client.put("/v1/engineers/V1/tools", json=body, headers=admin)
            assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), body
        r = await client.put("/v1/engineers/NOPE/tools", json={"tools": ["gauge"]}, headers=admin)
        assert r.status_code == 404 and r.json()["field"] == "engineer_id"
        assert (await client.get("/v1/engineers/NOPE/tools", headers=admin)).status_code == 404
        r = await client.put(f"/v1/fault-classes/{skill}/leak/tools", json={"tools": ["ok", "no way"]}, headers=admin)
        assert r.status_code == 422
        [job] = await open_jobs(client, skill, 1)
        r = await client.patch(f"/v1/jobs/{job.id}/planning", json={"required_tools": ["a b"]}, headers=admin)
        assert r.status_code == 422
        # null goes back to the fault class's (none here); [] = none
        for value, expect in ((["gauge"], (["gauge"], "job")), ([], ([], "job")), (None, ([], "none"))):
            r = await client.patch(f"/v1/jobs/{job.id}/planning", json={"required_tools": value}, headers=admin)
            assert (r.json()["required_tools"], r.json()["required_tools_from"]) == expect, value
