"""A missed PM visit is an SLA event (R-S10 + R-S9, issue 16): dispatch consumes ``ticketing.pm.missed`` once per
occurrence (redelivered, racing), records a breach of milestone ``pm_visit`` on the contract (and on the PM job when
the occurrence had one) and prices it by the contract's ``pm_missed_*`` terms in force on the day it was missed: a
credit to the contract when no dealer held the job, ``dispatch.contract.pm_breached`` for the dealer's statement when
a dealer's engineer held it, nothing on the default terms. Real Postgres, the app's API, and the real Kafka path."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaProducer

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.events import ticketing as tkt
from aftersales_shared.kafka import ensure_topics
from aftersales_shared.testing.plugin import running, wait_for
from dispatch.consumers import on_pm_missed
from dispatch.main import create_app

from .conftest import action, engineer_body, own_consumers, ticket, uniq
from .test_contract_terms import hdr, open_job, put_terms

pytestmark = pytest.mark.integration


def missed(code, *, ticket_id=None, at=None, occurrence=None):
    at = at or clock.now()
    serial = uniq("SN")
    return tkt.PmMissed(aggregate_id=serial, payload=tkt.PmMissedPayload(
        occurrence_id=occurrence or uniq("OCC"), plan_id=uniq("PLAN"), serial=serial, kind="visit",
        contract_code=code, ticket_id=ticket_id, window_start=at - timedelta(days=7),
        window_end=at - timedelta(hours=1), missed_at=at))


async def deliver(client, event):
    async with unit_of_work(client.app.state.sessions) as s:
        await on_pm_missed(s, event, cfg=client.app.state.dispatch_cfg)


async def outbox(admin_db, code, kind):
    rows = await admin_db.fetch("SELECT payload::text AS p FROM dispatch.outbox WHERE key = $1 AND event_type = $2",
                                code, f"dispatch.contract.{kind}")
    return [json.loads(r["p"])["payload"] for r in rows]


async def test_R_S10_R_S9_missed_pm_without_a_dealer_credits_the_contract_once_by_the_terms_in_force(
        clean, dispatch_settings, auth_headers, admin_db):
    code, plain = uniq("K"), uniq("K")
    ops, fin = hdr(auth_headers, "ops"), hdr(auth_headers, "finance")
    async with running(create_app(dispatch_settings())) as client:
        await put_terms(client, ops, code, {"pm_missed_penalty": "fixed", "pm_missed_amount": "50.005"}, status=422)
        await put_terms(client, ops, code, {"pm_missed_penalty": "fixed", "pm_missed_amount": "50.00"})
        terms = (await client.get(f"/v1/contracts/{code}/terms", headers=ops)).json()
        assert (terms["values"]["pm_missed_penalty"], terms["values"]["pm_missed_amount"]) == ("fixed", "50.00")
        now_ = missed(code)
        for _ in range(2):  # delivered, redelivered, and raced
            await deliver(client, now_)
        await asyncio.gather(deliver(client, now_), deliver(client, now_))
        # the same term was not in force yesterday: a visit missed then is a breach that costs nothing
        before = missed(code, at=clock.now() - timedelta(days=1))
        await deliver(client, before)
        await put_terms(client, ops, plain, {"spare_entitled": True})  # the default: no PM damages
        await deliver(client, missed(plain))

        rows = await admin_db.fetch("SELECT occurrence_id, contract_code, milestone, job_id, charged_to, amount "
                                    "FROM dispatch.contract_breaches ORDER BY created_at")
        assert sorted((r["occurrence_id"], r["contract_code"], r["charged_to"], str(r["amount"])) for r in rows) == \
            sorted([(now_.payload.occurrence_id, code, "contract", "50.00"),
                    (before.payload.occurrence_id, code, "nobody", "None"),
                    (rows[2]["occurrence_id"], plain, "nobody", "None")])
        assert {r["milestone"] for r in rows} == {"pm_visit"} and {r["job_id"] for r in rows} == {None}
        statement = (await client.get(f"/v1/contracts/{code}/credits", headers=fin)).json()
        assert [(c["milestone"], c["ref"], c["job_id"], c["amount"], c["basis"], c["terms_version"])
                for c in statement["items"]] == [("pm_visit", now_.payload.occurrence_id, None, "50.00", "fixed", 1)]
        assert statement["total_credited"] == "50.00"
        sent = await outbox(admin_db, code, "credit_issued")
        assert [(p["milestone"], p["ref"], p["amount"]) for p in sent] == [
            ("pm_visit", now_.payload.occurrence_id, "50.00")]
        assert await outbox(admin_db, code, "pm_breached") == []  # no dealer to charge
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.contract_credits WHERE contract_code = $1",
                                       plain) == 0


async def test_R_S10_R_S9_missed_pm_of_a_dealers_job_charges_the_dealer_through_pm_breached_once(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    code, skill, eid = uniq("K"), uniq("hvac"), uniq("E")
    ops = hdr(auth_headers, "ops")
    async with running(create_app(dispatch_settings())) as client:
        await put_terms(client, ops, code, {"pm_missed_penalty": "percent", "pm_missed_percent": "10",
                                            "sla_service_value": "333.35"})
        r = await client.put(f"/v1/engineers/{eid}", json=engineer_body(skill, dealer_id="D9"), headers=admin)
        assert r.status_code == 200, r.text
        pm_job = await open_job(client, ticket(skill, contract=code))  # the PM visit's job
        r = await client.post(f"/v1/jobs/{pm_job.id}/actions", json=action("accept"),
                              headers=auth_headers("engineer", sub=eid, engineer_id=eid))
        assert r.status_code == 200, r.text
        event = missed(code, ticket_id=pm_job.ticket_id)
        await asyncio.gather(*[deliver(client, event) for _ in range(3)])
        await deliver(client, event)
        row = await admin_db.fetchrow("SELECT * FROM dispatch.contract_breaches WHERE occurrence_id = $1",
                                      event.payload.occurrence_id)
        assert (row["job_id"], row["dealer_id"], row["engineer_id"], row["charged_to"], str(row["amount"])) == (
            pm_job.id, "D9", eid, "dealer", "33.34")  # 10 % of 333.35 = 33.335 → 33.34
        sent = await outbox(admin_db, code, "pm_breached")
        assert [(p["job_id"], p["dealer_id"], p["milestone"], p["amount"], p["basis"], p["terms_version"])
                for p in sent] == [(pm_job.id, "D9", "pm_visit", "33.34", "percent", 1)]
        assert await outbox(admin_db, code, "credit_issued") == []  # the dealer pays, not the contract's credit
        assert json.loads(await admin_db.fetchval("SELECT sla_met::text FROM dispatch.jobs WHERE id = $1",
                                                  pm_job.id))["pm_visit"] is False  # the breach is on the job


async def test_R_S10_the_missed_pm_travels_from_ticketing_through_kafka_and_credits_once(
        clean, dispatch_settings, auth_headers, admin_db, infra_settings):
    code = uniq("K")
    ops = hdr(auth_headers, "ops")
    settings = await own_consumers(dispatch_settings(run_consumers=True))
    async with running(create_app(settings)) as client:
        await put_terms(client, ops, code, {"pm_missed_penalty": "fixed", "pm_missed_amount": "12.30"})
        event = missed(code)
        bootstrap = settings.kafka.bootstrap_servers
        await ensure_topics(bootstrap, {event.TOPIC})
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for _ in range(2):  # ticketing's relay delivering it twice
                await producer.send_and_wait(event.TOPIC, event.to_json().encode(), key=event.aggregate_id.encode())
        finally:
            await producer.stop()

        async def credited():
            return (await client.get(f"/v1/contracts/{code}/credits", headers=ops)).json()["items"] or None
        items = await wait_for(credited, what="the missed PM visit credited")
        assert [(c["milestone"], c["ref"], c["amount"]) for c in items] == [
            ("pm_visit", event.payload.occurrence_id, "12.30")]
