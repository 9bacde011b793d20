"""Upstream events through the real Kafka broker into the ledger; racing runs and redeliveries."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from aiokafka import AIOKafkaProducer

from aftersales_shared.events import dispatch as dsp
from aftersales_shared.events import parts as prt
from aftersales_shared.events import ticketing as tkt
from aftersales_shared.kafka import ensure_topics
from aftersales_shared.testing.isolation import uniq
from aftersales_shared.testing.plugin import wait_for
from settlement.ledger.service import record

from .conftest import QUARTER, add_ledger, setup_dealer

pytestmark = pytest.mark.integration
AT = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)


async def test_upstream_events_become_ledger_entries_once(client, fin, admin_db, infra_settings):
    bootstrap = infra_settings("settlement")["kafka"].bootstrap_servers
    # every id in these events is this test's own: the topics keep earlier tests' and runs' events
    dealer = uniq("K")
    s1, s2, c1, c2, t1, j1, j2 = (uniq(p) for p in ("S1", "S2", "C1", "C2", "T1", "J1", "J2"))
    r1, part, q1, sh1, tracking, engineer = (uniq(p) for p in ("R1", "P-9", "Q1", "SH1", "X1", "E1"))
    job = dict(job_id=j1, ticket_id=t1, at=AT, engineer_id=engineer, dealer_id=dealer)
    events = [
        tkt.UnitRegistered(aggregate_id=s1, payload=tkt.UnitRegisteredPayload(
            serial=s1, product_line="AC", dealer_id=dealer, registered_on=date(2026, 5, 3),
            sale_amount=D("3999.00"))),
        tkt.ComplaintResolved(aggregate_id=c1, payload=tkt.ComplaintResolvedPayload(
            complaint_id=c1, dealer_id=dealer, upheld=True, against="dealer", resolved_at=AT)),
        tkt.ComplaintResolved(aggregate_id=c2, payload=tkt.ComplaintResolvedPayload(
            complaint_id=c2, dealer_id=dealer, upheld=True, against="manufacturer", resolved_at=AT)),
        tkt.CallbackRecorded(aggregate_id=t1, payload=tkt.CallbackRecordedPayload(
            ticket_id=t1, dealer_id=dealer, reached=True, satisfaction=5, recorded_at=AT)),
        dsp.JobCompleted(aggregate_id=j1, payload=dsp.JobCompletedPayload(
            **job, serial=s1, product_line="AC", coverage="warranty", home_visit=True, work_done="fan")),
        dsp.JobCompleted(aggregate_id=j2, payload=dsp.JobCompletedPayload(
            **(job | {"job_id": j2}), serial=s2, product_line="AC", coverage="paid", home_visit=True,
            work_done="paid job")),
        dsp.SlaBreached(aggregate_id=j1, payload=dsp.SlaPayload(**job, milestone="arrive", deadline=AT)),
        prt.ReturnMissed(aggregate_id=r1, payload=prt.ReturnMissedPayload(
            return_id=r1, part_no=part, dealer_id=dealer, due_on=AT, at=AT, chargeback_amount=D("123.45"))),
        prt.RequestShipped(aggregate_id=q1, payload=prt.RequestShippedPayload(
            request_id=q1, dealer_id=dealer, at=AT, status="shipped", shipment_id=sh1, carrier="EMS",
            tracking_no=tracking, urgent=True, urgent_surcharge=D("45.00"))),
    ]
    await ensure_topics(bootstrap, {e.TOPIC for e in events})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for e in events + events[:1] + events[4:5]:  # two redeliveries of the same event ids
            await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())
    finally:
        await producer.stop()

    expected = {"registered_sale": 1, "complaint_upheld": 1, "callback": 1, "repair": 1, "home_visit": 1,
                "sla_breach": 1, "part_not_returned": 1, "urgent_surcharge": 1}

    async def kinds():
        rows = await admin_db.fetch("SELECT kind, count(*) AS n, sum(amount) AS a FROM settlement.ledger_entries "
                                    "WHERE dealer_id = $1 GROUP BY kind", dealer)
        got = {r["kind"]: r["n"] for r in rows}
        return got if got == expected else None

    assert await wait_for(kinds, what="one ledger entry per kind") == expected
    amounts = dict(await admin_db.fetch("SELECT kind, sum(amount) FROM settlement.ledger_entries "
                                        "WHERE dealer_id = $1 GROUP BY kind", dealer))
    assert amounts["registered_sale"] == D("3999.00") and amounts["part_not_returned"] == D("123.45")
    assert amounts["urgent_surcharge"] == D("45.00")
    quarters = {r[0] for r in await admin_db.fetch(
        "SELECT DISTINCT booked_quarter FROM settlement.ledger_entries WHERE dealer_id = $1", dealer)}
    assert quarters == {QUARTER}


async def test_concurrent_runs_produce_one_revision(client, fin, admin_db):
    for d in ("R1", "R2", "R3"):
        await setup_dealer(client, fin["admin"], d, model="a", params={"per_sale_amount": "35.00"})
        await add_ledger(admin_db, d, "registered_sale", n=10, amount="100.00")
    results = await asyncio.gather(*(client.post("/v1/statement-runs", json={"quarter": QUARTER},
                                                 headers=fin["maker"]) for _ in range(8)))
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert sum(len(r.json()["created"]) for r in results) == 3
    rows = await admin_db.fetch("SELECT dealer_id, count(*) FROM settlement.statements GROUP BY dealer_id")
    assert {r[0]: r[1] for r in rows} == {"R1": 1, "R2": 1, "R3": 1}
    net = await admin_db.fetchval("SELECT net_amount FROM settlement.statements WHERE dealer_id = 'R1'")
    assert net == D("350.00")


async def test_racing_redelivery_never_double_counts(client, fin):
    sessions = client.app.state.sessions

    async def deliver():
        async with sessions() as s, s.begin():
            return await record(s, dealer_id="X1", kind="repair", occurred_at=AT, source_type="dispatch.job.completed",
                                source_id="same-event-id")

    outcomes = await asyncio.gather(*(deliver() for _ in range(12)))
    assert outcomes.count(True) == 1
    async with sessions() as s:
        from sqlalchemy import text
        n = (await s.execute(text("SELECT count(*) FROM ledger_entries WHERE source_id = 'same-event-id'"))).scalar()
    assert n == 1


async def test_racing_approvals_only_one_wins(client, fin, admin_db, auth_headers):
    await setup_dealer(client, fin["admin"], "A1")
    await add_ledger(admin_db, "A1", "repair", n=3)
    run = await client.post("/v1/statement-runs", json={"quarter": QUARTER}, headers=fin["maker"])
    sid = run.json()["created"][0]["statement_id"]
    assert (await client.post(f"/v1/statements/{sid}/review", headers=fin["maker"])).status_code == 200
    checkers = [auth_headers("finance", sub=f"checker-{i}") for i in range(6)]
    res = await asyncio.gather(*(client.post(f"/v1/statements/{sid}/approve", headers=h) for h in checkers))
    assert sorted(r.status_code for r in res) == [200] + [409] * 5
    paid = await asyncio.gather(*(client.post(f"/v1/statements/{sid}/pay", headers=h) for h in checkers))
    assert sorted(r.status_code for r in paid) == [200] + [409] * 5
    n = await admin_db.fetchval("SELECT count(*) FROM settlement.outbox WHERE payload->>'type' = "
                                "'settlement.statement.paid'")
    assert n == 1
