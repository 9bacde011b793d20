"""Issue 15 in ticketing: a diagnosis re-determines a ticket's coverage (R-W3 exclusions, R-T3 customer-side
cause), the call center overrides it with a reason; every change audited and announced
(``ticketing.ticket.coverage_changed``)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from aiokafka import AIOKafkaProducer

from aftersales_shared.events.dispatch import JobDiagnosed
from aftersales_shared.kafka import ensure_topics
from aftersales_shared.testing.isolation import own_kafka, start_at_end
from aftersales_shared.testing.plugin import reset_schema, running
from ticketing.consumers import consumer_specs
from ticketing.domain.coverage import after_diagnosis
from ticketing.domain.warranty import EXCLUSIONS
from ticketing.main import create_app

from .conftest import seed_line, seed_unit, settings, ticket_body

WAIT = 180.0
COVERAGES = ("warranty", "extended", "paid")


@pytest.mark.parametrize(("current", "intake", "excl", "cause", "overridden"), list(product(
    COVERAGES, COVERAGES, ((), ("liquid_spill",), ("misuse", "normal_wear")),
    (None, "supplier_part", "workmanship", "customer"), (False, True))))
def test_R_W3_R_T3_after_diagnosis_exhaustively(current, intake, excl, cause, overridden):
    d = after_diagnosis(current=current, intake=intake, exclusions=excl, root_cause=cause, overridden=overridden)
    if overridden:
        assert d is None  # the call center's override is the decision of record
        return
    paid = bool(excl) or cause == "customer"
    target = "paid" if paid else intake
    if target == current:
        assert d is None
    else:
        assert d is not None and d.to == target
        if excl:
            assert "R-W3" in d.reason and all(EXCLUSIONS[e] in d.reason for e in excl)
        elif cause == "customer":
            assert "R-T3" in d.reason


async def _until(check, timeout=WAIT):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.2)


async def _coverage_events(admin_db, ticket_id):
    rows = await admin_db.fetch("SELECT payload FROM ticketing.outbox WHERE key = $1 "
                                "AND event_type = 'ticketing.ticket.coverage_changed' ORDER BY id", ticket_id)
    return [json.loads(r["payload"])["payload"] for r in rows]


@pytest.mark.integration
async def test_R_W3_diagnosis_from_kafka_makes_the_ticket_paid_then_back_and_an_override_stands(
        infra_settings, admin_db, auth_headers):
    """Through the real topic: a spill (with a duplicate delivery) → paid with the reason, audited, announced once;
    a revised diagnosis without exclusion → back to the intake's coverage; after the call center's override a
    diagnosis changes nothing."""
    admin, agent = auth_headers("admin"), auth_headers("call_center", sub="agent-1")
    s = settings(infra_settings, run_relay=False, run_consumers=True,
                 kafka=infra_settings("ticketing", **own_kafka("cov"))["kafka"])
    await start_at_end((s, consumer_specs(s)))
    app = create_app(s)
    serial, engineer, job_id = f"SN-{uuid.uuid4().hex[:10]}", f"E-{uuid.uuid4().hex[:8]}", f"J-{uuid.uuid4().hex[:8]}"
    async with running(app) as client:
        await reset_schema(admin_db, "ticketing")
        await seed_line(client, admin)
        await seed_unit(client, agent, serial=serial)
        t = (await client.post("/v1/tickets", json=ticket_body(serial=serial), headers=agent)).json()
        assert t["coverage"] == "warranty"
        await asyncio.wait_for(app.state.consumers[0].ready.wait(), timeout=WAIT)
        now = datetime.now(UTC)

        def diagnosed(revision: int, exclusions: list[str], cause: str, at: datetime) -> JobDiagnosed:
            return JobDiagnosed(aggregate_id=job_id, payload={
                "job_id": job_id, "ticket_id": t["id"], "engineer_id": engineer, "at": at, "serial": serial,
                "product_line": "AC", "components": [{"component": "control_board"}], "root_cause": cause,
                "exclusions": exclusions, "evidence": ["p/1.jpg"], "revision": revision})

        async def send(*events: JobDiagnosed) -> None:
            await ensure_topics(s.kafka.bootstrap_servers, ["dispatch.job.v1"])
            producer = AIOKafkaProducer(bootstrap_servers=s.kafka.bootstrap_servers)
            await producer.start()
            try:
                for e in events:
                    await producer.send_and_wait("dispatch.job.v1", e.to_json().encode(), key=job_id.encode())
            finally:
                await producer.stop()

        async def coverage(want: str, changes: int):
            c = (await client.get(f"/v1/tickets/{t['id']}/coverage", headers=agent)).json()
            return c if c["coverage"] == want and len(c["changes"]) == changes else None

        spill = diagnosed(1, ["liquid_spill"], "customer", now)
        await send(spill, spill)  # the second is a duplicate delivery
        c = await _until(lambda: coverage("paid", 1))
        assert c, "the diagnosis did not make the ticket paid"
        assert c["changes"][0]["source"] == "diagnosis" and c["changes"][0]["actor"] == f"dispatch:{engineer}"
        assert "liquid spilled" in c["coverage_reason"] and c["exclusions"] == ["liquid_spill"]
        ticket = (await client.get(f"/v1/tickets/{t['id']}", headers=agent)).json()
        assert (ticket["coverage"], ticket["root_cause"]) == ("paid", "customer")
        events = await _coverage_events(admin_db, t["id"])
        assert [(e["from_coverage"], e["to_coverage"], e["job_id"], e["source"]) for e in events] == [
            ("warranty", "paid", job_id, "diagnosis")]

        await send(diagnosed(2, [], "supplier_part", now + timedelta(minutes=5)))
        c = await _until(lambda: coverage("warranty", 2))
        assert c, "a diagnosis without exclusion did not restore the intake's coverage"

        r = await client.put(f"/v1/tickets/{t['ticket_no']}/coverage", headers=agent,
                             json={"coverage": "paid", "reason": "customer admitted dropping the unit"})
        assert r.status_code == 200 and r.json()["coverage"] == "paid", r.text
        await send(diagnosed(3, [], "supplier_part", now + timedelta(minutes=10)))
        await _until(lambda: admin_db.fetchval(
            "SELECT root_cause = 'supplier_part' AND coverage = 'paid' FROM ticketing.tickets WHERE id = $1",
            uuid.UUID(t["id"])), timeout=WAIT)
        c = (await client.get(f"/v1/tickets/{t['id']}/coverage", headers=agent)).json()
        assert c["coverage"] == "paid" and [x["source"] for x in c["changes"]] == ["diagnosis", "diagnosis",
                                                                                   "override"]


@pytest.mark.integration
async def test_call_center_overrides_coverage_with_a_reason_audited(client, admin_db, auth_headers):
    admin, agent = auth_headers("admin"), auth_headers("call_center", sub="agent-7")
    await seed_line(client, admin)
    await seed_unit(client, agent, serial="SN-COV-1", dealer="D1")
    t = (await client.post("/v1/tickets", json=ticket_body(serial="SN-COV-1"), headers=agent)).json()
    url = f"/v1/tickets/{t['id']}/coverage"
    r = await client.put(url, headers=agent, json={"coverage": "paid", "reason": "unit opened by a third party"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["coverage"], body["coverage_reason"]) == ("paid", "unit opened by a third party")
    assert [(c["source"], c["from_coverage"], c["to_coverage"], c["actor"]) for c in body["changes"]] == [
        ("override", "warranty", "paid", "agent-7")]
    again = await client.put(url, headers=agent, json={"coverage": "paid", "reason": "same again"})
    assert again.status_code == 200 and len(again.json()["changes"]) == 1  # no change, no audit row, no event
    events = await _coverage_events(admin_db, t["id"])
    assert [(e["to_coverage"], e["source"], e["reason"], e["actor"]) for e in events] == [
        ("paid", "override", "unit opened by a third party", "agent-7")]
    assert (await client.get(f"/v1/tickets/{t['id']}", headers=agent)).json()["coverage"] == "paid"
    # the dealer reads its own ticket's coverage; it may not override; bad input names the field
    d1 = auth_headers("dealer", dealer_id="D1")
    assert (await client.get(url, headers=d1)).status_code == 200
    assert (await client.get(url, headers=auth_headers("dealer", dealer_id="D9"))).status_code == 404
    assert (await client.put(url, headers=d1, json={"coverage": "warranty", "reason": "goodwill"})).status_code == 403
    r = await client.put(url, headers=agent, json={"coverage": "free", "reason": "goodwill"})
    assert r.status_code == 422 and "coverage" in r.text
    r = await client.put(url, headers=agent, json={"coverage": "warranty"})
    assert r.status_code == 422 and "reason" in r.text
    assert (await client.put("/v1/tickets/T-NOPE/coverage", headers=agent,
                             json={"coverage": "paid", "reason": "goodwill"})).status_code == 404


@pytest.mark.integration
async def test_R_W8_diagnosis_naming_a_part_fitted_under_warranty_makes_the_out_of_warranty_ticket_covered(
        infra_settings, admin_db, auth_headers):
    """Through the real topic: the unit's 12 months are over (sold 18 months ago) and the ticket is paid at intake,
    but the fan was replaced under warranty 7 months ago (``dispatch.job.completed``, the catalogue's 12-month
    parts warranty). A diagnosis naming only the control board changes nothing (not covered); the revised one
    naming the fan makes the ticket warranty for that component, ``coverage_changed`` saying why."""
    from datetime import date

    from aftersales_shared.events.dispatch import JobCompleted
    from ticketing.domain.warranty import add_months

    admin, agent = auth_headers("admin"), auth_headers("call_center", sub="agent-1")
    s = settings(infra_settings, run_relay=False, run_consumers=True,
                 kafka=infra_settings("ticketing", **own_kafka("cov8"))["kafka"])
    await start_at_end((s, consumer_specs(s)))
    app = create_app(s)
    sfx = uuid.uuid4().hex[:8]
    serial, engineer, old_job, job_id, dealer = f"SN-W8{sfx}", f"E-{sfx}", f"J-OLD{sfx}", f"J-{sfx}", f"D{sfx}"
    today = date.today()
    fitted_at = datetime.combine(add_months(today, -7), datetime.min.time(), UTC) + timedelta(hours=4)
    async with running(app) as client:
        await reset_schema(admin_db, "ticketing")
        await seed_line(client, admin)
        await seed_unit(client, agent, serial=serial, dealer=dealer, sold_on=add_months(today, -18))
        await asyncio.wait_for(app.state.consumers[0].ready.wait(), timeout=WAIT)
        await ensure_topics(s.kafka.bootstrap_servers, ["dispatch.job.v1"])
        producer = AIOKafkaProducer(bootstrap_servers=s.kafka.bootstrap_servers)
        await producer.start()

        async def send(*events) -> None:
            for e in events:
                await producer.send_and_wait("dispatch.job.v1", e.to_json().encode(), key=e.aggregate_id.encode())

        try:
            await send(JobCompleted(aggregate_id=old_job, payload={
                "job_id": old_job, "ticket_id": str(uuid.uuid4()), "engineer_id": engineer, "dealer_id": dealer,
                "at": fitted_at, "serial": serial, "product_line": "AC", "coverage": "warranty", "home_visit": True,
                "work_done": "replaced the fan", "parts_used": [{"part_no": "FAN-77"}], "components": ["fan"]}))
            assert await _until(lambda: admin_db.fetchval(
                "SELECT count(*) FROM ticketing.unit_repairs WHERE job_id = $1", old_job)), "repair not recorded"
            t = (await client.post("/v1/tickets", json=ticket_body(serial=serial), headers=agent)).json()
            assert t["coverage"] == "paid", t  # the unit is out of warranty

            def diagnosed(revision: int, component: str) -> JobDiagnosed:
                return JobDiagnosed(aggregate_id=job_id, payload={
                    "job_id": job_id, "ticket_id": t["id"], "engineer_id": engineer,
                    "at": datetime.now(UTC) + timedelta(seconds=revision), "serial": serial, "product_line": "AC",
                    "components": [{"component": component}], "root_cause": "supplier_part", "exclusions": [],
                    "evidence": [], "revision": revision})

            board = diagnosed(1, "control_board")
            await send(board, board, diagnosed(2, "fan"))
        finally:
            await producer.stop()

        async def covered():
            c = (await client.get(f"/v1/tickets/{t['id']}/coverage", headers=agent)).json()
            return c if c["coverage"] == "warranty" else None

        c = await _until(covered)
        assert c, "the diagnosed fan's parts warranty did not cover the ticket"
        assert [(x["source"], x["from_coverage"], x["to_coverage"]) for x in c["changes"]] == [
            ("diagnosis", "paid", "warranty")]
        assert "fan" in c["coverage_reason"] and "parts warranty" in c["coverage_reason"], c["coverage_reason"]
        events = await _coverage_events(admin_db, t["id"])
        assert [(e["to_coverage"], e["job_id"]) for e in events] == [("warranty", job_id)]
        assert "R-W8" in events[0]["reason"] and "fan" in events[0]["reason"]
