"""R-S6 (issue 16): a spare lent to a job whose ticket is then cancelled does not stay lent until someone converts
it: it is due back at once (on the overdue list, its once-per-loan reminder fires) and ops collect it back into the
pool. Real Postgres and the app's own HTTP API; the events are read from the outbox."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.spares import service as spares

from .conftest import uniq
from .test_spares import act, centre, on_site, outbox, register

pytestmark = pytest.mark.integration


async def cancel(client, job):
    async with unit_of_work(client.app.state.sessions) as s:
        await jobs.cancel_job(s, job.ticket_id, "customer withdrew", clock.now(), cfg=client.app.state.dispatch_cfg)


async def test_R_S6_a_cancelled_jobs_spare_is_due_back_at_once_reminded_once_and_collected(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    line = uniq("aircon")
    ops = auth_headers("ops", sub="ops-1")
    async with running(create_app(dispatch_settings())) as client:
        await centre(client, admin, "C1")
        spare = await register(client, admin, uniq("SP"), line, "C1", loan_hours=500)
        job, eng = await on_site(client, admin, auth_headers, line, uniq("E"))
        assert (await act(client, job, eng, "lend_spare", spare_id=spare["id"])).status_code == 200
        assert (await client.get("/v1/spares", params={"overdue": "true"}, headers=ops)).json() == []
        r = await client.post(f"/v1/spares/{spare['id']}/collect", json={}, headers=admin)
        assert r.status_code == 409 and r.json()["field"] == "spare_id"  # open job: its engineer collects it

        before = clock.now()
        await cancel(client, job)
        got = (await client.get(f"/v1/spares/{spare['id']}", headers=ops)).json()
        assert got["status"] == "lent" and got["overdue"] is True
        assert before <= datetime.fromisoformat(got["due_back_at"]) <= clock.now()  # due now, not in 500 h
        overdue = (await client.get("/v1/spares", params={"overdue": "true"}, headers=ops)).json()
        assert [(s["id"], s["job_id"]) for s in overdue] == [(spare["id"], job.id)]
        for _ in range(2):  # the background step again and again, and racing: one reminder for the loan
            async with unit_of_work(client.app.state.sessions) as s:
                await spares.remind_overdue(s, clock.now())
        await asyncio.gather(*[_remind(client) for _ in range(2)])
        sent = await outbox(admin_db, job.id, "spare_unit_overdue")
        assert [(p["spare_id"], p["serial"]) for p in sent] == [(spare["id"], spare["serial"])]

        r = await client.post(f"/v1/spares/{spare['id']}/collect", json={"condition": "fair"},
                              headers=auth_headers("engineer", sub="x", engineer_id="x"))
        assert r.status_code == 403
        r = await client.post(f"/v1/spares/{spare['id']}/collect", json={"condition": "broken"}, headers=admin)
        assert r.status_code == 422 and r.json()["field"].endswith("condition")
        r = await client.post(f"/v1/spares/{spare['id']}/collect", json={"condition": "fair"}, headers=admin)
        assert r.status_code == 200, r.text
        back = r.json()
        assert (back["status"], back["condition"], back["job_id"], back["location"]) == (
            "available", "fair", None, "centre:C1")
        assert [p["reason"] for p in await outbox(admin_db, job.id, "spare_unit_collected")] == [spare["serial"]]
        assert (await client.get("/v1/spares", params={"overdue": "true"}, headers=ops)).json() == []
        r = await client.post(f"/v1/spares/{spare['id']}/collect", json={}, headers=admin)
        assert r.status_code == 409 and r.json()["code"] == "no_spare_lent"
        loan = await admin_db.fetchrow("SELECT outcome, condition_back FROM dispatch.spare_loans WHERE spare_id = $1",
                                       spare["id"])
        assert (loan["outcome"], loan["condition_back"]) == ("collected", "fair")
        pool = (await client.get("/v1/spares", params={"status": "available", "product_line": line},
                                 headers=ops)).json()
        assert [s["id"] for s in pool] == [spare["id"]]  # back in the pool, to be lent again


async def _remind(client):
    async with unit_of_work(client.app.state.sessions) as s:
        await spares.remind_overdue(s, clock.now())
