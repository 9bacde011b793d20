"""The registry of customer service contracts in dispatch (issue 16), against real Postgres and the app's HTTP API:
registered once (Idempotency-Key, a racing twin, a taken code), listed, read, updated with an audit of who, when,
what and why (a stale version, a status move the lifecycle forbids, inverted validity refused); terms only for a
registered code; a job naming an unregistered code is still dispatched on the default terms, records
``contract_known = false`` and is on the ops list."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.testing.plugin import running
from dispatch import metrics
from dispatch.main import create_app

from .conftest import engineer_body, ticket, uniq
from .test_contract_terms import hdr, open_job, register_contract

pytestmark = pytest.mark.integration


def body(code, **kw):
    return {"code": code, "customer_name": "Acme Cold Chain", "customer_ref": "CUST-1", "sla_tier": "gold",
            "valid_from": clock.business_today().isoformat(), **kw}


async def test_R_S9_a_contract_is_registered_once_listed_read_and_updated_audited(clean, dispatch_settings,
                                                                                   auth_headers):
    code, other = uniq("K"), uniq("K")
    ops, fin = hdr(auth_headers, "ops"), hdr(auth_headers, "finance")
    today = clock.business_today()
    async with running(create_app(dispatch_settings())) as client:
        key = {**ops, "Idempotency-Key": uniq("key-contract")}
        r = await client.post("/v1/contracts", json=body(code), headers=key)
        assert r.status_code == 201, r.text
        first = r.json()
        assert (first["status"], first["version"], first["created_by"]) == ("active", 1, "ops-1")
        again = await client.post("/v1/contracts", json=body(code), headers=key)
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first
        r = await client.post("/v1/contracts", json=body(code, sla_tier="silver"), headers=key)
        assert r.status_code == 409 and r.json()["field"] == "Idempotency-Key"
        r = await client.post("/v1/contracts", json=body(code), headers=ops)
        assert r.status_code == 409 and r.json()["field"] == "code"
        racing = await asyncio.gather(*[client.post("/v1/contracts", json=body(other), headers=ops)
                                        for _ in range(4)])
        assert sorted(x.status_code for x in racing) == [201, 409, 409, 409]
        r = await client.post("/v1/contracts", json=body(uniq("K"), valid_to=(today - timedelta(days=1)).isoformat()),
                              headers=ops)
        assert r.status_code == 422 and r.json()["field"] == "valid_to"
        r = await client.post("/v1/contracts", json=body("bad code!"), headers=ops)
        assert r.status_code == 422 and r.json()["field"].endswith("code")
        assert (await client.post("/v1/contracts", json=body(uniq("K")), headers=fin)).status_code == 403

        listed = (await client.get("/v1/contracts", headers=fin)).json()
        assert sorted(c["code"] for c in listed) == sorted([code, other])
        r = await client.get(f"/v1/contracts/{uniq('K')}", headers=fin)
        assert r.status_code == 404 and r.json()["field"] == "contract_code"

        r = await client.patch(f"/v1/contracts/{code}", json={"sla_tier": "platinum", "version": 1,
                                                               "valid_to": "2030-12-31", "reason": "renewed"},
                               headers=ops)
        assert r.status_code == 200, r.text
        assert (r.json()["sla_tier"], r.json()["version"], r.json()["valid_to"]) == ("platinum", 2, "2030-12-31")
        r = await client.patch(f"/v1/contracts/{code}", json={"status": "suspended", "version": 1}, headers=ops)
        assert r.status_code == 409 and r.json()["field"] == "version"
        r = await client.patch(f"/v1/contracts/{code}", json={"valid_to": "2000-01-01"}, headers=ops)
        assert r.status_code == 422 and r.json()["field"] == "valid_to"
        r = await client.patch(f"/v1/contracts/{code}", json={"reason": "nothing"}, headers=ops)
        assert r.status_code == 422
        r = await client.patch(f"/v1/contracts/{code}", json={"customer_name": None}, headers=ops)
        assert r.status_code == 422
        assert (await client.patch(f"/v1/contracts/{code}", json={"status": "ended"}, headers=ops)).status_code == 200
        r = await client.patch(f"/v1/contracts/{code}", json={"status": "active"}, headers=ops)
        assert r.status_code == 409 and r.json()["field"] == "status"  # ended is final
        assert (await client.patch(f"/v1/contracts/{code}", json={"status": "ended"}, headers=ops)).json()[
            "version"] == 3  # no change, no new version
        assert (await client.patch(f"/v1/contracts/{code}", json={"sla_tier": "x"}, headers=fin)).status_code == 403

        audit = (await client.get(f"/v1/contracts/{code}/changes", headers=fin)).json()
        assert [(a["version"], a["action"], a["actor"]) for a in audit] == [
            (1, "created", "ops-1"), (2, "updated", "ops-1"), (3, "updated", "ops-1")]
        assert audit[1]["changes"] == {"sla_tier": ["gold", "platinum"], "valid_to": [None, "2030-12-31"]}
        assert audit[1]["reason"] == "renewed" and audit[2]["changes"] == {"status": ["active", "ended"]}
        assert [c["code"] for c in (await client.get("/v1/contracts", params={"status": "ended"},
                                                     headers=ops)).json()] == [code]


async def test_R_S9_terms_only_for_a_registered_contract(clean, dispatch_settings, auth_headers):
    code = uniq("K")
    ops = hdr(auth_headers, "ops")
    change = {"effective_from": clock.business_today().isoformat(), "values": {"spare_entitled": True}}
    async with running(create_app(dispatch_settings())) as client:
        r = await client.put(f"/v1/contracts/{code}/terms", json=change, headers=ops)
        assert r.status_code == 404 and r.json()["field"] == "contract_code"
        assert r.json()["code"] == "contract_not_registered"
        assert (await client.get(f"/v1/contracts/{code}/terms/history", headers=ops)).json() == []  # nothing kept
        await register_contract(client, code, headers=ops)
        assert (await client.put(f"/v1/contracts/{code}/terms", json=change, headers=ops)).status_code == 201


async def test_R_S9_a_job_naming_an_unregistered_contract_is_dispatched_on_defaults_and_listed_for_ops(
        clean, dispatch_settings, admin, auth_headers):
    known, unknown, skill = uniq("K"), uniq("K"), uniq("hvac")
    ops = hdr(auth_headers, "ops")
    async with running(create_app(dispatch_settings())) as client:
        await register_contract(client, known, headers=ops)
        r = await client.put(f"/v1/engineers/{uniq('E')}", json=engineer_body(skill, max_jobs=5), headers=admin)
        assert r.status_code == 200, r.text
        counted = metrics.JOBS_UNKNOWN_CONTRACT._value.get()
        stray = await open_job(client, ticket(skill, contract=unknown))
        mine = await open_job(client, ticket(skill, contract=known))
        bare = await open_job(client, ticket(skill))
        assert (stray.contract_known, mine.contract_known, bare.contract_known) == (False, True, None)
        assert stray.status == "offered" and stray.engineer_id is not None  # never dropped: dispatched all the same
        assert metrics.JOBS_UNKNOWN_CONTRACT._value.get() == counted + 1
        terms = (await client.get(f"/v1/contracts/{unknown}/terms", headers=ops)).json()
        assert terms["version"] is None and terms["values"]["routing_flag_minutes"] == 120  # the defaults
        listed = (await client.get("/v1/unknown-contract-jobs", headers=ops)).json()
        assert [(j["job_id"], j["contract_code"], j["ticket_id"]) for j in listed] == [
            (stray.id, unknown, stray.ticket_id)]
        assert (await client.get("/v1/unknown-contract-jobs", headers=auth_headers("dealer", sub="D1",
                                                                                     dealer_id="D1"))
                ).status_code == 403
