"""The live path of issue 14 against the real stack: assignment is insertion into each engineer's day sequence
(R-S2..R-S4 windows kept), urgent jobs displace flexible ones, ETAs move with ``dispatch.job.eta_changed``,
customers book slots the plan can keep, tomorrow is planned each evening once, disruptions re-plan once.

Every test moves the clock (``POST /v1/admin/clock``) to a fixed time of a coming day, so the engineers'
shifts (08:00-18:00 Asia/Shanghai) are the same whenever the suite runs; the plugin puts it back afterwards."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from aftersales_shared import clock
from aftersales_shared.clock import BUSINESS_TZ
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running, wait_for
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.models import Job
from dispatch.plans import service as plans

from .conftest import action, engineer_body, ticket, uniq

pytestmark = pytest.mark.integration

SITE = (31.2304, 121.4737)
KM15 = 0.135  # degrees of latitude: 15 km, 39 min at 30 km/h x road factor 1.3


def next_workday():
    """A coming Monday-Friday (the slots are offered on business days), fixed before the clock moves."""
    d = clock.business_today() + timedelta(days=1)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def at(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm), BUSINESS_TZ)


async def move_clock(client, admin, to: datetime):
    r = await client.post("/v1/admin/clock", json={"to": to.isoformat()}, headers=admin)
    assert r.status_code == 200, r.text


async def zone(client, admin, region, zone_class):
    r = await client.put(f"/v1/zones/{region}", json={"name": region, "zone_class": zone_class,
                                                      "lat": SITE[0], "lon": SITE[1]}, headers=admin)
    assert r.status_code == 200, r.text


async def engineer(client, admin, eid, skills, zones, loc=SITE, **kw):
    body = {**engineer_body("x", loc=loc), "skills": skills, "zones": zones, **kw}
    r = await client.put(f"/v1/engineers/{eid}", json=body, headers=admin)
    assert r.status_code == 200, r.text


async def in_zone_morning(client, admin, day, *regions):
    """The clock at ``day`` 09:00 and ``regions`` in-zone (2 h to arrive): the set-up of the R-S2 tests."""
    t0 = at(day, 9)
    await move_clock(client, admin, t0)
    for region in regions:
        await zone(client, admin, region, "in_zone")
    return t0


async def open_at(client, skill, region, loc, *, opened_at=None):
    async with unit_of_work(client.app.state.sessions) as s:
        p = ticket(skill, region=region, loc=loc, opened_at=opened_at or clock.now() - timedelta(seconds=5))
        return await jobs.open_job(s, client.app.state.dispatch_cfg, p, clock.now())


async def etas(admin_db, job_id):
    rows = await admin_db.fetch("SELECT payload::text AS p FROM dispatch.outbox WHERE key = $1 AND "
                                "event_type = 'dispatch.job.eta_changed' ORDER BY id", job_id)
    return [json.loads(r["p"])["payload"] for r in rows]


async def row(admin_db, job_id):
    return await admin_db.fetchrow("SELECT status, engineer_id, planned_arrival, holds_capacity, earliest_start, "
                                   "booked_end, arrive_due FROM dispatch.jobs WHERE id = $1", job_id)


async def test_insertion_gives_the_eta_of_the_sequence_and_keeps_promised_windows(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """R-S4 county jobs: each new job is inserted where it adds least lateness then travel; a booked slot (a
    promised window) stays kept however many jobs arrive after it; the ETA is the stop's planned arrival."""
    skill, region = uniq("hvac"), "310111"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        await zone(client, admin, region, "county")
        await engineer(client, admin, "E1", {skill: 3}, [region])
        await engineer(client, admin, "E2", {skill: 3}, [region], loc=(SITE[0] + 2 * KM15, SITE[1]))
        promised = await open_at(client, skill, region, (SITE[0] + 0.01, SITE[1]))
        cc = auth_headers("call_center")
        slots = (await client.get(f"/v1/jobs/{promised.id}/slots", headers=cc)).json()["slots"]
        slot = slots[0]  # the first slot starting an hour (the lead) from now: 12:00-14:00
        assert datetime.fromisoformat(slot["start"]) == at(D, 12)
        r = await client.post(f"/v1/jobs/{promised.id}/appointment", json={"start": slot["start"],
                                                                           "end": slot["end"]}, headers=cc)
        assert r.status_code == 200, r.text
        end = datetime.fromisoformat(slot["end"])
        others = [await open_at(client, skill, region, (SITE[0] + 0.002 * i, SITE[1] + 0.002 * i)) for i in range(6)]
        p = await row(admin_db, promised.id)
        assert p["engineer_id"] in ("E1", "E2") and p["planned_arrival"] <= end  # the promise holds
        for j in others:
            got = await row(admin_db, j.id)
            assert got["status"] == "offered" and got["planned_arrival"] is not None, dict(got)
            assert not got["holds_capacity"]
            [first, *_] = await etas(admin_db, j.id)
            assert first["reason"] == "insertion" and first["previous_arrival"] is None
            assert datetime.fromisoformat(first["planned_arrival"]) >= at(D, 9)
        # one engineer's sequence: planned arrivals in order, the promised job inside its slot
        mine = await admin_db.fetch("SELECT id, planned_arrival FROM dispatch.jobs WHERE engineer_id = 'E1' "
                                    "ORDER BY planned_arrival")
        assert len({r["planned_arrival"] for r in mine}) == len(mine)  # never in two places at once
        # every ETA event names the arrival the job now has
        for j in [promised, *others]:
            last = (await etas(admin_db, j.id))[-1]
            assert datetime.fromisoformat(last["planned_arrival"]) == (await row(admin_db, j.id))["planned_arrival"]


