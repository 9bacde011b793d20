"""Issue 15 in dispatch, against the real stack: the engineer's diagnosis (R-T3 root cause, R-W3 exclusions with
evidence) and ticketing's coverage decision kept on the job."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.events.ticketing import TicketCoverageChangedPayload
from aftersales_shared.testing.plugin import running
from dispatch.domain.job_lifecycle import OPEN_STATUSES, TERMINAL
from dispatch.domain.repair_lifecycle import DIAGNOSABLE, may_diagnose, points_to_paid
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.repairs import service as repairs

from .conftest import RECORD, action, engineer_body, hear_parts, ticket, uniq

pytestmark = pytest.mark.integration

SPILL = {"components": [{"component": "control_board", "part_no": "PCB-1"}], "root_cause": "customer",
         "exclusions": ["liquid_spill"], "evidence": ["photos/spill-1.jpg"], "note": "water on the board"}


def test_R_T3_diagnosis_is_allowed_only_while_the_engineer_holds_the_job():
    assert all(may_diagnose(s) for s in DIAGNOSABLE)
    assert not any(may_diagnose(s) for s in TERMINAL + ("queued", "offered"))
    assert set(DIAGNOSABLE) <= set(OPEN_STATUSES)


@pytest.mark.parametrize(("root_cause", "exclusions", "paid"), [
    ("supplier_part", [], False), ("workmanship", [], False), ("customer", [], True),
    ("supplier_part", ["liquid_spill"], True), (None, ["normal_wear"], True), (None, [], False)])
def test_R_W3_R_T3_which_findings_point_to_a_paid_repair(root_cause, exclusions, paid):
    assert points_to_paid(root_cause, exclusions) is paid


async def _job_on_site(client, admin, auth_headers, coverage="warranty"):
    skill = uniq("wash")
    eng_id = uniq("E")
    r = await client.put(f"/v1/engineers/{eng_id}", json=engineer_body(skill, dealer_id="D1"), headers=admin)
    assert r.status_code == 200, r.text
    app = client.app
    async with unit_of_work(app.state.sessions) as s:
        job = await jobs.open_job(s, app.state.dispatch_cfg, ticket(skill).model_copy(update={"coverage": coverage}),
                                  clock.now())
    eng = auth_headers("engineer", sub=eng_id, engineer_id=eng_id)
    return job, eng


async def test_R_W3_diagnosis_recorded_revised_and_announced(clean, dispatch_settings, admin, auth_headers, admin_db):
    async with running(create_app(dispatch_settings())) as client:
        job, eng = await _job_on_site(client, admin, auth_headers)
        # offered, not yet accepted: no diagnosis
        r = await client.put(f"/v1/jobs/{job.id}/diagnosis", json=SPILL, headers=eng)
        assert r.status_code == 409 and r.json()["code"] == "job_state", r.text
        for body in (action("accept"), action("arrive", lat=31.23, lon=121.47)):
            assert (await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)).status_code == 200
        assert (await client.get(f"/v1/jobs/{job.id}/diagnosis", headers=eng)).status_code == 404
        other = auth_headers("engineer", sub="E-other", engineer_id="E-other")
        assert (await client.put(f"/v1/jobs/{job.id}/diagnosis", json=SPILL, headers=other)).status_code == 404
        # an exclusion without evidence is refused, naming the field
        r = await client.put(f"/v1/jobs/{job.id}/diagnosis", json={**SPILL, "evidence": []}, headers=eng)
        assert r.status_code == 422 and r.json()["field"] == "evidence", r.text
        r = await client.put(f"/v1/jobs/{job.id}/diagnosis", json={**SPILL, "exclusions": ["wet"]}, headers=eng)
        assert r.status_code == 422, r.text
        r = await client.put(f"/v1/jobs/{job.id}/diagnosis", json={**SPILL, "root_cause": "weather"}, headers=eng)
        assert r.status_code == 422, r.text

        r = await client.put(f"/v1/jobs/{job.id}/diagnosis", json=SPILL, headers=eng)
        assert r.status_code == 200, r.text
        first = r.json()
        assert (first["revision"], first["root_cause"], first["exclusions"], first["points_to_paid"]) == (
            1, "customer", ["liquid_spill"], True)
        assert first["coverage"] == "warranty"  # ticketing decides; dispatch has not heard yet
        again = await client.put(f"/v1/jobs/{job.id}/diagnosis", json=SPILL, headers=eng)  # a resend
        assert again.status_code == 200 and again.json()["revision"] == 1
        revised = {**SPILL, "exclusions": [], "root_cause": "supplier_part", "evidence": []}
        r = await client.put(f"/v1/jobs/{job.id}/diagnosis", json=revised, headers=eng)
        assert r.status_code == 200 and r.json()["revision"] == 2 and r.json()["points_to_paid"] is False

        rows = await admin_db.fetch("SELECT event_type, payload FROM dispatch.outbox WHERE key = $1 "
                                    "AND event_type = 'dispatch.job.diagnosed' ORDER BY id", job.id)
        payloads = [json.loads(x["payload"])["payload"] for x in rows]
        assert [(p["revision"], p["exclusions"], p["root_cause"]) for p in payloads] == [
            (1, ["liquid_spill"], "customer"), (2, [], "supplier_part")]  # the resend emitted nothing
        assert payloads[0]["components"] == [{"component": "control_board", "part_no": "PCB-1"}]
        assert payloads[0]["evidence"] == ["photos/spill-1.jpg"] and payloads[0]["serial"] == job.serial
        dealer = auth_headers("dealer", dealer_id="D1")
        assert (await client.get(f"/v1/jobs/{job.id}/diagnosis", headers=dealer)).json()["revision"] == 2
        assert (await client.get(f"/v1/jobs/{job.id}/diagnosis",
                                 headers=auth_headers("dealer", dealer_id="D9"))).status_code == 404


async def test_coverage_changed_is_kept_on_the_job_and_reaches_the_completion(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """ticketing.ticket.coverage_changed: the job carries the new coverage and reason (a late, older decision
    changes nothing); JobCompleted reports them with the diagnosed components, for settlement and parts."""
    async with running(create_app(dispatch_settings())) as client:
        job, eng = await _job_on_site(client, admin, auth_headers)
        for body in (action("accept"), action("arrive", lat=31.23, lon=121.47)):
            assert (await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)).status_code == 200
        assert (await client.put(f"/v1/jobs/{job.id}/diagnosis", json=SPILL, headers=eng)).status_code == 200
        now = datetime.now(UTC)

        def change(to: str, at: datetime, reason: str) -> TicketCoverageChangedPayload:
            return TicketCoverageChangedPayload(
                ticket_id=job.ticket_id, ticket_no=job.ticket_no, serial=job.serial, job_id=job.id,
                from_coverage="warranty", to_coverage=to, source="diagnosis", reason=reason, actor="t",
                changed_at=at)

        async with unit_of_work(client.app.state.sessions) as s:
            await repairs.coverage_changed(s, change("paid", now, "exclusion found on site (R-W3): liquid"))
        async with unit_of_work(client.app.state.sessions) as s:  # older, arriving late
            await repairs.coverage_changed(s, change("warranty", now - timedelta(seconds=5), "stale"))
        seen = (await client.get(f"/v1/jobs/{job.id}/diagnosis", headers=eng)).json()
        assert (seen["coverage"], seen["coverage_reason"]) == ("paid", "exclusion found on site (R-W3): liquid")
        await _accepted_quote(client, job, eng, admin)  # R-W3/R-T3: now paid, the work is quoted first
        r = await client.post(f"/v1/jobs/{job.id}/actions", json=action("complete", record={
            **RECORD, "root_cause": None}), headers=eng)
        assert r.status_code == 200, r.text
        payload = json.loads(await admin_db.fetchval(
            "SELECT payload FROM dispatch.outbox WHERE key = $1 AND event_type = 'dispatch.job.completed'", job.id
        ))["payload"]
        assert (payload["coverage"], payload["coverage_reason"], payload["components"], payload["root_cause"]) == (
            "paid", "exclusion found on site (R-W3): liquid", ["control_board"], "customer")


CARD = {"labour_per_hour": "120.00", "visit_fee": "50.00", "declined_visit_fee": "30.00", "shipping_fee": "80.00",
        "customer_shipping_share": "1", "quote_valid_hours": 48}
QUOTE = {"labour_minutes": 50, "parts": [{"part_no": "PCB-1", "description": "control board", "quantity": 1,
                                          "list_price": "260.00"}]}


async def _on_site(client, job, eng):
    await hear_parts(client, "PCB-1", list_price="260.00")  # the quoted part, as the parts catalogue lists it
    for body in (action("accept"), action("arrive", lat=31.23, lon=121.47)):
        assert (await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)).status_code == 200


async def _accepted_quote(client, job, eng, admin) -> dict:
    await hear_parts(client, "PCB-1", list_price="260.00")
    today = clock.business_date(clock.now())
    assert (await client.put(f"/v1/rate-cards/{job.product_line}/{today}", headers=admin,
                             json=CARD)).status_code == 200
    q = (await client.post(f"/v1/jobs/{job.id}/quotes", json=QUOTE, headers=eng)).json()
    r = await client.post(f"/v1/jobs/{job.id}/quotes/{q['id']}/accept", headers=eng,
                          json={"signature_ref": "sig/1.png", "signed_by": "Zhang Min"})
    assert r.status_code == 200, r.text
    return r.json()


async def test_R_W3_R_T3_a_paid_job_is_not_completed_without_a_decided_quote(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    """R-W3/R-T3: paid work is quoted first — completing a paid job with no quote, or only a presented one, is a
    409 naming ``quote`` (nothing written); after the customer accepts, it completes. A remote resolve of a paid
    job needs no quote (no work on site; quotes are presented only on site)."""
    async with running(create_app(dispatch_settings())) as client:
        job, eng = await _job_on_site(client, admin, auth_headers, coverage="paid")
        await _on_site(client, job, eng)
        done = action("complete", record=RECORD)
        r = await client.post(f"/v1/jobs/{job.id}/actions", json=done, headers=eng)
        assert r.status_code == 409 and r.json()["field"] == "quote" and r.json()["code"] == "quote_required", r.text
        today = clock.business_date(clock.now())
        assert (await client.put(f"/v1/rate-cards/{job.product_line}/{today}", headers=admin,
                                 json=CARD)).status_code == 200
        q = (await client.post(f"/v1/jobs/{job.id}/quotes", json=QUOTE, headers=eng)).json()
        r = await client.post(f"/v1/jobs/{job.id}/actions", json=action("complete", record=RECORD), headers=eng)
        assert r.status_code == 409 and r.json()["field"] == "quote", r.text  # presented is not decided
        assert (await client.get(f"/v1/jobs/{job.id}", headers=eng)).json()["status"] == "on_site"
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.service_records WHERE job_id = $1",
                                       job.id) == 0
        r = await client.post(f"/v1/jobs/{job.id}/quotes/{q['id']}/accept", headers=eng,
                              json={"signature_ref": "sig/1.png", "signed_by": "Zhang Min"})
        assert r.status_code == 200, r.text
        r = await client.post(f"/v1/jobs/{job.id}/actions", json=done, headers=eng)
        assert r.status_code == 200 and r.json()["status"] == "completed", r.text

        remote, eng_r = await _job_on_site(client, admin, auth_headers, coverage="paid")
        assert (await client.post(f"/v1/jobs/{remote.id}/actions", json=action("accept"),
                                  headers=eng_r)).status_code == 200
        r = await client.post(f"/v1/jobs/{remote.id}/actions", json=action("remote_resolve", record=RECORD),
                              headers=eng_r)
        assert r.status_code == 200, r.text


async def test_paid_repair_quote_accepted_signed_and_paid(clean, dispatch_settings, admin, auth_headers, admin_db):
    """Issue 15 item 2: the rate card is effective-dated data; a quote on a paid job (labour by the card, parts at
    list price, visit fee), supersede, accept with signature, payments up to what is due, the revenue report."""
    async with running(create_app(dispatch_settings())) as client:
        covered, eng_c = await _job_on_site(client, admin, auth_headers)
        job, eng = await _job_on_site(client, admin, auth_headers, coverage="paid")
        await _on_site(client, covered, eng_c)
        r = await client.post(f"/v1/jobs/{covered.id}/quotes", json=QUOTE, headers=eng_c)
        assert r.status_code == 409 and r.json()["code"] == "not_paid", r.text
        r = await client.post(f"/v1/jobs/{job.id}/quotes", json=QUOTE, headers=eng)
        assert r.status_code == 409 and r.json()["code"] == "job_state", r.text  # not on site yet
        await _on_site(client, job, eng)
        r = await client.post(f"/v1/jobs/{job.id}/quotes", json=QUOTE, headers=eng)
        assert r.status_code == 409 and r.json()["code"] == "no_rate_card", r.text
        today = clock.business_date(clock.now())
        line = job.product_line
        r = await client.put(f"/v1/rate-cards/{line}/{today - timedelta(days=30)}", headers=admin,
                             json={**CARD, "labour_per_hour": "90.00"})
        assert r.status_code == 200, r.text
        r = await client.put(f"/v1/rate-cards/{line}/{today}", headers=admin, json=CARD)
        assert r.status_code == 200, r.text
        r = await client.put(f"/v1/rate-cards/{line}/{today + timedelta(days=30)}", headers=admin,
                             json={**CARD, "labour_per_hour": "150.00"})
        assert r.status_code == 200, r.text
        assert (await client.put(f"/v1/rate-cards/{line}/{today}", headers=eng, json=CARD)).status_code == 403
        r = await client.put(f"/v1/rate-cards/{line}/{today}", headers=admin,
                             json={**CARD, "customer_shipping_share": "1.5"})
        assert r.status_code == 422, r.text
        cards = (await client.get(f"/v1/rate-cards/{line}", headers=eng)).json()
        assert [c["labour_per_hour"] for c in cards] == ["90.00", "120.00", "150.00"]

        key = {"Idempotency-Key": uniq("quote-key")}
        first = await client.post(f"/v1/jobs/{job.id}/quotes", json={**QUOTE, "labour_minutes": 30}, headers=eng)
        assert first.status_code == 201, first.text
        r = await client.post(f"/v1/jobs/{job.id}/quotes", json={**QUOTE, "ship_in": True}, headers={**eng, **key})
        again = await client.post(f"/v1/jobs/{job.id}/quotes", json={**QUOTE, "ship_in": True},
                                  headers={**eng, **key})
        assert r.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        q = r.json()
        assert again.json()["id"] == q["id"]
        assert [(ln["kind"], ln["amount"]) for ln in q["lines"]] == [
            ("labour", "100.00"), ("part", "260.00"), ("visit_fee", "50.00"), ("shipping", "80.00")]
        assert (q["status"], q["total"], q["declined_fee"], q["rate_card_from"]) == (
            "presented", "490.00", "30.00", today.isoformat())
        quotes = (await client.get(f"/v1/jobs/{job.id}/quotes", headers=admin)).json()
        assert [x["status"] for x in quotes] == ["superseded", "presented"]
        r = await client.post(f"/v1/jobs/{job.id}/quotes/{first.json()['id']}/accept", headers=eng,
                              json={"signature_ref": "sig/1.png", "signed_by": "Zhang Min"})
        assert r.status_code == 409 and r.json()["code"] == "quote_state", r.text
        r = await client.post(f"/v1/jobs/{job.id}/payments", headers=eng,
                              json={"amount": "10.00", "method": "cash", "receipt_no": uniq("R")})
        assert r.status_code == 409 and r.json()["code"] == "nothing_due", r.text
        r = await client.post(f"/v1/jobs/{job.id}/quotes/{q['id']}/accept", headers=eng, json={"signed_by": "Z"})
        assert r.status_code == 422, r.text  # unsigned
        r = await client.post(f"/v1/jobs/{job.id}/quotes/{q['id']}/accept", headers=eng,
                              json={"signature_ref": "sig/1.png", "signed_by": "Zhang Min"})
        assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["amount_due"] == "490.00"
        receipt = uniq("R")
        r = await client.post(f"/v1/jobs/{job.id}/payments", headers=eng,
                              json={"amount": "500.00", "method": "wechat", "receipt_no": receipt})
        assert r.status_code == 422 and r.json()["field"] == "amount", r.text
        pay = {"amount": "400.00", "method": "wechat", "receipt_no": receipt}
        r1 = await client.post(f"/v1/jobs/{job.id}/payments", headers=eng, json=pay)
        r2 = await client.post(f"/v1/jobs/{job.id}/payments", headers=eng, json=pay)
        assert r1.status_code == r2.status_code == 201 and r2.headers["Idempotent-Replayed"] == "true", r2.text
        r = await client.post(f"/v1/jobs/{job.id}/payments", headers=eng, json={**pay, "amount": "90.00"})
        assert r.status_code == 409 and r.json()["code"] == "duplicate_receipt", r.text
        r = await client.post(f"/v1/jobs/{job.id}/payments", headers=admin,
                              json={"amount": "90.00", "method": "cash", "receipt_no": uniq("R")})
        assert r.status_code == 201, r.text
        assert (await client.post(f"/v1/jobs/{job.id}/payments", headers=eng_c, json={
            "amount": "1.00", "method": "cash", "receipt_no": uniq("R")})).status_code == 404  # not its job
        seen = (await client.get(f"/v1/jobs/{job.id}/quotes", headers=eng)).json()[-1]
        assert (seen["paid"], seen["amount_due"], seen["signature_ref"]) == ("490.00", "490.00", "sig/1.png")

        report = (await client.get("/v1/reports/paid-repairs", headers=admin,
                                   params={"date_from": str(today), "date_to": str(today)})).json()
        assert (report["quotes_presented"], report["quotes_accepted"], report["quoted_total"], report["revenue"],
                report["revenue_by_method"], report["outstanding"]) == (
            2, 1, "490.00", "490.00", {"wechat": "400.00", "cash": "90.00"}, "0.00")
        types = await admin_db.fetch("SELECT event_type, payload FROM dispatch.outbox WHERE key = $1 "
                                     "AND event_type LIKE 'dispatch.job.quote_%' ORDER BY id", job.id)
        events = [(t["event_type"], json.loads(t["payload"])["payload"]) for t in types]
        assert [(e, p["status"], p["total"]) for e, p in events] == [
            ("dispatch.job.quote_presented", "presented", "370.00"),
            ("dispatch.job.quote_presented", "presented", "490.00"),
            ("dispatch.job.quote_accepted", "accepted", "490.00")]


async def test_paid_repair_quote_declined_closes_the_job_with_the_visit_fee_due(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    async with running(create_app(dispatch_settings())) as client:
        job, eng = await _job_on_site(client, admin, auth_headers, coverage="paid")
        await _on_site(client, job, eng)
        today = clock.business_date(clock.now())
        assert (await client.put(f"/v1/rate-cards/{job.product_line}/{today}", headers=admin,
                                 json=CARD)).status_code == 200
        q = (await client.post(f"/v1/jobs/{job.id}/quotes", json=QUOTE, headers=eng)).json()
        await admin_db.execute("UPDATE dispatch.quotes SET valid_until = now() - interval '1 minute' WHERE id = $1",
                               q["id"])
        r = await client.post(f"/v1/jobs/{job.id}/quotes/{q['id']}/accept", headers=eng,
                              json={"signature_ref": "sig/1.png", "signed_by": "Zhang Min"})
        assert r.status_code == 409 and r.json()["code"] == "quote_expired", r.text
        r = await client.post(f"/v1/jobs/{job.id}/quotes/{q['id']}/decline", headers=eng,
                              json={"reason": "too expensive"})
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["amount_due"], r.json()["decline_reason"]) == (
            "declined", "30.00", "too expensive")
        again = await client.post(f"/v1/jobs/{job.id}/quotes/{q['id']}/decline", headers=eng, json={})
        assert again.status_code == 200 and again.json()["status"] == "declined"
        detail = (await client.get(f"/v1/jobs/{job.id}", headers=eng)).json()
        assert detail["status"] == "completed" and "declined" in detail["service_record"]["work_done"]
        r = await client.post(f"/v1/jobs/{job.id}/payments", headers=eng,
                              json={"amount": "30.00", "method": "cash", "receipt_no": uniq("R")})
        assert r.status_code == 201, r.text
        rows = await admin_db.fetch("SELECT event_type, payload FROM dispatch.outbox WHERE key = $1 AND event_type IN "
                                    "('dispatch.job.quote_declined', 'dispatch.job.completed') ORDER BY id", job.id)
        assert [r["event_type"] for r in rows] == ["dispatch.job.quote_declined", "dispatch.job.completed"]
        completed = json.loads(rows[1]["payload"])["payload"]
        assert (completed["outcome"], completed["coverage"], completed["labour_minutes"]) == (
            "quote_declined", "paid", 0)
