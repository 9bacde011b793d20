"""Dispatch job events, published to the real Kafka topic, drive ticket status, repair history and callbacks."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer

from aftersales_shared.clock import business_date
from aftersales_shared.events.dispatch import JobArrived, JobAssigned, JobCancelled, JobCompleted, JobCreated
from aftersales_shared.kafka import ensure_topics
from aftersales_shared.testing.isolation import own_kafka, start_at_end
from aftersales_shared.testing.plugin import reset_schema, running
from ticketing.consumers import consumer_specs
from ticketing.main import create_app

from .conftest import seed_line, seed_unit, settings, ticket_body

pytestmark = pytest.mark.integration


WAIT = 180.0  # a deadline, not a duration: consumers on a busy 2-core machine may take a while to catch up


async def _until(check, timeout=WAIT):
    """Poll ``check`` until it returns something truthy (returned); falsy after a generous deadline."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.2)


def _own(prefix: str) -> str:
    """An id of this test run alone: the topics keep earlier runs' events."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def test_job_events_from_kafka_close_ticket_record_repair_and_create_callback(
    infra_settings, admin_db, auth_headers
):
    admin, agent = auth_headers("admin"), auth_headers("call_center", sub="agent-1")
    s = settings(infra_settings, run_relay=True, run_consumers=True,
                 kafka=infra_settings("ticketing", **own_kafka("t"))["kafka"])
    await start_at_end((s, consumer_specs(s)))  # the consumer hears this test's events, not the topic's history
    app = create_app(s)
    # other services' consumers read these job events too: every id is this run's own
    job_id, engineer, serial, dealer = _own("J"), _own("E"), _own("SN"), _own("D")
    async with running(app) as client:
        await reset_schema(admin_db, "ticketing")
        await seed_line(client, admin)
        await seed_unit(client, agent, serial=serial, dealer=dealer)
        t = (await client.post("/v1/tickets", json=ticket_body(serial=serial), headers=agent)).json()
        consumer = app.state.consumers[0]
        await asyncio.wait_for(consumer.ready.wait(), timeout=WAIT)
        now = datetime.now(UTC)
        base = {"job_id": job_id, "ticket_id": t["id"], "engineer_id": engineer, "dealer_id": dealer}
        completed = JobCompleted(aggregate_id=job_id, payload={
            **base, "at": now + timedelta(minutes=90), "serial": serial, "product_line": "AC",
            "coverage": "warranty", "home_visit": True, "work_done": "replaced fan",
            "parts_used": [{"part_no": "FAN-1"}]})
        events = [JobAssigned(aggregate_id=job_id, payload={**base, "at": now}),
                  JobArrived(aggregate_id=job_id, payload={**base, "at": now + timedelta(minutes=30)}),
                  completed, completed]  # the last one is a duplicate delivery
        await ensure_topics(s.kafka.bootstrap_servers, ["dispatch.job.v1"])
        producer = AIOKafkaProducer(bootstrap_servers=s.kafka.bootstrap_servers)
        await producer.start()
        try:
            for e in events:
                await producer.send_and_wait("dispatch.job.v1", e.to_json().encode(), key=job_id.encode())
        finally:
            await producer.stop()

        async def closed():
            r = (await client.get(f"/v1/tickets/{t['id']}", headers=agent)).json()
            return r if r["status"] == "closed" else None

        ticket = await _until(closed)
        assert ticket, "ticket was not closed by JobCompleted"
        assert [h["to_status"] for h in ticket["history"]] == ["open", "assigned", "on_site", "closed"]
        assert ticket["history"][1]["actor"] == f"dispatch:{engineer}" and ticket["job_id"] == job_id
        assert await admin_db.fetchval("SELECT count(*) FROM ticketing.unit_repairs WHERE serial = $1", serial) == 1
        callbacks = (await client.get("/v1/callbacks", headers=agent)).json()
        assert [c["ticket_id"] for c in callbacks if c["ticket_id"] == t["id"]] == [t["id"]]
        # the position on the day of the repair: completed 90 min from now may already be tomorrow in Shanghai
        on = business_date(now + timedelta(minutes=90)).isoformat()
        w = (await client.get(f"/v1/units/{serial}/warranty", params={"on": on}, headers=agent)).json()
        assert w["repair_counts"] == {"unit": 1}, w
        types = [r["event_type"] for r in await admin_db.fetch(
            "SELECT event_type FROM ticketing.outbox WHERE key = $1 ORDER BY id", t["id"])]
        assert types.count("ticketing.ticket.closed") == 1 and types.count("ticketing.ticket.status_changed") == 3

        async def published():
            return await admin_db.fetchval(
                "SELECT count(*) = 0 FROM ticketing.outbox WHERE published_at IS NULL AND key = $1", t["id"])

        assert await _until(published), "the relay did not publish the outbox to Kafka"


async def test_reopened_ticket_follows_its_new_job_and_ignores_the_finished_one(infra_settings, admin_db, auth_headers):
    admin, agent = auth_headers("admin"), auth_headers("call_center", sub="agent-1")
    s = settings(infra_settings, run_relay=False, run_consumers=True,
                 kafka=infra_settings("ticketing", **own_kafka("t"))["kafka"])
    await start_at_end((s, consumer_specs(s)))  # the consumer hears this test's events, not the topic's history
    app = create_app(s)
    j1, j2 = _own("J-reopen"), _own("J-reopen")
    engineer, dealer = _own("E"), _own("D")
    serial = _own("SN-RE")  # the topic's history holds earlier runs' repairs of other serials
    async with running(app) as client:
        await reset_schema(admin_db, "ticketing")
        await seed_line(client, admin)
        await seed_unit(client, agent, serial=serial, dealer=dealer)
        t = (await client.post("/v1/tickets", json=ticket_body(serial=serial), headers=agent)).json()
        await asyncio.wait_for(app.state.consumers[0].ready.wait(), timeout=WAIT)
        await ensure_topics(s.kafka.bootstrap_servers, ["dispatch.job.v1"])
        producer = AIOKafkaProducer(bootstrap_servers=s.kafka.bootstrap_servers)
        await producer.start()

        async def send(*events):
            for e in events:
                await producer.send_and_wait("dispatch.job.v1", e.to_json().encode(), key=e.aggregate_id.encode())

        async def ticket_when(ok):
            async def check():
                r = (await client.get(f"/v1/tickets/{t['id']}", headers=agent)).json()
                return r if ok(r) else None
            return await _until(check)

        def job(cls, job_id, visit, at, **extra):
            return cls(aggregate_id=job_id, payload={"job_id": job_id, "ticket_id": t["id"], "engineer_id": engineer,
                                                     "dealer_id": dealer, "at": at, "visit": visit, **extra})

        def completed(job_id, visit, at):
            return job(JobCompleted, job_id, visit, at, serial=serial, product_line="AC", coverage="warranty",
                       home_visit=True, work_done="replaced fan", parts_used=[{"part_no": "FAN-1"}])

        now = datetime.now(UTC)
        try:
            # visit 1 (job events of a producer that predates visits say nothing: visit 1)
            first = [JobCreated(aggregate_id=j1, payload={"job_id": j1, "ticket_id": t["id"], "at": now,
                                                          "zone_class": "urban"}),
                     job(JobAssigned, j1, 1, now), job(JobArrived, j1, 1, now + timedelta(minutes=30)),
                     completed(j1, 1, now + timedelta(minutes=60))]
            await send(*first)
            assert await ticket_when(lambda r: r["status"] == "closed"), "visit 1 did not close the ticket"
            r = await client.post(f"/v1/tickets/{t['id']}/reopen", json={"reason": "fan noise is back"},
                                  headers=agent)
            assert r.status_code == 200 and r.json()["job_id"] is None, r.text

            later = now + timedelta(hours=2)
            await send(JobCreated(aggregate_id=j2, payload={"job_id": j2, "ticket_id": t["id"], "at": later,
                                                            "zone_class": "urban", "visit": 2}),
                       job(JobAssigned, j2, 2, later))
            assert await ticket_when(lambda r: r["status"] == "assigned" and r["job_id"] == j2)
            # late events of the finished first job must not drag the reopened ticket back
            late = [job(JobCancelled, j1, 1, later, reason="late"), job(JobArrived, j1, 1, later),
                    completed(j1, 1, later)]
            await send(*late)

            async def late_handled():
                return await admin_db.fetchval("SELECT count(*) FROM ticketing.inbox WHERE event_id = ANY($1::uuid[])",
                                               [e.event_id for e in late]) == len(late)

            assert await _until(late_handled), "the late events were not consumed"
            ticket = await ticket_when(lambda r: True)
            assert ticket["status"] == "assigned" and ticket["job_id"] == j2

            await send(job(JobArrived, j2, 2, later + timedelta(minutes=20)),
                       completed(j2, 2, later + timedelta(minutes=50)))
            ticket = await ticket_when(lambda r: r["status"] == "closed")
            assert ticket, "the reopened ticket was not closed by its new job"
        finally:
            await producer.stop()
        assert [h["to_status"] for h in ticket["history"]] == [
            "open", "assigned", "on_site", "closed", "open", "assigned", "on_site", "closed"]
        assert ticket["job_id"] == j2 and ticket["closed_at"] is not None
        repairs = await admin_db.fetch("SELECT job_id FROM ticketing.unit_repairs WHERE serial = $1", serial)
        assert {r["job_id"] for r in repairs} == {j1, j2}
        types = [r["event_type"] for r in await admin_db.fetch(
            "SELECT event_type FROM ticketing.outbox WHERE key = $1 ORDER BY id", t["id"])]
        assert types.count("ticketing.ticket.closed") == 2 and types.count("ticketing.ticket.reopened") == 1
        # R-T5: a callback after each repair, the reopened visit's included
        callbacks = await admin_db.fetch("SELECT job_id FROM ticketing.callbacks WHERE ticket_id = $1", t["id"])
        assert sorted(c["job_id"] for c in callbacks) == sorted([j1, j2])


async def test_R_W8_a_part_replaced_7_months_ago_fails_again_and_is_covered_by_the_parts_warranty(
    infra_settings, admin_db, auth_headers
):
    """Issue 15 item 4: the repair arrives as ``dispatch.job.completed`` (part numbers in parts_used, the
    diagnosed components); 7 months later the unit's 12 months are over, the 6-month repair warranty too, but the
    fan part fitted then carries the catalogue's 12 months: a new ticket for the fan (or its part number) is a
    warranty ticket."""
    from datetime import date

    from ticketing.domain.warranty import add_months

    admin, agent = auth_headers("admin"), auth_headers("call_center", sub="agent-1")
    s = settings(infra_settings, run_relay=False, run_consumers=True,
                 kafka=infra_settings("ticketing", **own_kafka("t"))["kafka"])
    await start_at_end((s, consumer_specs(s)))
    app = create_app(s)
    job_id, engineer, dealer, serial = _own("J-W8"), _own("E"), _own("D"), _own("SN-W8")
    today = date.today()
    fitted_at = datetime.combine(add_months(today, -7), datetime.min.time(), UTC) + timedelta(hours=4)
    async with running(app) as client:
        await reset_schema(admin_db, "ticketing")
        await seed_line(client, admin)
        await seed_unit(client, agent, serial=serial, dealer=dealer, sold_on=add_months(today, -18))
        await asyncio.wait_for(app.state.consumers[0].ready.wait(), timeout=WAIT)
        await ensure_topics(s.kafka.bootstrap_servers, ["dispatch.job.v1"])
        done = JobCompleted(aggregate_id=job_id, payload={
            "job_id": job_id, "ticket_id": str(uuid.uuid4()), "engineer_id": engineer, "dealer_id": dealer,
            "at": fitted_at, "serial": serial, "product_line": "AC", "coverage": "warranty", "home_visit": True,
            "work_done": "replaced the fan", "parts_used": [{"part_no": "FAN-77"}], "components": ["fan"]})
        producer = AIOKafkaProducer(bootstrap_servers=s.kafka.bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait("dispatch.job.v1", done.to_json().encode(), key=job_id.encode())
        finally:
            await producer.stop()

        async def recorded():
            return await admin_db.fetchrow(
                "SELECT components, parts_replaced FROM ticketing.unit_repairs WHERE job_id = $1", job_id)

        row = await _until(recorded)
        assert row is not None, "the completed job was not recorded on the unit"
        for asked in ("fan", "FAN-77"):
            w = (await client.get(f"/v1/units/{serial}/warranty", params={"component": asked}, headers=agent)).json()
            assert w["coverage"] == "warranty", w
            state = next(c for c in w["components"] if c["component"] == asked)
            assert state["state"] == "parts_warranty", state
        assert (await client.get(f"/v1/units/{serial}/warranty", headers=agent)).json()["coverage"] == "paid"
        r = await client.post("/v1/tickets", json=ticket_body(serial=serial, component="fan"), headers=agent)
        assert r.status_code == 201, r.text
        assert r.json()["coverage"] == "warranty"
        assert any("parts warranty" in x for x in r.json()["warranty_reasons"]), r.json()["warranty_reasons"]
