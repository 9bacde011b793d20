"""Customer service contract terms in dispatch (issue 16 items 1-2), against real Postgres and the app's HTTP API:
terms changed from a date (never backdated), in force with their source, history with who/when/why; the R-S8
routing check by the terms in force at the job's opening (a change dated tomorrow leaves today's jobs alone, moved
clock); the R-S6 loan term and entitlement from the terms; R-S9 credits to the customer's contract once per job and
milestone (redelivered and racing breaches), waived by finance once; third-party repair costs charged to the
dealer (an event settlement books) or credited to the contract."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, time, timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.clock import BUSINESS_TZ
from aftersales_shared.db import unit_of_work
from aftersales_shared.events import registry
from aftersales_shared.testing.plugin import running
from dispatch import background
from dispatch.consumers import on_sla_breached
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.sla import service as sla

from .conftest import action, engineer_body, own_consumers, ticket, uniq
from .test_spares import act, centre, on_site, register

pytestmark = pytest.mark.integration


def hdr(auth_headers, role):
    return auth_headers(role, sub=f"{role}-1")


async def register_contract(client, code, *, headers, tier="gold"):
    """Register the contract through the API (terms can only be set for a registered code); idempotent per test."""
    r = await client.post("/v1/contracts", json={
        "code": code, "customer_name": "Acme Cold Chain", "customer_ref": f"CUST-{code}", "sla_tier": tier,
        "valid_from": clock.business_today().isoformat()},
        headers=headers)
    assert r.status_code in (201, 409), r.text
    return r.json()


async def put_terms(client, headers, code, values, *, on=None, reason="negotiated", status=201):
    await register_contract(client, code, headers=headers)
    body = {"effective_from": (on or clock.business_today()).isoformat(), "values": values, "reason": reason}
    r = await client.put(f"/v1/contracts/{code}/terms", json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


async def open_job(client, payload):
    async with unit_of_work(client.app.state.sessions) as s:
        return await jobs.open_job(s, client.app.state.dispatch_cfg, payload, clock.now())


async def test_R_S8_R_S9_terms_change_from_a_date_never_backdated_in_force_with_source_and_audited_history(
        clean, dispatch_settings, admin, auth_headers):
    code, today = uniq("K"), clock.business_today()
    ops = hdr(auth_headers, "ops")
    async with running(create_app(dispatch_settings())) as client:
        await register_contract(client, code, headers=ops)
        r = await client.put(f"/v1/contracts/{code}/terms", headers=ops, json={
            "effective_from": (today - timedelta(days=1)).isoformat(), "values": {"routing_flag_minutes": 30}})
        assert r.status_code == 422 and r.json()["field"] == "effective_from"
        assert r.json()["code"] == "terms_backdated"
        r = await client.put(f"/v1/contracts/{code}/terms", headers=ops, json={
            "effective_from": today.isoformat(), "values": {"routing_flag_minutes": 300}})
        assert r.status_code == 422 and r.json()["field"] == "values.routing_escalate_minutes"  # 5 h check, 4 h esc.
        r = await client.put(f"/v1/contracts/{code}/terms", headers=ops, json={
            "effective_from": today.isoformat(), "values": {}})
        assert r.status_code == 422
        r = await client.put(f"/v1/contracts/{code}/terms", headers=auth_headers("dealer", sub="D1", dealer_id="D1"),
                             json={"effective_from": today.isoformat(), "values": {"spare_entitled": True}})
        assert r.status_code == 403

        tomorrow = today + timedelta(days=1)
        v1 = await put_terms(client, ops, code, {"sla_penalty": "percent", "sla_service_value": "333.35"},
                             on=tomorrow, reason="tier gold from tomorrow")
        again = await put_terms(client, ops, code, {"sla_penalty": "percent", "sla_service_value": "333.35"},
                                on=tomorrow, reason="tier gold from tomorrow", status=200)
        assert again["version"] == v1["version"] == 1
        await put_terms(client, ops, code, {"routing_flag_minutes": 60, "routing_escalate_minutes": 90},
                        on=tomorrow + timedelta(days=9))

        now_ = (await client.get(f"/v1/contracts/{code}/terms", headers=ops)).json()
        assert now_["version"] is None and now_["values"]["sla_penalty"] == "none"
        assert now_["values"]["routing_flag_minutes"] == 120 and now_["values"]["routing_escalate_minutes"] == 240
        assert now_["values"]["spare_due_back_hours"] == 168 and now_["source"]["sla_penalty"] is None
        t1 = (await client.get(f"/v1/contracts/{code}/terms", params={"on": tomorrow.isoformat()},
                               headers=hdr(auth_headers, "finance"))).json()
        assert t1["values"]["sla_penalty"] == "percent" and t1["values"]["sla_service_value"] == "333.35"
        assert t1["values"]["sla_penalty_percent"] == "10" and t1["source"]["sla_service_value"] == 1
        assert t1["values"]["routing_flag_minutes"] == 120 and t1["source"]["routing_flag_minutes"] is None
        t10 = (await client.get(f"/v1/contracts/{code}/terms",
                                params={"on": (tomorrow + timedelta(days=9)).isoformat()}, headers=ops)).json()
        assert t10["version"] == 2 and t10["values"]["routing_flag_minutes"] == 60
        assert t10["values"]["sla_penalty"] == "percent"  # kept from version 1
        hist = (await client.get(f"/v1/contracts/{code}/terms/history", headers=admin)).json()
        assert [(h["version"], h["created_by"], h["reason"]) for h in hist] == [
            (1, "ops-1", "tier gold from tomorrow"), (2, "ops-1", "negotiated")]
        r = await client.get(f"/v1/contracts/{code}/terms", params={"on": "1999-01-01"}, headers=ops)
        assert r.status_code == 422 and r.json()["field"] == "on"


async def test_R_S8_routing_times_are_the_contracts_in_force_at_the_jobs_opening(clean, dispatch_settings, admin,
                                                                                auth_headers, admin_db):
    """A change dated tomorrow (10/20 min) escalates a job opened tomorrow after 25 min, never one opened the evening
    before (still the 2 h / 4 h defaults); a contract's own times escalate its job; a job without one keeps 4 h."""
    code, other, skill = uniq("K"), uniq("K"), uniq("noone")  # nobody has the skill: the jobs stay queued
    ops = hdr(auth_headers, "ops")
    today = clock.business_today()
    if clock.now() >= datetime.combine(today, time(23, 45), BUSINESS_TZ):  # the clock only moves forward: past
        today += timedelta(days=1)  # 23:45 in Shanghai, "the evening before" is tonight's next one (CI ran at 23:50)
    tomorrow = today + timedelta(days=1)
    async with running(create_app(dispatch_settings())) as client:
        cfg = client.app.state.dispatch_cfg
        await put_terms(client, ops, code, {"routing_flag_minutes": 10, "routing_escalate_minutes": 20}, on=tomorrow)
        await put_terms(client, ops, other, {"routing_flag_minutes": 15, "routing_escalate_minutes": 30})
        evening = datetime.combine(today, time(23, 50), BUSINESS_TZ)
        after_midnight = datetime.combine(tomorrow, time(0, 5), BUSINESS_TZ)
        # each job reaches dispatch when it is reported (R-S8 counts from receipt, the terms by the opening day)
        r = await client.post("/v1/admin/clock", json={"to": evening.isoformat()}, headers=admin)
        assert r.status_code == 200, r.text
        before = await open_job(client, ticket(skill, contract=code, opened_at=evening))
        r = await client.post("/v1/admin/clock", json={"to": after_midnight.isoformat()}, headers=admin)
        assert r.status_code == 200, r.text
        after = await open_job(client, ticket(skill, contract=code, opened_at=after_midnight))
        own = await open_job(client, ticket(skill, contract=other, opened_at=after_midnight))
        bare = await open_job(client, ticket(skill, opened_at=after_midnight))
        check_at = after_midnight + timedelta(minutes=25)  # before: 35 min, after/own/bare: 25 min
        async with unit_of_work(client.app.state.sessions) as s:
            assert await sla.check_routing(s, cfg, check_at) == 1
        async with unit_of_work(client.app.state.sessions) as s:
            assert await sla.check_routing(s, cfg, check_at + timedelta(minutes=6)) == 1  # own: 31 ≥ 30
        async with unit_of_work(client.app.state.sessions) as s:
            assert await sla.check_routing(s, cfg, check_at + timedelta(minutes=6)) == 0  # once per job
        rows = {r["id"]: r for r in await admin_db.fetch(
            "SELECT id, routing_checked, routing_escalated FROM dispatch.jobs WHERE id = ANY($1)",
            [before.id, after.id, own.id, bare.id])}
        assert rows[after.id]["routing_escalated"] and rows[own.id]["routing_escalated"]
        assert not rows[before.id]["routing_escalated"] and not rows[before.id]["routing_checked"]
        assert not rows[bare.id]["routing_escalated"] and not rows[bare.id]["routing_checked"]
        esc = [json.loads(r["p"])["payload"] for r in await admin_db.fetch(
            "SELECT payload::text AS p FROM dispatch.outbox WHERE key = $1 AND event_type = 'dispatch.job.escalated'",
            after.id)]
            # the deadline counts from receipt: the moved clock when the job arrived (a few ms after after_midnight)
        assert len(esc) == 1 and timedelta(0) <= datetime.fromisoformat(esc[0]["deadline"]) - (
            after_midnight + timedelta(minutes=20)) < timedelta(seconds=30)
        async with unit_of_work(client.app.state.sessions) as s:  # the evening job at 2 h / 4 h, as on its day
            await sla.check_routing(s, cfg, evening + timedelta(minutes=121))
        assert await admin_db.fetchval("SELECT routing_checked FROM dispatch.jobs WHERE id = $1", before.id)