async def test_urgent_job_displaces_a_flexible_one_and_both_get_eta_changed(
        clean, dispatch_settings, admin, admin_db):
    """R-S2: an in-zone job (2 h) that no route reaches in time takes the place of a job another engineer can
    still serve on time; the displaced job moves there; both get ``dispatch.job.eta_changed``."""
    s1, s2, r1, r2 = uniq("wash"), uniq("gas"), "310112", "310113"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        t0 = await in_zone_morning(client, admin, D, r1, r2)
        await engineer(client, admin, "E1", {s1: 3, s2: 3}, [r1, r2])
        flexible = await open_at(client, s1, r2, (SITE[0] + KM15, SITE[1]), opened_at=t0 - timedelta(minutes=60))
        assert (await row(admin_db, flexible.id))["engineer_id"] == "E1"
        await engineer(client, admin, "E2", {s1: 3}, [r1, r2], loc=(SITE[0] + KM15, SITE[1]))  # may not do s2
        urgent = await open_at(client, s2, r1, (SITE[0] - KM15, SITE[1]))
        u, f = await row(admin_db, urgent.id), await row(admin_db, flexible.id)
        assert (u["engineer_id"], u["status"]) == ("E1", "offered")
        assert u["planned_arrival"] <= u["arrive_due"]  # on time, which no insertion alone could do
        assert (f["engineer_id"], f["status"]) == ("E2", "accepted") and f["planned_arrival"] <= f["arrive_due"]
        assert [e["reason"] for e in await etas(admin_db, urgent.id)] == ["insertion"]
        moved = await etas(admin_db, flexible.id)
        assert [e["reason"] for e in moved] == ["insertion", "displaced"]
        assert moved[-1]["engineer_id"] == "E2" and moved[-1]["previous_arrival"] == moved[0]["planned_arrival"]


async def test_routed_jobs_do_not_count_against_max_jobs(clean, dispatch_settings, admin, admin_db):
    """The day's sequence is the capacity: an engineer with max_jobs 1 gets every job the route holds."""
    skill, region = uniq("cap"), "310114"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 8))
        await zone(client, admin, region, "county")
        await engineer(client, admin, "E1", {skill: 3}, [region], max_jobs=1)
        js = [await open_at(client, skill, region, (SITE[0] + 0.003 * i, SITE[1])) for i in range(4)]
        got = [await row(admin_db, j.id) for j in js]
        assert {(g["status"], g["engineer_id"], g["holds_capacity"]) for g in got} == {("offered", "E1", False)}
        assert await admin_db.fetchval("SELECT active_jobs FROM dispatch.engineers WHERE id = 'E1'") == 0


