"""SLA consequences (R-S9, issue 16 item 2): a breached arrive on a dealer's penalty terms → liquidated damages
on the dealer's next statement, to the fen, once under redelivery; finance waives with a reason, audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from aiokafka import AIOKafkaProducer

from aftersales_shared.events import dispatch as dsp
from aftersales_shared.kafka import ensure_topics
from aftersales_shared.testing.isolation import uniq
from aftersales_shared.testing.plugin import wait_for
from settlement.domain.penalties import liquidated_damages
from settlement.domain.terms import DealerTerms

from .conftest import setup_dealer

pytestmark = pytest.mark.integration
AT = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)


def test_R_S9_damages_are_a_percent_of_the_service_value_or_fixed_to_the_fen():
    pct = DealerTerms(sla_penalty="percent", sla_penalty_percent=D("10"))
    assert liquidated_damages(pct, milestone="arrive", service_value=D("110.05")).amount == D("11.01")  # half-up
    assert liquidated_damages(pct, milestone="respond", service_value=D("110")) is None  # not a penalty milestone
    fixed = DealerTerms(sla_penalty="fixed", sla_penalty_amount=D("50.00"))
    assert liquidated_damages(fixed, milestone="resolve", service_value=D("0")).amount == D("50.00")
    assert liquidated_damages(DealerTerms(), milestone="arrive", service_value=D("110")) is None  # no penalty terms


async def _publish(bootstrap, *events):
    await ensure_topics(bootstrap, {e.TOPIC for e in events})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for e in events:
            await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())
    finally:
        await producer.stop()


async def test_R_S9_breached_arrive_on_a_penalty_contract_puts_damages_on_the_next_statement(
        client, fin, admin_db, infra_settings):
    bootstrap = infra_settings("settlement")["kafka"].bootstrap_servers
    dealer = uniq("PD")
    # the contract: 80.05 per repair + 30.00 per home visit → service value 110.05; 10 % → 11.005 → 11.01
    await setup_dealer(client, fin["admin"], dealer, params={"repair_fee": "80.05", "home_visit_fee": "30.00"})
    await admin_db.execute(
        "INSERT INTO settlement.dealer_terms (dealer_id, version, effective_from, values, created_by, created_at) "
        "VALUES ($1, 1, '2026-01-01', $2::jsonb, 'setup', now())", dealer,
        json.dumps({"sla_penalty": "percent", "sla_penalty_percent": "10"}))
    job, job2, other = uniq("J"), uniq("J"), uniq("PX")  # `other`: a dealer without penalty terms
    base = {"ticket_id": uniq("T"), "at": AT, "engineer_id": uniq("E"), "deadline": AT}
    arrive = dsp.SlaBreached(aggregate_id=job, payload=dsp.SlaPayload(
        job_id=job, dealer_id=dealer, milestone="arrive", **base))
    respond = dsp.SlaBreached(aggregate_id=job2, payload=dsp.SlaPayload(
        job_id=job2, dealer_id=dealer, milestone="respond", **base))
    again = dsp.SlaBreached(aggregate_id=job, payload=dsp.SlaPayload(  # dispatch re-publishing the same breach
        job_id=job, dealer_id=dealer, milestone="arrive", **base))
    no_terms = dsp.SlaBreached(aggregate_id=job2, payload=dsp.SlaPayload(
        job_id=uniq("J"), dealer_id=other, milestone="arrive", **base))
    await _publish(bootstrap, arrive, respond, arrive, again, no_terms)  # `arrive` delivered twice

    async def breaches():
        n = await admin_db.fetchval("SELECT count(*) FROM settlement.ledger_entries WHERE kind = 'sla_breach' "
                                    "AND dealer_id = ANY($1::text[])", [dealer, other])
        return n == 4 or None  # arrive, respond, the re-published arrive, the other dealer's
    await wait_for(breaches, what="the breaches consumed")
    rows = await admin_db.fetch("SELECT dealer_id, kind, amount, booked_quarter FROM settlement.ledger_entries "
                                "WHERE kind = 'sla_damages' AND dealer_id = ANY($1::text[])", [dealer, other])
    assert [(r["dealer_id"], r["amount"], r["booked_quarter"]) for r in rows] == [(dealer, D("11.01"), "2026Q2")]

    run = await client.post("/v1/statement-runs", json={"quarter": "2026Q2", "dealer_ids": [dealer]},
                            headers=fin["maker"])
    assert run.status_code == 200, run.text
    sid = run.json()["created"][0]["statement_id"]
    st = (await client.get(f"/v1/statements/{sid}", headers=fin["ops"])).json()
    line = [ln for ln in st["lines"] if ln["code"] == "sla_liquidated_damages"]
    assert len(line) == 1 and D(line[0]["amount"]) == D("-11.01") and line[0]["category"] == "deduction"
    assert D(st["net_amount"]) == D("-11.01")

    listed = (await client.get("/v1/sla-penalties", params={"dealer_id": dealer}, headers=fin["ops"])).json()
    assert [(p["job_id"], p["milestone"], p["amount"], p["basis"], p["service_value"], p["terms_version"])
            for p in listed] == [(job, "arrive", "11.01", "percent", "110.05", 1)]
    pid = listed[0]["id"]
    # waivers: a finance decision, with evidence for a customer-caused delay, once, audited
    assert (await client.post(f"/v1/sla-penalties/{pid}/waive", json={"kind": "customer_delay"},
                              headers=fin["maker"])).status_code == 422
    assert (await client.post(f"/v1/sla-penalties/{pid}/waive", json={"kind": "force_majeure"},
                              headers=fin["ops"])).status_code == 403
    ok = await client.post(f"/v1/sla-penalties/{pid}/waive", json={
        "kind": "customer_delay", "evidence": "customer not home, call log 14:02"}, headers=fin["maker"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "waived" and ok.json()["waived_by"] == "fin-maker"
    twice = await client.post(f"/v1/sla-penalties/{pid}/waive", json={"kind": "force_majeure"}, headers=fin["maker"])
    assert twice.status_code == 409 and twice.json()["code"] == "penalty_waived"
    assert (await client.post("/v1/sla-penalties/00000000-0000-4000-8000-000000000000/waive",
                              json={"kind": "force_majeure"}, headers=fin["maker"])).status_code == 404
    actions = [r[0] for r in await admin_db.fetch(
        "SELECT action FROM settlement.audit_log WHERE entity_type = 'sla_penalty' AND entity_id = $1 ORDER BY id",
        pid)]
    assert actions == ["sla_damages_charged", "sla_damages_waived"]
    rev = await client.post("/v1/statement-runs", json={"quarter": "2026Q2", "dealer_ids": [dealer]},
                            headers=fin["maker"])
    sid2 = rev.json()["created"][0]["statement_id"]
    st2 = (await client.get(f"/v1/statements/{sid2}", headers=fin["ops"])).json()
    assert {ln["code"]: D(ln["amount"]) for ln in st2["lines"]} == {
        "sla_liquidated_damages": D("-11.01"), "sla_damages_waived": D("11.01")}
    assert D(st2["net_amount"]) == D("0.00")
