"""Stock that moves (issue 14, stock and restock stops) against the real stack: parts used on a completed job
leave the van once (R-T4: the service record lists them), a restock stop's parts leave the centre for the van when
the stop is committed to a route (a plan published, a live insertion), two routes of one plan never share the
last unit of a centre, and two engineers racing for it: one gets it.

The clock is moved to a coming workday morning (``POST /v1/admin/clock``): shifts 08:00-18:00 Asia/Shanghai hold
whatever hour the suite runs at."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running
from dispatch.domain import routing
from dispatch.domain.routing_travel import as_points
from dispatch.jobs import queries
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.plans import stock

from .conftest import action, uniq
from .test_live_routes import KM15, SITE, at, engineer, move_clock, next_workday, open_at, zone
from .test_plan_restock import put_centre
from .test_plans import ZONE, county_zone, open_jobs, put_engineer, run_now, tomorrow

pytestmark = pytest.mark.integration


async def van(client, admin, eid):
    r = await client.get(f"/v1/engineers/{eid}/van-stock", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["parts"]


async def test_issue14_completion_draws_down_van_stock_once_under_a_retried_completion(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """R-T4 parts used on the service record leave the engineer's van: once, never below zero, a part shipped
    for the job (``reservation_id``) is not the van's; a resent completion, a second completion and a redelivered
    draw-down move nothing again; each move is a ``stock_moves`` row of the job."""
    skill, region = uniq("hvac"), "310111"
    D = next_workday()
    p1, p2, p3 = uniq("RLY"), uniq("CMP"), uniq("FLT")
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        await zone(client, admin, region, "county")
        await engineer(client, admin, "V1", {skill: 3}, [region])
        r = await client.put("/v1/engineers/V1/van-stock", json={"parts": {p1: 3, p2: 1, p3: 4}}, headers=admin)
        assert r.status_code == 200, r.text
        job = await open_at(client, skill, region, (SITE[0] + 0.01, SITE[1]))
        eng = auth_headers("engineer", sub="V1", engineer_id="V1")
        url = f"/v1/jobs/{job.id}/actions"
        now = clock.now().isoformat()
        for kind, kw in (("accept", {}), ("depart", {}), ("arrive", {"lat": SITE[0], "lon": SITE[1]})):
            r = await client.post(url, json={**action(kind, **kw), "device_time": now}, headers=eng)
            assert r.status_code == 200, r.text
        record = {"work_done": "relay and compressor", "labour_minutes": 40, "parts_used": [
            {"part_no": p1, "quantity": 2}, {"part_no": p2, "quantity": 2},  # the van holds only 1 of p2
            {"part_no": p3, "quantity": 1, "reservation_id": uniq("RES")}]}  # shipped for the job
        complete = {**action("complete", record=record), "device_time": now}
        first, again = await asyncio.gather(client.post(url, json=complete, headers=eng),
                                            client.post(url, json=complete, headers=eng))
        assert {first.status_code, again.status_code} == {200}, (first.text, again.text)
        assert first.json() == again.json() and first.json()["status"] == "completed"
        r = await client.post(url, json={**action("complete", record=record), "device_time": now}, headers=eng)
        assert r.status_code == 409  # a second completion (new action id) is refused: nothing drawn
        assert await van(client, admin, "V1") == {p1: 1, p2: 0, p3: 4}
        async with unit_of_work(client.app.state.sessions) as s:  # the same cause redelivered: nothing moves
            assert await stock.draw_down_used(s, job_id=job.id, engineer_id="V1", parts={p1: 2}, now=clock.now()) \
                == {}
            moves = await stock.moves_of_job(s, job.id)
        assert await van(client, admin, "V1") == {p1: 1, p2: 0, p3: 4}
        assert sorted((m.kind, m.part_no, m.asked, m.moved, m.engineer_id) for m in moves) == sorted([
            ("used", p1, 2, 2, "V1"), ("used", p2, 2, 1, "V1")])


async def test_issue14_racing_restock_of_the_last_unit_only_one_van_gets_it(clean, dispatch_settings, admin):
    """Two engineers' restock stops at one centre committed at once for its last unit: one van gets it, the
    centre never goes below zero, the loser's ledger row says nothing moved."""
    skill, part = uniq("hvac"), uniq("CMP")
    async with running(create_app(dispatch_settings())) as client:
        await county_zone(client, admin)
        await put_engineer(client, admin, "W1", skill)
        await put_engineer(client, admin, "W2", skill)
        await put_centre(client, admin, "C-LAST", SITE, {part: 1})
        gate = asyncio.Event()

        async def take(eid):
            async with unit_of_work(client.app.state.sessions) as s:
                await gate.wait()
                return await stock.take_restock(s, ref=f"test:{eid}:{uniq('r')}", centre_id="C-LAST",
                                                engineer_id=eid, parts={part: 1}, now=clock.now())

        tasks = [asyncio.create_task(take(e)) for e in ("W1", "W2")]
        await asyncio.sleep(0)
        gate.set()
        got = await asyncio.gather(*tasks)
        assert sorted(len(g) for g in got) == [0, 1]
        assert (await client.get("/v1/service-centres/C-LAST/stock", headers=admin)).json()["parts"] == {part: 0}
        assert sorted([(await van(client, admin, "W1")).get(part, 0), (await van(client, admin, "W2")).get(part, 0)]) \
            == [0, 1]