async def test_slots_book_reschedule_and_refuse_what_was_not_offered(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """Slots are checked by trial insertion; booking one sets the window, re-inserts, emits ``rescheduled``;
    a retried booking replays; a slot not offered (tampered) is a 409 naming ``start``; a started job is 409."""
    skill, region = uniq("slot"), "310115"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        await zone(client, admin, region, "county")
        await engineer(client, admin, "E1", {skill: 3}, [region])
        job = await open_at(client, skill, region, SITE)
        before = (await row(admin_db, job.id))["planned_arrival"]
        notifier = auth_headers("notifier", sub="notifications")
        r = await client.get(f"/v1/jobs/{job.id}/slots", headers=notifier)
        assert r.status_code == 200, r.text
        slots = r.json()["slots"]
        assert r.json()["job_id"] == job.id and slots and all(s["label"] for s in slots)
        assert all(datetime.fromisoformat(s["start"]) >= at(D, 10) for s in slots)  # the lead: an hour
        assert (await client.get(f"/v1/jobs/{job.id}/slots", headers=auth_headers("ops"))).status_code == 403
        pick = slots[2]
        body = {"start": pick["start"], "end": pick["end"]}
        key = {"Idempotency-Key": uniq("book-key")}
        r = await client.post(f"/v1/jobs/{job.id}/appointment", json=body, headers={**notifier, **key})
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["window_start"] == got["window_start"] and datetime.fromisoformat(got["window_start"]) == \
            datetime.fromisoformat(pick["start"])
        arrival = datetime.fromisoformat(got["planned_arrival"])
        assert arrival <= datetime.fromisoformat(pick["end"]) and arrival != before
        again = await client.post(f"/v1/jobs/{job.id}/appointment", json=body, headers={**notifier, **key})
        assert again.json() == got and again.headers["Idempotent-Replayed"] == "true"
        last = (await etas(admin_db, job.id))[-1]
        assert last["reason"] == "rescheduled" and datetime.fromisoformat(last["previous_arrival"]) == before
        assert datetime.fromisoformat(last["window_end"]) == datetime.fromisoformat(pick["end"])
        n = len(await etas(admin_db, job.id))
        tampered = {"start": (datetime.fromisoformat(pick["start"]) + timedelta(minutes=1)).isoformat(),
                    "end": pick["end"]}
        r = await client.post(f"/v1/jobs/{job.id}/appointment", json=tampered, headers=notifier)
        assert r.status_code == 409 and r.json()["field"] == "start", r.text
        assert len(await etas(admin_db, job.id)) == n  # nothing written
        eng = auth_headers("engineer", sub="E1", engineer_id="E1")
        for a in ("accept", "depart"):
            b = action(a, device_time=clock.now().isoformat())
            assert (await client.post(f"/v1/jobs/{job.id}/actions", json=b, headers=eng)).status_code == 200
        r = await client.post(f"/v1/jobs/{job.id}/appointment", json=body, headers=notifier)
        assert r.status_code == 409 and r.json()["field"] == "status"
        eng_read = await client.get("/v1/engineers/E1", headers=notifier)
        assert eng_read.status_code == 200 and eng_read.json()["name"] == "Wang"


async def test_nightly_planning_fires_once_with_the_moved_clock_even_with_two_runners(
        clean, dispatch_settings, admin, admin_db):
    """At the configured time (20:00 Asia/Shanghai) tomorrow is planned for every zone with open 24 h/48 h
    jobs, once: two background runners, several ticks, one plan per zone-day."""
    skill, regions = uniq("night"), ("310116", "310117")
    settings = [dispatch_settings(run_background=True, background_interval_seconds=0.2) for _ in range(2)]
    D = next_workday()
    async with running(create_app(settings[0])) as one, running(create_app(settings[1])):
        await move_clock(one, admin, at(D, 10))
        for region in regions:
            await zone(one, admin, region, "county")
            await open_at(one, skill, region, SITE)
        evening = at(D, 20) + timedelta(minutes=1)
        await move_clock(one, admin, evening)
        day = D + timedelta(days=1)

        async def requested():
            n = await admin_db.fetchval("SELECT count(*) FROM dispatch.plans WHERE requested_by = 'nightly'")
            return n if n >= len(regions) else None

        await wait_for(requested, timeout=60, what="the nightly plans")
        await asyncio.sleep(1.0)  # several more ticks of both runners
        rows = await admin_db.fetch("SELECT zone, day, version FROM dispatch.plans WHERE requested_by = 'nightly'")
        assert sorted((r["zone"], r["day"], r["version"]) for r in rows) == [(z, day, 1) for z in regions]
        # the day planned from D's evening (a runner ticking at the real clock before the move, after 20:00 in
        # Shanghai, may have recorded the real tomorrow: not this test's night)
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.nightly_runs WHERE day = $1", day) == 1
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.outbox WHERE "
                                       "event_type = 'dispatch.plan.requested'") == len(regions)


