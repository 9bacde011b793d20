"""Consumers fed real upstream events over Kafka, and racing assignments/accepts against the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.events.parts import RequestDelivered
from aftersales_shared.events.ticketing import TicketCancelled, TicketOpened
from aftersales_shared.testing.plugin import running, wait_for
from dispatch.jobs import service as jobs
from dispatch.main import create_app

from .conftest import action, engineer_body, own_consumers, ticket, uniq, unlocated

pytestmark = pytest.mark.integration


async def test_ticket_events_create_assign_cancel_and_parts_resume(clean, dispatch_settings, infra_settings,
                                                                   admin, auth_headers, admin_db):
    skill, eid = uniq("ac"), uniq("E1")  # the engineer travels on Kafka in the job events: this test's own
    producer = AIOKafkaProducer(bootstrap_servers=infra_settings("dispatch")["kafka"].bootstrap_servers)
    await producer.start()
    try:
        async with running(create_app(await own_consumers(dispatch_settings(run_consumers=True)))) as client:
            await client.put(f"/v1/engineers/{eid}", json=engineer_body(skill, max_jobs=3), headers=admin)
            t1, t2 = ticket(skill), ticket(skill)
            for t in (t1, t2):
                e = TicketOpened(aggregate_id=t.ticket_id, payload=t)
                await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=t.ticket_id.encode())

            async def jobs():
                r = await client.get("/v1/jobs", params={"engineer_id": eid}, headers=admin)
                js = {j["ticket_id"]: j for j in r.json()}
                return js if {t1.ticket_id, t2.ticket_id} <= js.keys() else None

            js = await wait_for(jobs, what="a job per opened ticket")
            assert js[t1.ticket_id]["status"] == "offered"
            eng = auth_headers("engineer", sub=eid, engineer_id=eid)
            j2 = js[t2.ticket_id]["id"]
            for body in (action("accept"), action("arrive", lat=31.2, lon=121.4),
                         action("pause", reason="waiting_parts")):
                assert (await client.post(f"/v1/jobs/{j2}/actions", json=body, headers=eng)).status_code == 200

            cancel = TicketCancelled(aggregate_id=t1.ticket_id, payload={
                "ticket_id": t1.ticket_id, "reason": "customer fixed it", "cancelled_at": datetime.now(UTC)})
            await producer.send_and_wait(cancel.TOPIC, cancel.to_json().encode(), key=t1.ticket_id.encode())
            request_id = uniq("R")
            delivered = RequestDelivered(aggregate_id=request_id, payload={
                "request_id": request_id, "job_id": j2, "ticket_id": t2.ticket_id, "at": datetime.now(UTC),
                "status": "delivered", "shipment_id": uniq("S")})
            await producer.send_and_wait(delivered.TOPIC, delivered.to_json().encode(), key=request_id.encode())

            async def settled():
                a = (await client.get(f"/v1/jobs/{js[t1.ticket_id]['id']}", headers=admin)).json()
                b = (await client.get(f"/v1/jobs/{j2}", headers=admin)).json()
                return (a, b) if a["status"] == "cancelled" and b["status"] == "on_site" else None

            a, b = await wait_for(settled, what="cancelled and resumed")
            assert b["pauses"][0]["end"] is not None
            # routed jobs take no unit of max_jobs (the day's sequence is the capacity, issue 14)
            assert await admin_db.fetchval("SELECT active_jobs FROM dispatch.engineers WHERE id=$1", eid) == 0
            # a duplicate delivery of the opened event creates nothing new (inbox + ticket id unique)
            e = TicketOpened(aggregate_id=t2.ticket_id, payload=t2)
            await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=t2.ticket_id.encode())

            async def handled():
                return await admin_db.fetchval("SELECT count(*) FROM dispatch.inbox WHERE event_id = $1", e.event_id)

            await wait_for(handled, what="the duplicate opened event handled")
            assert await admin_db.fetchval("SELECT count(*) FROM dispatch.jobs WHERE ticket_id=$1", t2.ticket_id) == 1
        types = [r["event_type"] for r in await admin_db.fetch(
            "SELECT event_type FROM dispatch.outbox WHERE key=$1", js[t1.ticket_id]["id"])]
        assert "dispatch.job.cancelled" in types
    finally:
        await producer.stop()


async def test_racing_assignments_and_accepts_never_double_book(clean, dispatch_settings, admin, auth_headers,
                                                                admin_db):
    skill = uniq("race")
    n_eng, cap, n_jobs = 5, 2, 30
    async with running(create_app(dispatch_settings())) as client:
        for i in range(n_eng):
            await client.put(f"/v1/engineers/R{i}", json=engineer_body(skill, max_jobs=cap,
                                                                    loc=(31.23 + i * 0.001, 121.47)), headers=admin)
        app = client.app

        async def open_one():
            async with unit_of_work(app.state.sessions) as s:
                # without coordinates: the fallback path, whose capacity is max_jobs (routed jobs: test_live_routes)
                await jobs.open_job(s, app.state.dispatch_cfg, unlocated(ticket(skill)), clock.now())

        results = await asyncio.gather(*(open_one() for _ in range(n_jobs)), return_exceptions=True)
        assert not [r for r in results if isinstance(r, Exception)]
        offered = await admin_db.fetch("SELECT id, engineer_id, version FROM dispatch.jobs WHERE status='offered'")
        assert len(offered) == n_eng * cap  # everyone full, the rest queued

        # every engineer tries to accept every job (own and others') concurrently, and dispatchers reassign
        calls = []
        for job in offered:
            for i in range(n_eng):
                calls.append(client.post(f"/v1/jobs/{job['id']}/actions", json=action("accept"),
                                         headers=auth_headers("engineer", sub=f"R{i}", engineer_id=f"R{i}")))
            calls.append(client.post(f"/v1/jobs/{job['id']}/assign",
                                     json={"engineer_id": "R0", "version": job["version"]},
                                     headers=auth_headers("dispatcher")))
        responses = await asyncio.gather(*calls)
        assert all(r.status_code in (200, 404, 409) for r in responses), {r.status_code for r in responses}

    over = await admin_db.fetchval("SELECT count(*) FROM dispatch.engineers WHERE active_jobs > max_jobs")
    assert over == 0
    held = await admin_db.fetch(
        "SELECT engineer_id, count(*) AS n FROM dispatch.jobs WHERE holds_capacity GROUP BY engineer_id")
    caps = dict(await admin_db.fetch("SELECT id, active_jobs FROM dispatch.engineers"))
    assert {r["engineer_id"]: r["n"] for r in held} == {k: v for k, v in caps.items() if v}
    assert all(n <= cap for n in caps.values())
    # never two engineers on one job: one open offer per job and one accepted offer per job
    dup = await admin_db.fetchval(
        "SELECT count(*) FROM (SELECT job_id FROM dispatch.offers WHERE status IN ('pending','accepted') "
        "GROUP BY job_id HAVING count(*) > 1) x")
    assert dup == 0
