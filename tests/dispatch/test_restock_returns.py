"""Restocked parts go back when the job leaves the route before the pickup (issue 14, stock moves), against the
real stack: a live insertion's restock stop moved a part from the centre to the van; the job then leaves the route
before the engineer set off to it (declined, offer expired, ticket cancelled, reassigned by a dispatcher): the part
goes back van -> centre once (a ``stock_moves`` row ``return``, its own ref), never below zero, and the job has no
restock stop any more. Once the engineer is en route, the part stays with the van. Two racing give-backs of one
take move it once.

The clock is moved to a coming workday morning (``POST /v1/admin/clock``): shifts 08:00-18:00 Asia/Shanghai hold
whatever hour the suite runs at."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.plans import stock

from .conftest import action, uniq
from .test_live_routes import KM15, SITE, at, engineer, in_zone_morning, move_clock, next_workday, open_at, zone
from .test_plan_restock import put_centre
from .test_plans import ZONE, county_zone, open_jobs, put_engineer, run_now, tomorrow
from .test_stock_moves import _queued_needing, _retry, van

pytestmark = pytest.mark.integration

CENTRE = "C-BACK"


async def centre_has(client, admin):
    r = await client.get(f"/v1/service-centres/{CENTRE}/stock", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["parts"]


async def restocked(client, admin, admin_db, region):
    """A county job needing a part engineer L1's van lacks, placed by live insertion behind a restock stop at the
    centre (2 there): 1 moved to the van at once. Returns (job, part)."""
    skill, part = uniq("hvac"), uniq("CMP")
    await zone(client, admin, region, "county")
    job = await _queued_needing(client, admin, skill, region, (SITE[0] + KM15, SITE[1]), part)
    await engineer(client, admin, "L1", {skill: 3}, [region])
    await put_centre(client, admin, CENTRE, (SITE[0] + KM15 / 2, SITE[1] + 0.02), {part: 2}, region=region)
    assert await _retry(client) == 1
    got = await admin_db.fetchrow("SELECT status, engineer_id, restock_centre_id FROM dispatch.jobs WHERE id = $1",
                                  job.id)
    assert tuple(got) == ("offered", "L1", CENTRE)
    assert await van(client, admin, "L1") == {part: 1} and await centre_has(client, admin) == {part: 1}
    return job, part


async def moves(admin_db, job_id):
    rows = await admin_db.fetch("SELECT kind, ref, centre_id, engineer_id, asked, moved FROM dispatch.stock_moves "
                                "WHERE job_id = $1 ORDER BY id", job_id)
    return [tuple(r) for r in rows]


async def restock_columns(admin_db, job_id):
    return tuple(await admin_db.fetchrow("SELECT restock_centre_id, restock_parts, restock_arrival "
                                         "FROM dispatch.jobs WHERE id = $1", job_id))


@pytest.mark.parametrize("how", ["decline", "expire", "cancel", "reassign"])
async def test_issue14_restocked_part_goes_back_to_the_centre_once_when_the_job_leaves_before_the_pickup(
        how, clean, dispatch_settings, admin, auth_headers, admin_db):
    """R-S4 county job placed behind a restock stop (centre 2 -> 1, van 0 -> 1); it leaves the engineer's route
    before he set off (``how``): the part goes back (van 0, centre 2) in a ``return`` move whose ref names the take,
    the job's restock stop is cleared. An expired offer offered again to the same engineer takes the part again:
    the van holds 1, never 2."""
    region = "310131"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        job, part = await restocked(client, admin, admin_db, region)
        cfg, sessions = client.app.state.dispatch_cfg, client.app.state.sessions
        (take,) = await moves(admin_db, job.id)
        eng = auth_headers("engineer", sub="L1", engineer_id="L1")
        if how == "decline":
            body = action("decline", reason="too far", device_time=clock.now().isoformat())
            assert (await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)).status_code == 200
        elif how == "expire":
            async with unit_of_work(sessions) as s:
                assert await jobs.expire_offers(s, cfg, clock.now() + cfg.offer_ttl + timedelta(seconds=1)) == 1
        elif how == "cancel":
            body = action("accept", device_time=clock.now().isoformat())  # accepted, not yet set off
            assert (await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)).status_code == 200
            async with unit_of_work(sessions) as s:
                await jobs.cancel_job(s, job.ticket_id, "customer fixed it", clock.now(), cfg=cfg)
        else:
            await engineer(client, admin, "L2", {uniq("other"): 1}, ["999999"])
            version = await admin_db.fetchval("SELECT version FROM dispatch.jobs WHERE id = $1", job.id)
            r = await client.post(f"/v1/jobs/{job.id}/assign", json={"engineer_id": "L2", "version": version},
                                  headers=admin)
            assert r.status_code == 200, r.text
        got = await moves(admin_db, job.id)
        assert got[:2] == [take, ("return", f"return:{take[1]}", CENTRE, "L1", 1, 1)], got
        if how == "expire":  # offered again to L1 (the only engineer), behind a new restock stop
            status, holder = await admin_db.fetchrow("SELECT status, engineer_id FROM dispatch.jobs WHERE id = $1",
                                                     job.id)
            if holder == "L1":
                assert [m[0] for m in got[2:]] == ["restock"] and status == "offered"
                assert await van(client, admin, "L1") == {part: 1}
                assert await centre_has(client, admin) == {part: 1}
                return
        assert len(got) == 2
        assert (await van(client, admin, "L1")).get(part, 0) == 0
        assert await centre_has(client, admin) == {part: 2}
        assert await restock_columns(admin_db, job.id) == (None, None, None)


async def test_issue14_once_the_engineer_set_off_the_restocked_part_stays_with_the_van(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """Accepted and departed (en route, the counter on the way), then the ticket is cancelled: the part is on its
    way in the van and stays there; no ``return`` move."""
    region = "310132"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        job, part = await restocked(client, admin, admin_db, region)
        eng = auth_headers("engineer", sub="L1", engineer_id="L1")
        for a in ("accept", "depart"):
            body = action(a, device_time=clock.now().isoformat())
            assert (await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)).status_code == 200
        async with unit_of_work(client.app.state.sessions) as s:
            await jobs.cancel_job(s, job.ticket_id, "customer fixed it", clock.now(), cfg=client.app.state.dispatch_cfg)
        assert [m[0] for m in await moves(admin_db, job.id)] == ["restock"]
        assert await van(client, admin, "L1") == {part: 1} and await centre_has(client, admin) == {part: 1}
        assert (await restock_columns(admin_db, job.id))[0] == CENTRE


async def test_issue14_a_give_back_never_takes_the_van_below_zero_and_moves_nothing_twice(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """A dispatcher emptied the van since the restock (``PUT /van-stock``): the decline gives back what the van
    holds, nothing (``moved`` 0, centre still 1, van 0); a second give-back of the same take moves nothing."""
    region = "310133"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        job, part = await restocked(client, admin, admin_db, region)
        r = await client.put("/v1/engineers/L1/van-stock", json={"parts": {}}, headers=admin)
        assert r.status_code == 200, r.text
        eng = auth_headers("engineer", sub="L1", engineer_id="L1")
        body = action("decline", reason="too far", device_time=clock.now().isoformat())
        assert (await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)).status_code == 200
        assert [(m[0], m[4], m[5]) for m in await moves(admin_db, job.id)] == [("restock", 1, 1), ("return", 1, 0)]
        assert await centre_has(client, admin) == {part: 1}
        assert (await van(client, admin, "L1")).get(part, 0) == 0
        async with unit_of_work(client.app.state.sessions) as s:
            assert await stock.give_back_restock(s, job_id=job.id, engineer_id="L1", now=clock.now()) == {}
        assert len(await moves(admin_db, job.id)) == 2


async def test_issue14_two_racing_give_backs_of_one_restock_move_the_part_once(
        clean, dispatch_settings, admin, admin_db):
    """Two transactions give back the same take at once (a redelivered cause racing the first): the centre's row
    is locked first, the ledger's ``(ref, part)`` key lets one through: the part goes back once (centre 2, van 0,
    one ``return`` row)."""
    region = "310134"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        job, part = await restocked(client, admin, admin_db, region)
        sessions = client.app.state.sessions

        async def give() -> dict[str, int]:
            async with unit_of_work(sessions) as s:
                return await stock.give_back_restock(s, job_id=job.id, engineer_id="L1", now=clock.now())

        got = await asyncio.gather(give(), give())
        assert sorted(got, key=len) == [{}, {part: 1}]
        assert [m[0] for m in await moves(admin_db, job.id)] == ["restock", "return"]
        assert await centre_has(client, admin) == {part: 2}
        assert (await van(client, admin, "L1")).get(part, 0) == 0


async def test_issue14_a_published_plans_restocked_part_goes_back_when_its_job_is_cancelled_before_the_pickup(
        clean, dispatch_settings, admin, admin_db):
    """Two R-S4 county jobs needing one part each, the van empty: the published plan's restock stop(s) moved 2 from
    the centre (5 -> 3) to the van. One job's ticket is cancelled before the engineer set off: the part it needed
    goes back (van 1, centre 4; a ``return`` move under the stop's take ref); the other job keeps its part; a
    second cancellation of the same ticket moves nothing."""
    skill, part = uniq("hvac"), uniq("CMP")
    async with running(create_app(dispatch_settings(planner_executor="thread"))) as client:
        await county_zone(client, admin)
        await put_engineer(client, admin, "P1", skill)
        made = await open_jobs(client, skill, 2, spread=0.01)
        for job in made:
            r = await client.patch(f"/v1/jobs/{job.id}/planning", json={"expected_parts": {part: 1}}, headers=admin)
            assert r.status_code == 200, r.text
        await put_centre(client, admin, "C-PLAN", (SITE[0] + 0.02, SITE[1]), {part: 5})
        r = await client.post("/v1/plans", json={"zone": ZONE, "date": tomorrow().isoformat()}, headers=admin)
        plan_id = r.json()["id"]
        assert await run_now(client, plan_id) == "done"
        r = await client.post(f"/v1/plans/{plan_id}/publish", headers=admin)
        assert r.status_code == 200 and sorted(r.json()["assigned"]) == sorted(j.id for j in made), r.text
        assert await van(client, admin, "P1") == {part: 2}
        cfg, sessions = client.app.state.dispatch_cfg, client.app.state.sessions
        gone = made[1]
        for _ in range(2):
            async with unit_of_work(sessions) as s:
                await jobs.cancel_job(s, gone.ticket_id, "customer fixed it", clock.now(), cfg=cfg)
        back = await moves(admin_db, gone.id)
        assert [(m[0], m[2], m[3], m[4], m[5]) for m in back] == [("return", "C-PLAN", "P1", 1, 1)], back
        assert back[0][1].startswith(f"return:plan:{plan_id}:P1:") and back[0][1].endswith(f":{gone.id}")
        assert await van(client, admin, "P1") == {part: 1}
        r = await client.get("/v1/service-centres/C-PLAN/stock", headers=admin)
        assert r.json()["parts"] == {part: 4}
        assert await moves(admin_db, made[0].id) == []


async def test_issue14_a_job_an_urgent_one_displaces_to_another_engineer_gives_its_restocked_part_back(
        clean, dispatch_settings, admin, admin_db):
    """R-S2 + issue 14 stock: a flexible job E1 holds behind a live restock stop (the centre's part moved to E1's
    van) is displaced by an urgent in-zone job only E1 may do; E2, whose own van holds the part, takes it. The part
    E1's van took goes back to the centre once, and the flexible job has no restock stop any more."""
    s1, s2, r1, r2 = uniq("wash"), uniq("gas"), "310132", "310133"
    part = uniq("CMP")
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        t0 = await in_zone_morning(client, admin, D, r1, r2)
        flexible = await open_at(client, s1, r2, (SITE[0] + KM15, SITE[1]), opened_at=t0 - timedelta(minutes=60))
        r = await client.patch(f"/v1/jobs/{flexible.id}/planning", json={"expected_parts": {part: 1}}, headers=admin)
        assert r.status_code == 200 and r.json()["status"] == "queued", r.text
        await put_centre(client, admin, CENTRE, (SITE[0], SITE[1] + 0.001), {part: 2}, region=r2)
        await engineer(client, admin, "E1", {s1: 3, s2: 3}, [r1, r2])
        assert await _retry(client) == 1
        got = await admin_db.fetchrow("SELECT engineer_id, restock_centre_id FROM dispatch.jobs WHERE id = $1",
                                      flexible.id)
        assert tuple(got) == ("E1", CENTRE)
        assert await van(client, admin, "E1") == {part: 1} and await centre_has(client, admin) == {part: 1}
        (take,) = await moves(admin_db, flexible.id)
        await engineer(client, admin, "E2", {s1: 3}, [r1, r2], loc=(SITE[0] + KM15, SITE[1]))  # may not do s2
        r = await client.put("/v1/engineers/E2/van-stock", json={"parts": {part: 1}}, headers=admin)
        assert r.status_code == 200, r.text
        urgent = await open_at(client, s2, r1, (SITE[0] - KM15, SITE[1]))
        u = await admin_db.fetchrow("SELECT engineer_id, planned_arrival, arrive_due FROM dispatch.jobs "
                                    "WHERE id = $1", urgent.id)
        assert u["engineer_id"] == "E1" and u["planned_arrival"] <= u["arrive_due"]
        assert await admin_db.fetchval("SELECT engineer_id FROM dispatch.jobs WHERE id = $1", flexible.id) == "E2"
        assert await moves(admin_db, flexible.id) == [take, ("return", f"return:{take[1]}", CENTRE, "E1", 1, 1)]
        assert (await van(client, admin, "E1")).get(part, 0) == 0 and await van(client, admin, "E2") == {part: 1}
        assert await centre_has(client, admin) == {part: 2}
        assert await restock_columns(admin_db, flexible.id) == (None, None, None)


async def test_issue14_an_urgent_job_whose_part_no_van_holds_displaces_behind_a_restock_stop(
        clean, dispatch_settings, admin, admin_db):
    """R-S2 + issue 14 stock: an urgent in-zone job only E1 may do needs a part no van holds; E1's day is held by a
    flexible job that makes it late. E1 takes it on time behind a stop at the centre holding the part (moved to his
    van at once, one ``restock`` move), and the flexible job goes to E2, who may do it."""
    s1, s2, r1, r2 = uniq("wash"), uniq("gas"), "310134", "310135"
    part = uniq("CMP")
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        t0 = await in_zone_morning(client, admin, D, r1, r2)
        urgent = await _queued_needing(client, admin, s2, r1, (SITE[0] - KM15, SITE[1]), part)  # nobody serves r1
        await put_centre(client, admin, CENTRE, (SITE[0] - KM15 / 2, SITE[1] + 0.005), {part: 2}, region=r1)
        flexible = await open_at(client, s1, r2, (SITE[0] + KM15, SITE[1]), opened_at=t0 - timedelta(minutes=60))
        await engineer(client, admin, "E1", {s1: 3, s2: 3}, [r2])
        assert await _retry(client) == 1  # the flexible job on E1; the urgent one still has nobody
        assert await admin_db.fetchval("SELECT engineer_id FROM dispatch.jobs WHERE id = $1", flexible.id) == "E1"
        await engineer(client, admin, "E1", {s1: 3, s2: 3}, [r1, r2])
        await engineer(client, admin, "E2", {s1: 3}, [r1, r2], loc=(SITE[0] + KM15, SITE[1]))  # may not do s2
        assert await _retry(client) == 1
        u = await admin_db.fetchrow("SELECT engineer_id, planned_arrival, arrive_due, restock_centre_id, "
                                    "restock_parts, restock_arrival FROM dispatch.jobs WHERE id = $1", urgent.id)
        assert (u["engineer_id"], u["restock_centre_id"], u["restock_parts"]) == ("E1", CENTRE, f'{{"{part}": 1}}')
        assert u["restock_arrival"] < u["planned_arrival"] <= u["arrive_due"]
        assert await admin_db.fetchval("SELECT engineer_id FROM dispatch.jobs WHERE id = $1", flexible.id) == "E2"
        [(kind, _, centre, eng, asked, moved)] = await moves(admin_db, urgent.id)
        assert (kind, centre, eng, asked, moved) == ("restock", CENTRE, "E1", 1, 1)
        assert await van(client, admin, "E1") == {part: 1} and await centre_has(client, admin) == {part: 1}