async def test_issue14_two_routes_competing_for_one_centre_unit_only_one_gets_it_and_publish_moves_it(
        clean, dispatch_settings, admin, admin_db):
    """Two engineers far apart, each with a job needing a part neither van holds; the zone's one centre holds one
    unit: the plan gives it to one route (its restock stop takes exactly 1), the other job is unplanned
    ``parts_unavailable``; publishing moves the unit from the centre to that van (one ledger row of the plan)."""
    skill, part = uniq("hvac"), uniq("CMP")
    async with running(create_app(dispatch_settings(planner_executor="thread"))) as client:
        await county_zone(client, admin)
        north, south = (SITE[0] + 0.1, SITE[1]), (SITE[0] - 0.1, SITE[1])
        await put_engineer(client, admin, "N1", skill, loc=north)
        await put_engineer(client, admin, "S1", skill, loc=south)
        a, b = await open_jobs(client, skill, 2, spread=0.0)
        async with unit_of_work(client.app.state.sessions) as s:
            from dispatch.models import Job
            for j, loc in ((a, north), (b, south)):
                row = await s.get(Job, j.id)
                row.lat, row.lon, row.expected_parts = loc[0] + 0.01, loc[1], {part: 1}
        await put_centre(client, admin, "C-ONE", SITE, {part: 1})
        r = await client.post("/v1/plans", json={"zone": ZONE, "date": tomorrow().isoformat()}, headers=admin)
        plan_id = r.json()["id"]
        assert await run_now(client, plan_id) == "done"
        plan = (await client.get(f"/v1/plans/{plan_id}", headers=admin)).json()
        [route] = plan["routes"]
        assert [s["kind"] for s in route["stops"]] == ["restock", "job"]
        served = route["stops"][1]["job_id"]
        [other] = {a.id, b.id} - {served}
        assert [(u["job_id"], u["reason"]) for u in plan["unplanned"]] == [(other, "parts_unavailable")]
        r = await client.post(f"/v1/plans/{plan_id}/publish", headers=admin)
        assert r.status_code == 200 and r.json()["assigned"] == [served], r.text
        assert (await client.get("/v1/service-centres/C-ONE/stock", headers=admin)).json()["parts"] == {part: 0}
        assert (await van(client, admin, route["engineer_id"])) == {part: 1}
        moves = await admin_db.fetch("SELECT kind, centre_id, engineer_id, asked, moved FROM dispatch.stock_moves "
                                     "WHERE plan_id = $1", plan_id)
        assert [tuple(m) for m in moves] == [("restock", "C-ONE", route["engineer_id"], 1, 1)]