async def test_absence_and_overrun_make_one_replan_per_zone_day(clean, dispatch_settings, admin, auth_headers,
                                                                 admin_db):
    """An engineer marked absent and a job overrunning its planned end mark the zone-day; a burst of such
    disruptions requests one new plan version; the absent engineer gets no more insertions that day."""
    skill, region = uniq("abs"), "310118"
    D = next_workday()
    async with running(create_app(dispatch_settings(replan_debounce_seconds=30))) as client:
        t0 = at(D, 9)
        await move_clock(client, admin, t0)
        await zone(client, admin, region, "county")
        await engineer(client, admin, "E1", {skill: 3}, [region])
        await engineer(client, admin, "E2", {skill: 3}, [region], loc=(SITE[0] + 0.05, SITE[1]))
        held = await open_at(client, skill, region, SITE)
        assert (await row(admin_db, held.id))["engineer_id"] == "E1"
        body = {"date": D.isoformat(), "reason": "sick"}
        answers = await asyncio.gather(*(client.post("/v1/engineers/E1/absences", json=body, headers={
            **admin, "Idempotency-Key": uniq("absence")}) for _ in range(3)))
        assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
        assert answers[0].json()["replans"] == [region]
        assert (await client.post("/v1/engineers/E1/absences", json=body,
                                  headers=auth_headers("ops"))).status_code == 403
        later = await open_at(client, skill, region, SITE)
        assert (await row(admin_db, later.id))["engineer_id"] == "E2"  # E1 is off today
        sessions, cfg = client.app.state.sessions, client.app.state.dispatch_cfg
        async with unit_of_work(sessions) as s:
            assert await plans.request_due_replans(s, cfg, clock.now()) == 0  # debounced: not due yet
        async with unit_of_work(sessions) as s:
            assert await plans.request_due_replans(s, cfg, clock.now() + timedelta(seconds=31)) == 1
        async with unit_of_work(sessions) as s:
            assert await plans.request_due_replans(s, cfg, clock.now() + timedelta(seconds=62)) == 0
        rows = await admin_db.fetch("SELECT zone, day FROM dispatch.plans WHERE requested_by = 'replan'")
        assert [(r["zone"], r["day"]) for r in rows] == [(region, D)]
        # a job on site far past its planned end marks the zone-day again (once per job)
        eng = auth_headers("engineer", sub="E2", engineer_id="E2")
        for a in ("accept", "arrive"):
            b = action(a, device_time=clock.now().isoformat(), lat=SITE[0], lon=SITE[1])
            assert (await client.post(f"/v1/jobs/{later.id}/actions", json=b, headers=eng)).status_code == 200
        late = clock.now() + timedelta(hours=3)
        async with unit_of_work(sessions) as s:
            assert await jobs.flag_overruns(s, cfg, late) == 1
        async with unit_of_work(sessions) as s:
            assert await jobs.flag_overruns(s, cfg, late) == 0
        assert await admin_db.fetchval("SELECT reasons::text FROM dispatch.replan_marks") == '["overrun"]'