async def test_R_S6_loan_term_and_entitlement_come_from_the_contract_terms(clean, dispatch_settings, admin,
                                                                          auth_headers):
    """The spare was registered with the default loan term (168 h); lent on a contract whose terms say 48 h, it is
    due back 48 h after the loan. ``spare_entitled`` from the terms overrides the SLA policy's flag (false)."""
    code, line = uniq("K"), uniq("fridge")
    ops = hdr(auth_headers, "ops")
    async with running(create_app(dispatch_settings())) as client:
        await centre(client, admin, "C1")
        spare = await register(client, admin, uniq("SP"), line, "C1")
        assert spare["loan_hours"] == 168
        await put_terms(client, ops, code, {"spare_due_back_hours": 48, "spare_entitled": True})
        job, eng = await on_site(client, admin, auth_headers, line, uniq("E"), contract=code)
        sug = (await client.get(f"/v1/jobs/{job.id}/spare-suggestion", headers=admin)).json()
        assert sug["entitled"] is True
        r = await act(client, job, eng, "lend_spare", spare_id=spare["id"])
        assert r.status_code == 200, r.text
        lent = (await client.get(f"/v1/spares/{spare['id']}", headers=admin)).json()
        assert datetime.fromisoformat(lent["due_back_at"]) - datetime.fromisoformat(lent["lent_at"]) == \
            timedelta(hours=48)
        plain = await open_job(client, ticket(line))  # no contract: the SLA policy's flag (false)
        assert (await client.get(f"/v1/jobs/{plain.id}/spare-suggestion", headers=admin)).json()["entitled"] is False


