"""Routes kept true when a job leaves them (issue 14): a decline, an offer expiring, a cancellation or a booking
that moves the job to another route re-lays the rest of its engineer's sequence, and the jobs whose planned
arrival moved get ``dispatch.job.eta_changed`` (``replan``); a re-plan after an absence never leaves a job with
the absent engineer: what the plan leaves unplanned goes back to the queue and into another route when one takes
it. Real Postgres and the service's own paths (HTTP for the engineer app and absences)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.models import Job
from dispatch.plans import service as plans
from dispatch.plans.inputs import window

from .conftest import action, uniq
from .test_live_routes import KM15, SITE, at, engineer, etas, move_clock, next_workday, open_at, row, zone

pytestmark = pytest.mark.integration


async def _route_of(admin_db, eid):
    return [r["id"] for r in await admin_db.fetch(
        "SELECT id FROM dispatch.jobs WHERE engineer_id = $1 AND status IN ('offered', 'accepted') "
        "ORDER BY planned_arrival", eid)]


async def test_R_S4_a_job_leaving_a_route_pulls_the_rest_earlier_with_replan_etas(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """R-S4 county jobs on one engineer's day: the first one declined, then a later one cancelled (the ticket);
    each time the jobs after it on the route get an earlier planned arrival, told by ``eta_changed`` with reason
    ``replan`` naming the arrival they had; jobs before it are not touched. (An expired offer leaves the route by
    the same move, ``_apply``; it is usually offered again to the same engineer, so it is not shown here.)"""
    skill, region = uniq("flow"), "310121"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        await zone(client, admin, region, "county")
        await engineer(client, admin, "E1", {skill: 3}, [region])
        made = [await open_at(client, skill, region, (SITE[0] + KM15 / 3 * (k + 1), SITE[1])) for k in range(4)]
        order = await _route_of(admin_db, "E1")
        assert sorted(order) == sorted(j.id for j in made)
        first, second, third, fourth = order
        before = {j: (await row(admin_db, j))["planned_arrival"] for j in order}
        # 1. the engineer declines the first job of the day: the other three move up
        eng = auth_headers("engineer", sub="E1", engineer_id="E1")
        body = action("decline", reason="too far", device_time=clock.now().isoformat())
        r = await client.post(f"/v1/jobs/{first}/actions", json=body, headers=eng)
        assert r.status_code == 200, r.text
        assert (await row(admin_db, first))["status"] == "queued"  # nobody else: it waits
        for j in (second, third, fourth):
            now_at = (await row(admin_db, j))["planned_arrival"]
            assert now_at < before[j] - timedelta(minutes=30), (j, now_at, before[j])
            last = (await etas(admin_db, j))[-1]
            assert last["reason"] == "replan" and last["engineer_id"] == "E1"
            assert datetime.fromisoformat(last["previous_arrival"]) == before[j]
            assert datetime.fromisoformat(last["planned_arrival"]) == now_at
        mid = {j: (await row(admin_db, j))["planned_arrival"] for j in (second, third, fourth)}
        told = {j: len(await etas(admin_db, j)) for j in (second, third, fourth)}
        # 2. the third job's ticket is cancelled: only the fourth (after it) moves, the second stays as it was
        third_ticket = next(j.ticket_id for j in made if j.id == third)
        async with unit_of_work(client.app.state.sessions) as s:
            await jobs.cancel_job(s, third_ticket, "customer fixed it", clock.now(), cfg=client.app.state.dispatch_cfg)
        assert (await row(admin_db, third))["status"] == "cancelled"
        assert (await row(admin_db, second))["planned_arrival"] == mid[second]
        assert len(await etas(admin_db, second)) == told[second]
        assert (await row(admin_db, fourth))["planned_arrival"] < mid[fourth]
        assert (await etas(admin_db, fourth))[-1]["reason"] == "replan"


async def test_absent_engineers_unplanned_jobs_go_back_to_the_queue_or_to_another_route(
        clean, dispatch_settings, admin, admin_db):
    """After E1 is marked absent, the zone-day's re-plan publishes: a job only E1 may do (the plan leaves it
    unplanned) goes back to the queue with no engineer and its offer withdrawn, since no route takes it; a job E2
    may do tomorrow (E2 works only that weekday, so today's plan leaves it unplanned) is re-inserted into E2's
    route of tomorrow. Neither stays with the absent engineer."""
    s1, s2, region = uniq("abs"), uniq("solo"), "310122"
    D = next_workday()
    tomorrow = D + timedelta(days=1)
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        await zone(client, admin, region, "county")
        await engineer(client, admin, "E1", {s1: 3, s2: 3}, [region])
        await engineer(client, admin, "E2", {s1: 3}, [region], loc=(SITE[0] + 0.02, SITE[1]),
                       shifts=[{"weekday": tomorrow.weekday(), "start_min": 480, "end_min": 1080}])
        movable = await open_at(client, s1, region, (SITE[0] + 0.01, SITE[1]))
        solo = await open_at(client, s2, region, (SITE[0] - 0.01, SITE[1]))
        for j in (movable, solo):
            got = await row(admin_db, j.id)
            assert (got["engineer_id"], got["status"]) == ("E1", "offered")
            assert got["planned_arrival"].date() == D
        for d in (D + timedelta(days=k) for k in range(5)):  # E1 away for the days the live path looks at
            r = await client.post("/v1/engineers/E1/absences", json={"date": d.isoformat(), "reason": "sick"},
                                  headers={**admin, "Idempotency-Key": uniq("absence")})
            assert r.status_code == 201, r.text
        cfg = client.app.state.dispatch_cfg
        async with unit_of_work(client.app.state.sessions) as s:
            plan, _ = await plans.request_plan(s, cfg, zone=region, day=D, requested_by="replan", now=clock.now(),
                                               today=clock.business_today())
        async with unit_of_work(client.app.state.sessions) as s:
            await plans.run_plan(s, cfg, plan_id=plan.id, now=clock.now())
        async with unit_of_work(client.app.state.sessions) as s:
            _, assigned, _, _ = await plans.publish(s, cfg, plan_id=plan.id, now=clock.now())
        assert assigned == []  # nobody works the zone today
        got = await row(admin_db, solo.id)
        assert (got["status"], got["engineer_id"]) == ("queued", None)
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.offers WHERE job_id = $1 AND status IN "
                                       "('pending', 'accepted')", solo.id) == 0
        got = await row(admin_db, movable.id)
        assert (got["status"], got["engineer_id"]) == ("offered", "E2")
        assert got["planned_arrival"].astimezone(at(D, 9).tzinfo).date() == tomorrow
        assert (await etas(admin_db, movable.id))[-1]["engineer_id"] == "E2"


def test_a_booked_slot_end_is_the_latest_start_a_plan_uses():
    """R-S4: a plan's window for a booked job ends at the slot's end, not at the SLA arrive deadline."""
    opened = datetime(2026, 3, 2, 8, 0, tzinfo=clock.BUSINESS_TZ)
    job = Job(opened_at=opened, arrive_due=opened + timedelta(hours=48))
    assert window(job, opened + timedelta(days=1)) == (opened, opened + timedelta(hours=48))
    job.earliest_start, job.booked_end = opened + timedelta(hours=4), opened + timedelta(hours=6)
    assert window(job, opened + timedelta(days=1)) == (opened + timedelta(hours=4), opened + timedelta(hours=6))