async def test_urgent_job_no_route_takes_on_time_marks_a_replan(clean, dispatch_settings, admin, admin_db):
    skill, region = uniq("urg"), "310119"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 9))
        await zone(client, admin, region, "in_zone")
        await engineer(client, admin, "E1", {skill: 3}, [region], loc=(SITE[0] + 8 * KM15, SITE[1]))
        job = await open_at(client, skill, region, SITE)
        async with unit_of_work(client.app.state.sessions) as s:
            assert (await s.scalar(select(Job.arrive_due).where(Job.id == job.id))) is not None
        assert await admin_db.fetchval("SELECT reasons::text FROM dispatch.replan_marks WHERE zone = $1",
                                       region) == '["urgent_unplaceable"]'


async def test_racing_insertions_into_one_route_never_share_a_slot_of_time(clean, dispatch_settings, admin,
                                                                           admin_db):
    """Concurrent decisions lock the engineers whose routes change and decide again on the fresh sequence: two
    jobs never get overlapping service times on one engineer's route (never in two places)."""
    skill, region = uniq("race"), "310120"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 8))
        await zone(client, admin, region, "county")
        await engineer(client, admin, "E1", {skill: 3}, [region])
        results = await asyncio.gather(*(open_at(client, skill, region, (SITE[0] + 0.001 * i, SITE[1]))
                                         for i in range(8)), return_exceptions=True)
        assert not [r for r in results if isinstance(r, Exception)], results
        rows = await admin_db.fetch("SELECT planned_arrival FROM dispatch.jobs WHERE engineer_id = 'E1' "
                                    "ORDER BY planned_arrival")
        arrivals = [r["planned_arrival"] for r in rows]
        assert len(arrivals) >= 2
        # 60-minute services: consecutive planned arrivals on one route are at least the service time apart
        assert all(b - a >= timedelta(minutes=60) for a, b in zip(arrivals, arrivals[1:], strict=False))


async def test_a_decision_that_waited_for_a_route_lock_decides_again_on_what_the_other_committed(
        clean, dispatch_settings, admin, admin_db):
    """Never in two places, the deterministic interleaving: decision A holds engineer E1's route (uncommitted)
    while decision B, having read E1's route before A's job was on it, waits for E1's lock in its check; when A
    commits, B's check sees that E1's route changed (``route_version``) and B decides again, after A's job."""
    from dispatch.jobs import queries

    skill, region = uniq("wait"), "310121"
    D = next_workday()
    async with running(create_app(dispatch_settings())) as client:
        await move_clock(client, admin, at(D, 8))
        await zone(client, admin, region, "county")
        a_job = await open_at(client, skill, region, SITE)  # nobody serves the zone yet: both queued
        b_job = await open_at(client, skill, region, SITE)
        await engineer(client, admin, "E1", {skill: 3}, [region])
        cfg, sessions = client.app.state.dispatch_cfg, client.app.state.sessions

        async with sessions() as a, sessions() as b:
            await a.begin()
            await b.begin()
            job_a = await queries.lock_job(a, a_job.id)
            assert await jobs.place(a, cfg, job_a, clock.now()) is not None  # E1's route holds A's job: not committed
            job_b = await queries.lock_job(b, b_job.id)
            decided = asyncio.create_task(jobs.place(b, cfg, job_b, clock.now()))

            async def b_waits_for_the_lock():
                return await admin_db.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()") or None

            await wait_for(b_waits_for_the_lock, timeout=30, what="decision B waiting for E1's lock")
            await a.commit()
            assert await decided is not None
            await b.commit()
        got = {r["id"]: r["planned_arrival"] for r in await admin_db.fetch(
            "SELECT id, planned_arrival FROM dispatch.jobs WHERE engineer_id = 'E1'")}
        assert set(got) == {a_job.id, b_job.id}
        assert abs(got[b_job.id] - got[a_job.id]) >= timedelta(minutes=60)  # one after the other, never together
