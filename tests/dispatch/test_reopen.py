"""A reopened ticket is dispatched again: one new job per visit, its SLA clock starting at the reopen."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.exc import IntegrityError

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.events.ticketing import TicketCancelled, TicketOpened, TicketReopened, TicketReopenedPayload
from aftersales_shared.testing.plugin import running, wait_for
from dispatch.jobs import service as jobs
from dispatch.main import create_app

from .conftest import RECORD, action, engineer_body, own_consumers, ticket, uniq

pytestmark = pytest.mark.integration

RESPOND, ARRIVE = timedelta(minutes=60), timedelta(minutes=1440)  # default urban policy, 24x7 (310101: R-S3)


def reopened(t, *, visit: int, at: datetime) -> TicketReopenedPayload:
    return TicketReopenedPayload(**t.model_dump(), visit=visit, reason="the fault is back", reopened_at=at)


def ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def test_reopened_ticket_gets_one_new_job_with_the_clock_from_the_reopen_and_cancel_hits_it(
        clean, dispatch_settings, infra_settings, admin, auth_headers, admin_db):
    skill, eid = uniq("reo"), uniq("ER")
    eng = auth_headers("engineer", sub=eid, engineer_id=eid)
    producer = AIOKafkaProducer(bootstrap_servers=infra_settings("dispatch")["kafka"].bootstrap_servers)
    await producer.start()

    async def send(e):
        await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())

    try:
        async with running(create_app(await own_consumers(dispatch_settings(run_consumers=True)))) as client:
            await client.put(f"/v1/engineers/{eid}", json=engineer_body(skill, max_jobs=1), headers=admin)
            t = ticket(skill, opened_at=datetime.now(UTC) - timedelta(hours=1))

            async def jobs():
                return (await client.get("/v1/jobs", params={"ticket_id": t.ticket_id}, headers=admin)).json()

            async def jobs_when(ok):
                got = {}

                async def check():
                    got["jobs"] = await jobs()
                    return ok(got["jobs"])

                await wait_for(check, every=0.3, what="the ticket's jobs")
                return got["jobs"]

            await send(TicketOpened(aggregate_id=t.ticket_id, payload=t))
            [first] = await jobs_when(lambda js: len(js) == 1 and js[0]["status"] == "offered")
            assert first["visit"] == 1 and ts(first["opened_at"]) == t.opened_at
            for body in (action("accept"), action("arrive", lat=31.23, lon=121.47),
                         action("complete", record=RECORD)):
                r = await client.post(f"/v1/jobs/{first['id']}/actions", json=body, headers=eng)
                assert r.status_code == 200, r.text

            at = datetime.now(UTC) - timedelta(minutes=2)
            event = TicketReopened(aggregate_id=t.ticket_id, payload=reopened(t, visit=2, at=at))
            again = TicketReopened(aggregate_id=t.ticket_id, payload=reopened(t, visit=2, at=at))  # new event id
            for e in (event, event, again):  # a redelivery and a re-publication of the same reopen
                await send(e)
            js = await jobs_when(lambda js: len(js) == 2 and js[0]["status"] == "offered")

            async def handled():
                return await admin_db.fetchval("SELECT count(*) FROM dispatch.inbox WHERE event_id = ANY($1::uuid[])",
                                               [event.event_id, again.event_id]) == 2

            await wait_for(handled, what="both reopen events handled")
            assert await admin_db.fetchval("SELECT count(*) FROM dispatch.jobs WHERE ticket_id = $1", t.ticket_id) == 2
            second, old = js  # newest first
            assert (second["visit"], old["visit"], old["id"], old["status"]) == (2, 1, first["id"], "completed")
            assert second["engineer_id"] == eid  # the first job gave its capacity back
            assert ts(second["opened_at"]) == at
            assert ts(second["deadlines"]["respond"]) == at + RESPOND
            assert ts(second["deadlines"]["arrive"]) == at + ARRIVE
            created = json.loads(await admin_db.fetchval(
                "SELECT payload FROM dispatch.outbox WHERE key = $1 AND event_type = 'dispatch.job.created'",
                second["id"]))["payload"]
            assert created["visit"] == 2 and created["ticket_id"] == t.ticket_id
            assert ts(created["deadlines"]["arrive"]) == at + ARRIVE

            cancel = TicketCancelled(aggregate_id=t.ticket_id, payload={
                "ticket_id": t.ticket_id, "reason": "customer replaced it", "cancelled_at": datetime.now(UTC)})
            await send(cancel)
            js = await jobs_when(lambda js: js[0]["status"] == "cancelled")
            assert [(j["visit"], j["status"]) for j in js] == [(2, "cancelled"), (1, "completed")]
            assert await admin_db.fetchval("SELECT active_jobs FROM dispatch.engineers WHERE id = $1", eid) == 0
            cancelled = json.loads(await admin_db.fetchval(
                "SELECT payload FROM dispatch.outbox WHERE key = $1 AND event_type = 'dispatch.job.cancelled'",
                second["id"]))["payload"]
            assert cancelled["visit"] == 2
    finally:
        await producer.stop()


async def test_racing_reopen_deliveries_make_one_job_and_supersede_a_job_left_open(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    skill, eid = uniq("reo"), uniq("ER")
    eng = auth_headers("engineer", sub=eid, engineer_id=eid)
    async with running(create_app(dispatch_settings())) as client:
        await client.put(f"/v1/engineers/{eid}", json=engineer_body(skill, max_jobs=1), headers=admin)
        app, t = client.app, ticket(skill)
        async with unit_of_work(app.state.sessions) as s:
            first = (await jobs.open_job(s, app.state.dispatch_cfg, t, clock.now())).id
        at = datetime.now(UTC) - timedelta(minutes=1)

        async def reopen():
            async with unit_of_work(app.state.sessions) as s:
                return (await jobs.reopen_job(s, app.state.dispatch_cfg, reopened(t, visit=2, at=at), clock.now())).id

        results = await asyncio.gather(*(reopen() for _ in range(6)), return_exceptions=True)
        # a loser of the insert race fails on the unique (ticket_id, visit) key; its consumer retries
        assert all(isinstance(r, (str, IntegrityError)) for r in results), results
        ids = {r for r in results if isinstance(r, str)}
        assert len(ids) == 1 and first not in ids
        [second] = ids
        assert await reopen() == second  # a later redelivery finds the job
        rows = await admin_db.fetch("SELECT id, visit, status, opened_at FROM dispatch.jobs WHERE ticket_id = $1 "
                                    "ORDER BY visit", t.ticket_id)
        assert [(r["id"], r["visit"]) for r in rows] == [(first, 1), (second, 2)]
        assert rows[0]["status"] == "cancelled" and rows[1]["status"] == "offered" and rows[1]["opened_at"] == at
        withdrawn = await admin_db.fetchval("SELECT reason FROM dispatch.offers WHERE job_id = $1", first)
        assert withdrawn == "ticket reopened"

        # parts delivered for the ticket resume its current job (the latest visit)
        for body in (action("accept"), action("arrive", lat=31.23, lon=121.47),
                     action("pause", reason="waiting_parts")):
            r = await client.post(f"/v1/jobs/{second}/actions", json=body, headers=eng)
            assert r.status_code == 200, r.text
        async with unit_of_work(app.state.sessions) as s:
            await jobs.parts_delivered(s, None, t.ticket_id, clock.now())
        assert (await client.get(f"/v1/jobs/{second}", headers=admin)).json()["status"] == "on_site"
