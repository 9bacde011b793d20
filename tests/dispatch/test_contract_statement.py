"""R-S9 (issue 16): every credit to a customer's contract is announced once (``dispatch.contract.credit_issued``
through the outbox, however often its breach is delivered, racing), and the contract's monthly statement
(``GET /v1/contracts/{code}/credits?month=``) lists them by Shanghai month, paginated, with the totals to the fen —
waived ones shown as waived, not owed. Real Postgres and the app's HTTP API."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from aftersales_shared.events import dispatch as ev
from aftersales_shared.testing.plugin import running
from dispatch.main import create_app

from .conftest import ticket, uniq
from .test_contract_terms import deliver, hdr, open_job, register_contract

pytestmark = pytest.mark.integration


def breach(job, code, milestone, at):
    return ev.SlaBreached(aggregate_id=job.id, payload=ev.SlaPayload(
        job_id=job.id, ticket_id=job.ticket_id, at=at, milestone=milestone, deadline=at, contract_code=code))


async def credit_events(admin_db, code):
    rows = await admin_db.fetch("SELECT payload::text AS p FROM dispatch.outbox WHERE key = $1 AND "
                                "event_type = 'dispatch.contract.credit_issued' ORDER BY id", code)
    return [json.loads(r["p"])["payload"] for r in rows]


async def test_R_S9_credits_announced_once_and_the_monthly_statement_totals_to_the_fen_with_waivers(
        clean, dispatch_settings, auth_headers, admin_db):
    code, skill = uniq("K"), uniq("noone")
    ops, fin = hdr(auth_headers, "ops"), hdr(auth_headers, "finance")
    settings = dispatch_settings(contract_sla_penalty="fixed", contract_sla_penalty_amount="33.33")
    async with running(create_app(settings)) as client:
        await register_contract(client, code, headers=ops)
        jobs = [await open_job(client, ticket(skill, contract=code)) for _ in range(3)]
        nov_first = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)  # 1 November 00:30 in Shanghai
        events = [breach(jobs[0], code, "arrive", nov_first),
                  breach(jobs[1], code, "resolve", datetime(2026, 11, 15, 2, 0, tzinfo=UTC)),
                  breach(jobs[2], code, "arrive", datetime(2026, 11, 30, 16, 0, tzinfo=UTC))]  # 1 Dec, Shanghai
        for e in events:  # delivered, redelivered, and raced
            await deliver(client, e)
            await deliver(client, e)
            await asyncio.gather(deliver(client, e), deliver(client, e))
        sent = await credit_events(admin_db, code)
        assert sorted((p["job_id"], p["milestone"], p["amount"], p["basis"]) for p in sent) == sorted([
            (jobs[0].id, "arrive", "33.33", "fixed"), (jobs[1].id, "resolve", "33.33", "fixed"),
            (jobs[2].id, "arrive", "33.33", "fixed")])
        assert {p["customer_ref"] for p in sent} == {f"CUST-{code}"}

        nov = (await client.get(f"/v1/contracts/{code}/credits", params={"month": "2026-11"}, headers=fin)).json()
        assert (nov["month"], nov["count"], nov["total_credited"], nov["total_waived"]) == ("2026-11", 2, "66.66",
                                                                                          "0.00")
        assert nov["customer_name"] == "Acme Cold Chain" and nov["customer_ref"] == f"CUST-{code}"
        assert [c["job_id"] for c in nov["items"]] == [jobs[0].id, jobs[1].id]  # oldest first
        waived = nov["items"][1]["id"]
        r = await client.post(f"/v1/contract-credits/{waived}/waive", json={"kind": "force_majeure"}, headers=fin)
        assert r.status_code == 200, r.text

        nov = (await client.get(f"/v1/contracts/{code}/credits", params={"month": "2026-11"}, headers=fin)).json()
        assert (nov["count"], nov["total_credited"], nov["total_waived"]) == (2, "33.33", "33.33")
        assert [(c["job_id"], c["status"]) for c in nov["items"]] == [(jobs[0].id, "credited"),
                                                                      (jobs[1].id, "waived")]
        page = (await client.get(f"/v1/contracts/{code}/credits", params={"month": "2026-11", "limit": 1,
                                                                          "offset": 1}, headers=ops)).json()
        assert [c["id"] for c in page["items"]] == [waived]  # one page; the totals are the month's
        assert (page["count"], page["total_credited"], page["limit"], page["offset"]) == (2, "33.33", 1, 1)
        dec = (await client.get(f"/v1/contracts/{code}/credits", params={"month": "2026-12"}, headers=fin)).json()
        assert [c["job_id"] for c in dec["items"]] == [jobs[2].id] and dec["total_credited"] == "33.33"
        oct_ = (await client.get(f"/v1/contracts/{code}/credits", params={"month": "2026-10"}, headers=fin)).json()
        assert (oct_["items"], oct_["count"], oct_["total_credited"]) == ([], 0, "0.00")
        every = (await client.get(f"/v1/contracts/{code}/credits", headers=fin)).json()
        assert (every["month"], every["count"], every["total_credited"]) == (None, 3, "66.66")
        for bad in ("2026-13", "2026-1", "nov"):
            r = await client.get(f"/v1/contracts/{code}/credits", params={"month": bad}, headers=fin)
            assert r.status_code == 422 and r.json()["field"] == "month"
        assert len(await credit_events(admin_db, code)) == 3  # the waiver announces no new credit