async def _queued_needing(client, admin, skill, region, loc, part):
    """A job opened while nobody serves its zone (queued), then named to need ``part``."""
    job = await open_at(client, skill, region, loc)
    r = await client.patch(f"/v1/jobs/{job.id}/planning", json={"expected_parts": {part: 1}}, headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "queued", r.text
    return job


async def _retry(client):
    async with unit_of_work(client.app.state.sessions) as s:
        return await jobs.retry_queue(s, client.app.state.dispatch_cfg, clock.now())


async def test_issue14_live_insertion_of_a_job_whose_part_the_van_lacks_goes_via_the_nearest_centre_holding_it(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """R-S4 county job needing a part the only engineer's van lacks: live insertion puts a restock stop at the
    nearest centre holding it (not the nearer one without it) before the job; the ETA includes the detour; the
    part moves from the centre to the van at once (a ``stock_moves`` row of the job); ``GET /v1/me/route`` shows
    the restock stop, then the job."""
    skill, region, part, other = uniq("hvac"), "310111", uniq("CMP"), uniq("FLT")
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        await zone(client, admin, region, "county")
        job_at = (SITE[0] + KM15, SITE[1])
        job = await _queued_needing(client, admin, skill, region, job_at, part)
        await engineer(client, admin, "L1", {skill: 3}, [region])
        for cid, loc, parts in (("C-WRONG", (SITE[0] + KM15 / 2, SITE[1]), {other: 5}),
                                ("C-FAR", (SITE[0] + KM15 / 2, SITE[1] + 0.05), {part: 2}),
                                ("C-NEAR", (SITE[0] + KM15 / 2, SITE[1] + 0.02), {part: 2})):
            await put_centre(client, admin, cid, loc, parts, region=region)
        assert await _retry(client) == 1
        got = await admin_db.fetchrow("SELECT status, engineer_id, planned_arrival, restock_centre_id, restock_parts,"
                                      " restock_arrival FROM dispatch.jobs WHERE id = $1", job.id)
        assert (got["status"], got["engineer_id"], got["restock_centre_id"]) == ("offered", "L1", "C-NEAR")
        # the ETA includes the detour: after the centre's counter, later than driving straight there would be
        cfg = client.app.state.dispatch_cfg
        travel = routing.HaversineTravel(speed_kmh=cfg.speed_kmh("county"), road_factor=cfg.road_factor)
        direct = timedelta(seconds=int(travel.legs(as_points([SITE]), as_points([job_at]))[1][0]))
        assert got["planned_arrival"] >= got["restock_arrival"] + timedelta(minutes=15)
        assert got["planned_arrival"] > clock.now() + direct + timedelta(minutes=15)  # + the counter
        assert (await client.get("/v1/service-centres/C-NEAR/stock", headers=admin)).json()["parts"] == {part: 1}
        assert await van(client, admin, "L1") == {part: 1}
        moves = await admin_db.fetch("SELECT kind, centre_id, engineer_id, moved FROM dispatch.stock_moves "
                                     "WHERE job_id = $1", job.id)
        assert [tuple(m) for m in moves] == [("restock", "C-NEAR", "L1", 1)]

        eng = auth_headers("engineer", sub="L1", engineer_id="L1")
        mine = (await client.get("/v1/me/route", params={"date": D.isoformat()}, headers=eng)).json()
        assert [(s["kind"], s["job_id"], s["centre_id"], s["plan_id"]) for s in mine["stops"]] == [
            ("restock", None, "C-NEAR", None), ("job", job.id, None, None)]
        stop_r, stop_j = mine["stops"]
        assert stop_r["planned_end"] <= stop_j["planned_arrival"]
        assert datetime.fromisoformat(stop_j["planned_arrival"]) == got["planned_arrival"]


async def test_issue14_live_insertion_prefers_the_van_that_has_the_part_when_otherwise_equal(
        clean, dispatch_settings, admin, admin_db):
    """Two engineers at one place, one van holds the part: the job goes to it, with no restock stop and no move."""
    skill, region, part = uniq("hvac"), "310111", uniq("CMP")
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        await zone(client, admin, region, "county")
        job = await _queued_needing(client, admin, skill, region, (SITE[0] + KM15, SITE[1]), part)
        await engineer(client, admin, "A1", {skill: 3}, [region])
        await engineer(client, admin, "B1", {skill: 3}, [region])
        assert (await client.put("/v1/engineers/B1/van-stock", json={"parts": {part: 1}},
                                 headers=admin)).status_code == 200
        await put_centre(client, admin, "C-MID", (SITE[0] + KM15 / 2, SITE[1] + 0.02), {part: 3}, region=region)
        assert await _retry(client) == 1
        got = await admin_db.fetchrow("SELECT engineer_id, restock_centre_id FROM dispatch.jobs WHERE id = $1", job.id)
        assert (got["engineer_id"], got["restock_centre_id"]) == ("B1", None)
        assert (await client.get("/v1/service-centres/C-MID/stock", headers=admin)).json()["parts"] == {part: 3}



async def test_issue14_publish_skips_a_job_whose_restock_the_centre_can_no_longer_give(
        clean, dispatch_settings, admin, admin_db):
    """The centre's last unit went elsewhere between planning and publishing: publishing moves nothing, and the job
    behind that restock stop is skipped ``parts_unavailable``, not assigned by the plan to a van without it."""
    skill, part = uniq("hvac"), uniq("CMP")
    async with running(create_app(dispatch_settings(planner_executor="thread"))) as client:
        await county_zone(client, admin)
        await put_engineer(client, admin, "P1", skill)
        [job] = await open_jobs(client, skill, 1, spread=0.0)
        r = await client.patch(f"/v1/jobs/{job.id}/planning", json={"expected_parts": {part: 1}}, headers=admin)
        assert r.status_code == 200, r.text
        await put_centre(client, admin, "C-GONE", (SITE[0] + 0.02, SITE[1]), {part: 1})
        r = await client.post("/v1/plans", json={"zone": ZONE, "date": tomorrow().isoformat()}, headers=admin)
        plan_id = r.json()["id"]
        assert await run_now(client, plan_id) == "done"
        [route] = (await client.get(f"/v1/plans/{plan_id}", headers=admin)).json()["routes"]
        assert [s["kind"] for s in route["stops"]] == ["restock", "job"]
        await put_centre(client, admin, "C-GONE", (SITE[0] + 0.02, SITE[1]), {})  # taken since planning
        r = await client.post(f"/v1/plans/{plan_id}/publish", headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["assigned"] == [] and r.json()["skipped"] == [{"job_id": job.id, "reason": "parts_unavailable"}]
        assert await van(client, admin, "P1") == {}
        moves = await admin_db.fetch("SELECT asked, moved FROM dispatch.stock_moves WHERE plan_id = $1", plan_id)
        assert [tuple(m) for m in moves] == [(1, 0)]


async def test_issue14_two_live_insertions_racing_for_a_centres_last_unit_only_one_route_gets_it(
        clean, dispatch_settings, admin, admin_db):
    """Two jobs needing a part no van holds, placed at once by two transactions onto two engineers' routes; the
    zone's one centre holds one unit: exactly one route gets a restock stop and the unit (one ``stock_moves`` row
    that moved it), the centre never below zero; the other decision, having lost the unit, is made again on the
    stock as it is now and places its job without a restock stop (nobody holds the part any more)."""
    skill, region, part = uniq("hvac"), "310111", uniq("CMP")
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        await zone(client, admin, region, "county")
        north, south = (SITE[0] + KM15, SITE[1]), (SITE[0] - KM15, SITE[1])
        a = await _queued_needing(client, admin, skill, region, (north[0] + 0.01, north[1]), part)
        b = await _queued_needing(client, admin, skill, region, (south[0] - 0.01, south[1]), part)
        await engineer(client, admin, "RN", {skill: 3}, [region], loc=north)
        await engineer(client, admin, "RS", {skill: 3}, [region], loc=south)
        await put_centre(client, admin, "C-MID", SITE, {part: 1}, region=region)
        gate = asyncio.Event()

        async def place(job_id):
            async with unit_of_work(client.app.state.sessions) as s:
                row = await queries.lock_job(s, job_id)
                await gate.wait()
                return await jobs.try_assign(s, client.app.state.dispatch_cfg, row, clock.now())

        tasks = [asyncio.create_task(place(j.id)) for j in (a, b)]
        await asyncio.sleep(0.2)
        gate.set()
        assert await asyncio.gather(*tasks) == [True, True]
        rows = await admin_db.fetch("SELECT id, engineer_id, restock_centre_id FROM dispatch.jobs WHERE id = ANY($1)",
                                    [a.id, b.id])
        assert sorted(x["restock_centre_id"] or "-" for x in rows) == ["-", "C-MID"]
        assert (await client.get("/v1/service-centres/C-MID/stock", headers=admin)).json()["parts"] == {part: 0}
        moved = await admin_db.fetch("SELECT job_id, moved FROM dispatch.stock_moves WHERE centre_id = 'C-MID'")
        [winner] = [x["id"] for x in rows if x["restock_centre_id"] == "C-MID"]
        assert [(x["job_id"], x["moved"]) for x in moved] == [(winner, 1)]