async def breaches(client, admin_db, job_id, now):
    """Run the SLA watcher at ``now``; the job's breach events as they left in the outbox."""
    await background.watch_sla(client.app.state.sessions, now)
    rows = await admin_db.fetch("SELECT payload::text AS p FROM dispatch.outbox WHERE key = $1 AND "
                                "event_type = 'dispatch.job.sla_breached'", job_id)
    return [registry.parse(r["p"]) for r in rows]


async def deliver(client, event):
    async with unit_of_work(client.app.state.sessions) as s:
        await on_sla_breached(s, event, cfg=client.app.state.dispatch_cfg)


async def test_R_S9_breach_of_a_job_no_dealer_held_credits_the_contract_once_and_finance_waives_it_once(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    code, skill = uniq("K"), uniq("noone")
    ops, fin = hdr(auth_headers, "ops"), hdr(auth_headers, "finance")
    async with running(create_app(dispatch_settings())) as client:
        await put_terms(client, ops, code, {"sla_penalty": "percent", "sla_service_value": "333.35"})
        job = await open_job(client, ticket(skill, contract=code))  # queued: no dealer's engineer holds it
        events = await breaches(client, admin_db, job.id, job.opened_at + timedelta(days=30))
        assert {e.payload.milestone for e in events} == {"respond", "arrive"}  # resolve runs from the arrival
        for e in events:  # delivered, redelivered, and raced
            await deliver(client, e)
            await deliver(client, e)
            await asyncio.gather(deliver(client, e), deliver(client, e))
        credits = (await client.get(f"/v1/contracts/{code}/credits", headers=fin)).json()["items"]
        assert [(c["milestone"], c["amount"], c["basis"], c["terms_version"], c["status"]) for c in credits] == [
            ("arrive", "33.34", "percent", 1, "credited")]  # respond is not a penalty milestone of the terms
        assert (await client.get(f"/v1/contracts/{code}/credits", headers=hdr(auth_headers, "dealer"))
                ).status_code == 403

        cid = credits[0]["id"]
        r = await client.post(f"/v1/contract-credits/{cid}/waive", json={"kind": "customer_delay"}, headers=fin)
        assert r.status_code == 422  # evidence required
        r = await client.post(f"/v1/contract-credits/{cid}/waive", json={"kind": "force_majeure"}, headers=ops)
        assert r.status_code == 403  # a finance decision
        r = await client.post(f"/v1/contract-credits/{cid}/waive",
                              json={"kind": "customer_delay", "evidence": "call log 2026-11-30: not home"},
                              headers=fin)
        assert r.status_code == 200, r.text
        w = r.json()
        assert (w["status"], w["waived_by"], w["waiver_kind"]) == ("waived", "finance-1", "customer_delay")
        r = await client.post(f"/v1/contract-credits/{cid}/waive", json={"kind": "force_majeure"}, headers=fin)
        assert r.status_code == 409 and r.json()["field"] == "status"
        r = await client.post("/v1/contract-credits/nope/waive", json={"kind": "force_majeure"}, headers=fin)
        assert r.status_code == 404


async def test_R_S9_a_dealer_held_job_or_a_contract_without_penalty_credits_nothing(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    code, plain, skill = uniq("K"), uniq("K"), uniq("hvac")
    ops = hdr(auth_headers, "ops")
    async with running(create_app(dispatch_settings())) as client:
        await put_terms(client, ops, code, {"sla_penalty": "fixed", "sla_penalty_amount": "80"})
        eid = uniq("E")
        r = await client.put(f"/v1/engineers/{eid}", json=engineer_body(skill, dealer_id="D1"), headers=admin)
        assert r.status_code == 200, r.text
        held = await open_job(client, ticket(skill, contract=code))
        r = await client.post(f"/v1/jobs/{held.id}/actions", json=action("accept"),
                              headers=auth_headers("engineer", sub=eid, engineer_id=eid))
        assert r.status_code == 200, r.text
        for e in await breaches(client, admin_db, held.id, held.opened_at + timedelta(days=30)):
            assert e.payload.dealer_id == "D1"
            await deliver(client, e)  # the dealer's statement is settlement's, never the customer's credit
        other = await open_job(client, ticket(uniq("noone"), contract=plain))
        for e in await breaches(client, admin_db, other.id, other.opened_at + timedelta(days=30)):
            await deliver(client, e)
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.contract_credits") == 0


async def test_R_S9_third_party_cost_charged_to_the_dealer_or_credited_to_the_contract_once(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    code, skill = uniq("K"), uniq("hvac")
    fin = hdr(auth_headers, "finance")
    async with running(create_app(dispatch_settings())) as client:
        eid = uniq("E")
        await client.put(f"/v1/engineers/{eid}", json=engineer_body(skill, dealer_id="D7"), headers=admin)
        held = await open_job(client, ticket(skill, contract=code))
        r = await client.post(f"/v1/jobs/{held.id}/actions", json=action("accept"),
                              headers=auth_headers("engineer", sub=eid, engineer_id=eid))
        assert r.status_code == 200, r.text  # the dealer's engineer holds the job
        body = {"amount": "1234.50", "vendor": "Fix-It Ltd", "invoice_no": "INV-1"}
        url = f"/v1/jobs/{held.id}/third-party-cost"
        r = await client.post(url, json=body, headers=fin)
        assert r.status_code == 201, r.text
        first = r.json()
        assert first["dealer_id"] == "D7" and first["credit_id"] is None and first["amount"] == "1234.50"
        r = await client.post(url, json=body, headers=fin)
        assert r.status_code == 201 and r.json()["id"] == first["id"]  # the same invoice: the first record
        r = await client.post(url, json={**body, "amount": "99.00"}, headers=fin)
        assert r.status_code == 409 and r.json()["field"] == "invoice_no"
        r = await client.post(url, json={**body, "amount": "-1"}, headers=fin)
        assert r.status_code == 422 and r.json()["field"].endswith("amount")
        assert (await client.post(url, json=body, headers=hdr(auth_headers, "dealer"))).status_code == 403
        evs = [json.loads(r["p"])["payload"] for r in await admin_db.fetch(
            "SELECT payload::text AS p FROM dispatch.outbox WHERE key = $1 AND "
            "event_type = 'dispatch.job.third_party_cost'", held.id)]
        assert len(evs) == 1 and evs[0]["dealer_id"] == "D7" and evs[0]["amount"] == "1234.50"
        assert evs[0]["invoice_no"] == "INV-1"

        mine = await open_job(client, ticket(uniq("noone"), contract=code))
        r = await client.post(f"/v1/jobs/{mine.id}/third-party-cost", json={**body, "amount": "10.005"},
                              headers=fin)
        assert r.status_code == 422  # more than two decimals: not money
        r = await client.post(f"/v1/jobs/{mine.id}/third-party-cost", json=body, headers=fin)
        assert r.status_code == 201 and r.json()["credit_id"] and r.json()["dealer_id"] is None
        credits = (await client.get(f"/v1/contracts/{code}/credits", headers=fin)).json()["items"]
        assert [(c["milestone"], c["ref"], c["amount"], c["basis"]) for c in credits] == [
            ("third_party", "INV-1", "1234.50", "third_party")]
        nobody = await open_job(client, ticket(uniq("noone")))
        r = await client.post(f"/v1/jobs/{nobody.id}/third-party-cost", json=body, headers=fin)
        assert r.status_code == 422 and r.json()["field"] == "job_id"
        r = await client.post("/v1/jobs/nope/third-party-cost", json=body, headers=fin)
        assert r.status_code == 404


async def test_R_S9_the_breach_travels_through_kafka_to_the_contracts_consumer_and_credits_once(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """The real path: the watcher's ``sla_breached`` leaves through the outbox relay to Kafka; the consumer group
    ``contracts`` credits the customer's contract (fixed 80.00 per arrive breach)."""
    code, skill = uniq("K"), uniq("noone")
    ops, fin = hdr(auth_headers, "ops"), hdr(auth_headers, "finance")
    async with running(create_app(await own_consumers(dispatch_settings(run_consumers=True)))) as client:
        await put_terms(client, ops, code, {"sla_penalty": "fixed", "sla_penalty_amount": "80",
                                            "sla_penalty_milestones": ["arrive"]})
        job = await open_job(client, ticket(skill, contract=code))
        await background.watch_sla(client.app.state.sessions, job.opened_at + timedelta(days=30))
        credits: list = []
        for _ in range(120):
            credits = (await client.get(f"/v1/contracts/{code}/credits", headers=fin)).json()["items"]
            if credits:
                break
            await asyncio.sleep(0.25)
        assert [(c["job_id"], c["milestone"], c["amount"], c["basis"]) for c in credits] == [
            (job.id, "arrive", "80.00", "fixed")]
