"""Records kept as the contract says (R-T4, issue 16) in dispatch: the daily retention job archives the closed jobs
past their contract's retention years (a contract term, at least 5; the configured default otherwise) — the job
with its service record, actions and offers as one append-only document — and reports its run; once per business
day however many replicas run it; an open job, a job of a longer-retention contract and a job whose spare is still
out stay live. Real Postgres and the app's HTTP API."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import asyncpg
import pytest

from aftersales_shared import clock
from aftersales_shared.retention import years_before
from aftersales_shared.testing.plugin import running
from dispatch.contracts import service as contracts
from dispatch.main import create_app
from dispatch.retention import service as retention

from .conftest import RECORD, action, engineer_body, ticket, uniq
from .test_contract_terms import hdr, open_job, put_terms
from .test_spares import act, centre, on_site, register
from .test_spares_cancelled import cancel

pytestmark = pytest.mark.integration


async def completed(client, admin, auth_headers, skill, *, contract=None):
    eid = uniq("E")
    r = await client.put(f"/v1/engineers/{eid}", json=engineer_body(skill), headers=admin)
    assert r.status_code == 200, r.text
    job = await open_job(client, ticket(skill, contract=contract))
    eng = auth_headers("engineer", sub=eid, engineer_id=eid)
    for body in (action("accept"), action("arrive", lat=31.23, lon=121.47), action("complete", record=RECORD)):
        r = await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)
        assert r.status_code == 200, r.text
    return job


async def run(client, today, **limits):
    return await retention.run_day(client.app.state.sessions, today=today, now=clock.now(),
                                   defaults=contracts.defaults_of(client.app.state.dispatch_cfg), **limits)


async def test_R_T4_closed_jobs_past_their_contracts_retention_are_archived_once_a_day_with_a_report(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    skill, long_kept = uniq("wash"), uniq("K")
    ops = hdr(auth_headers, "ops")
    async with running(create_app(dispatch_settings())) as client:
        await put_terms(client, ops, long_kept, {"retention_years": 4}, status=422)  # R-T4: at least 5 years
        await put_terms(client, ops, long_kept, {"retention_years": 10})
        # each job its own product line, so each is offered to its own engineer
        done = await completed(client, admin, auth_headers, uniq("wash"))
        kept = await completed(client, admin, auth_headers, uniq("wash"), contract=long_kept)
        withdrawn = await open_job(client, ticket(uniq("noone")))
        await cancel(client, withdrawn)
        still_open = await open_job(client, ticket(uniq("noone")))
        await centre(client, admin, "C1")
        spare = await register(client, admin, uniq("SP"), skill, "C1")
        out, eng = await on_site(client, admin, auth_headers, skill, uniq("E"))
        assert (await act(client, out, eng, "lend_spare", spare_id=spare["id"])).status_code == 200
        await cancel(client, out)  # cancelled with its spare still at the customer's

        today = clock.business_today()
        assert (await run(client, today))["jobs_archived"] == 0  # nothing is five years old yet
        later = today + timedelta(days=366 * 6)  # six years on: past the default five, not the contract's ten
        runs = await asyncio.gather(run(client, later), run(client, later))  # two replicas the same day
        report = next(r for r in runs if r is not None)
        assert [r is None for r in runs].count(True) == 1
        assert (report["jobs_archived"], report["service_records_archived"]) == (2, 1)
        details = report["details"]
        assert details["jobs_held_back"] == 1 and details["rows_archived"]["service_records"] == 1
        assert details["retention"][long_kept] == {"years": 10, "cutoff": years_before(later, 10).isoformat()}
        assert details["retention"]["(none)"]["years"] == 5

        archived = {r["record_id"]: r for r in await admin_db.fetch(
            "SELECT record_id, closed_on, document::text AS d FROM dispatch.archived_records WHERE kind = 'job'")}
        assert set(archived) == {done.id, withdrawn.id}
        doc = json.loads(archived[done.id]["d"])
        assert doc["service_record"]["work_done"] == RECORD["work_done"] and doc["customer_name"] == "Li Lei"
        assert [a["action"] for a in doc["actions"]] == ["accept", "arrive", "complete"]
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.service_records WHERE job_id = $1",
                                       done.id) == 0
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.job_actions WHERE job_id = $1", done.id) == 0
        tomb = await admin_db.fetchrow("SELECT customer_name, phone, archived_at FROM dispatch.jobs WHERE id = $1",
                                       done.id)
        assert (tomb["customer_name"], tomb["phone"]) == ("", "") and tomb["archived_at"] is not None
        live = {r["id"] for r in await admin_db.fetch("SELECT id FROM dispatch.jobs WHERE archived_at IS NULL")}
        assert {kept.id, still_open.id, out.id} <= live
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.service_records WHERE job_id = $1",
                                       kept.id) == 1

        for sql in ("UPDATE dispatch.archived_records SET document = '{}' WHERE record_id = $1",
                    "DELETE FROM dispatch.archived_records WHERE record_id = $1"):
            with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="R-T4"):
                await admin_db.execute(sql, done.id)
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="R-T4"):  # not archived: kept
            await admin_db.execute("DELETE FROM dispatch.service_records WHERE job_id = $1", kept.id)

        listed = (await client.get("/v1/retention/runs", headers=ops)).json()
        assert [(r["run_on"], r["jobs_archived"]) for r in listed] == [(later.isoformat(), 2), (today.isoformat(), 0)]
        assert (await client.get("/v1/retention/runs", headers=hdr(auth_headers, "dealer"))).status_code == 403
        assert await run(client, later + timedelta(days=1)) is not None  # the next day: nothing left to move
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.archived_records") == 2
