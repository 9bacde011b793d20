"""R-S6 spare units as assets (issue 16): a pool per service centre, lent to a job from the pool and never twice at
once (a race), a job that cannot close while its spare is out, collection back into the pool, the overdue list and
its one reminder under a moved clock, conversion (sold / written off), the suggestion when the resolve deadline is at
risk. Real Postgres and the app's own HTTP API; the events are read from the outbox."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.spares import service as spares

from .conftest import RECORD, SITE, action, engineer_body, ticket, uniq

pytestmark = pytest.mark.integration


async def open_job(client, payload):
    async with unit_of_work(client.app.state.sessions) as s:
        return await jobs.open_job(s, client.app.state.dispatch_cfg, payload, clock.now())


async def centre(client, admin, cid, *, loc=SITE, dealer_id=None):
    r = await client.put(f"/v1/service-centres/{cid}", json={
        "name": cid, "dealer_id": dealer_id, "region_code": "310101", "lat": loc[0], "lon": loc[1]}, headers=admin)
    assert r.status_code == 200, r.text


async def register(client, headers, serial, line, centre_id, **kw):
    r = await client.post("/v1/spares", json={"serial": serial, "product_line": line, "centre_id": centre_id, **kw},
                          headers={**headers, "Idempotency-Key": uniq("key-spare")})
    assert r.status_code == 201, r.text
    return r.json()


async def on_site(client, admin, auth_headers, skill, eid, *, loc=SITE, contract=None):
    """An engineer ``eid`` on site at a new job of product line ``skill``; (job, the engineer's headers)."""
    r = await client.put(f"/v1/engineers/{eid}", json=engineer_body(skill, loc=loc), headers=admin)
    assert r.status_code == 200, r.text
    job = await open_job(client, ticket(skill, loc=loc, contract=contract))
    eng = auth_headers("engineer", sub=eid, engineer_id=eid)
    for body in (action("accept"), action("arrive", lat=loc[0], lon=loc[1])):
        r = await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)
        assert r.status_code == 200, r.text
    return job, eng


async def act(client, job, eng, kind, **kw):
    return await client.post(f"/v1/jobs/{job.id}/actions", json=action(kind, **kw), headers=eng)


async def outbox(admin_db, job_id, kind):
    rows = await admin_db.fetch("SELECT payload::text AS p FROM dispatch.outbox WHERE key = $1 AND event_type = $2",
                                job_id, f"dispatch.job.{kind}")
    return [json.loads(r["p"])["payload"] for r in rows]


async def test_R_S6_lend_from_pool_job_cannot_close_while_out_collect_back(clean, dispatch_settings, admin,
                                                                          auth_headers, admin_db):
    line = uniq("fridge")
    async with running(create_app(dispatch_settings())) as client:
        await centre(client, admin, "C1")
        spare = await register(client, admin, "SP-1", line, "C1", loan_hours=48)
        assert spare["status"] == "available" and spare["location"] == "centre:C1" and spare["loan_hours"] == 48
        other_line = await register(client, admin, "SP-TV", uniq("tv"), "C1")
        r = await client.post("/v1/spares", json={"serial": "SP-1", "product_line": line, "centre_id": "C1"},
                              headers=admin)
        assert r.status_code == 409 and r.json()["field"] == "serial"
        r = await client.post("/v1/spares", json={"serial": "SP-X", "product_line": line, "centre_id": "nope"},
                              headers=admin)
        assert r.status_code == 404 and r.json()["field"] == "centre_id"

        job, eng = await on_site(client, admin, auth_headers, line, "E1")
        r = await act(client, job, eng, "lend_spare", spare_id=other_line["id"])
        assert r.status_code == 422 and r.json()["field"] == "spare_id"  # another product line
        r = await act(client, job, eng, "lend_spare", spare_serial="FREE-TEXT-1")
        assert r.status_code == 404 and r.json()["field"] == "spare_serial"  # not in the pool: no free text
        r = await act(client, job, eng, "lend_spare")
        assert r.status_code == 422 and r.json()["field"] == "spare_id"

        r = await act(client, job, eng, "lend_spare", spare_serial="SP-1")  # by serial, or by id
        assert r.status_code == 200, r.text
        lent = (await client.get(f"/v1/spares/{spare['id']}", headers=admin)).json()
        assert lent["status"] == "lent" and lent["job_id"] == job.id and lent["location"] == f"job:{job.id}"
        assert lent["due_back_at"] and not lent["overdue"]
        assert (await client.get(f"/v1/jobs/{job.id}", headers=eng)).json()["spare_serial"] == "SP-1"

        # R-S6: the job cannot close while its spare is out; nothing of the close is written
        for kind in ("complete", "remote_resolve"):
            r = await act(client, job, eng, kind, record=RECORD)
            assert r.status_code == 409, r.text
            assert r.json()["code"] == "spare_out" and r.json()["field"] == "spare_id"
            assert "SP-1" in r.json()["detail"] and spare["id"] in r.json()["detail"]
        detail = (await client.get(f"/v1/jobs/{job.id}", headers=eng)).json()
        assert detail["status"] == "on_site" and detail["service_record"] is None

        r = await act(client, job, eng, "collect_spare", spare_condition="fair")
        assert r.status_code == 200, r.text
        back = (await client.get(f"/v1/spares/{spare['id']}", headers=admin)).json()
        assert (back["status"], back["condition"], back["job_id"], back["location"]) == (
            "available", "fair", None, "centre:C1")
        r = await act(client, job, eng, "complete", record=RECORD)
        assert r.status_code == 200 and r.json()["status"] == "completed"
    loans = await admin_db.fetch("SELECT job_id, outcome, condition_back, ended_at FROM dispatch.spare_loans")
    assert [(r["job_id"], r["outcome"], r["condition_back"]) for r in loans] == [(job.id, "collected", "fair")]
    lent = await outbox(admin_db, job.id, "spare_unit_lent")
    assert [p["reason"] for p in lent] == ["SP-1"]
    assert lent[0]["due_back_at"] and lent[0]["spare_id"]  # the customer is told when it is due back
    assert [p["reason"] for p in await outbox(admin_db, job.id, "spare_unit_collected")] == ["SP-1"]


async def test_R_S6_a_spare_is_never_lent_twice_at_once_race(clean, dispatch_settings, admin, auth_headers,
                                                             admin_db):
    """Two jobs lend the same spare at the same moment: exactly one wins, the other gets 409 naming the field."""
    line = uniq("washer")
    async with running(create_app(dispatch_settings())) as client:
        await centre(client, admin, "C1")
        spare = await register(client, admin, "SP-RACE", line, "C1")
        job_a, eng_a = await on_site(client, admin, auth_headers, line, "EA")
        job_b, eng_b = await on_site(client, admin, auth_headers, line, "EB", loc=(31.3, 121.5))
        for _ in range(3):  # a few rounds, the spare back in the pool after each
            ra, rb = await asyncio.gather(act(client, job_a, eng_a, "lend_spare", spare_id=spare["id"]),
                                          act(client, job_b, eng_b, "lend_spare", spare_id=spare["id"]))
            assert sorted((ra.status_code, rb.status_code)) == [200, 409], (ra.text, rb.text)
            loser = ra if ra.status_code == 409 else rb
            assert loser.json()["field"] == "spare_id" and loser.json()["code"] == "spare_unavailable"
            winner = (job_a, eng_a) if ra.status_code == 200 else (job_b, eng_b)
            got = (await client.get(f"/v1/spares/{spare['id']}", headers=admin)).json()
            assert got["status"] == "lent" and got["job_id"] == winner[0].id
            assert await admin_db.fetchval(
                "SELECT count(*) FROM dispatch.spare_loans WHERE ended_at IS NULL") == 1
            r = await act(client, *winner, "collect_spare")
            assert r.status_code == 200, r.text
        # the database itself refuses a second open loan of one spare, whatever the application does
        await act(client, job_a, eng_a, "lend_spare", spare_id=spare["id"])
        with pytest.raises(Exception, match="ux_spare_loans_open"):
            await admin_db.execute(
                "INSERT INTO dispatch.spare_loans (id, spare_id, job_id, lent_at, due_back_at) "
                "VALUES ('L-dup', $1, $2, now(), now())", spare["id"], job_b.id)


async def test_R_S6_overdue_list_and_one_reminder_with_the_moved_clock(clean, dispatch_settings, admin, auth_headers,
                                                                       admin_db):
    line = uniq("aircon")
    async with running(create_app(dispatch_settings())) as client:
        await centre(client, admin, "C1")
        late = await register(client, admin, "SP-LATE", line, "C1", loan_hours=2)
        await register(client, admin, "SP-LONG", line, "C1", loan_hours=500)
        job, eng = await on_site(client, admin, auth_headers, line, "E1")
        job2, eng2 = await on_site(client, admin, auth_headers, line, "E2", loc=(31.3, 121.5))
        assert (await act(client, job, eng, "lend_spare", spare_id=late["id"])).status_code == 200
        assert (await act(client, job2, eng2, "lend_spare", spare_serial="SP-LONG")).status_code == 200
        ops = auth_headers("ops", sub="ops-1")
        assert (await client.get("/v1/spares", params={"overdue": "true"}, headers=ops)).json() == []
        async with unit_of_work(client.app.state.sessions) as s:
            assert await spares.remind_overdue(s, clock.now()) == 0

        r = await client.post("/v1/admin/clock", json={"seconds": 3 * 3600}, headers=admin)
        assert r.status_code == 200, r.text
        overdue = (await client.get("/v1/spares", params={"overdue": "true"}, headers=ops)).json()
        assert [(s["serial"], s["overdue"], s["job_id"]) for s in overdue] == [("SP-LATE", True, job.id)]
        for _ in range(2):  # the background step runs again and again: one reminder per loan
            async with unit_of_work(client.app.state.sessions) as s:
                await spares.remind_overdue(s, clock.now())
        sent = await outbox(admin_db, job.id, "spare_unit_overdue")
        assert [(p["serial"], p["spare_id"], p["reason"]) for p in sent] == [("SP-LATE", late["id"], "SP-LATE")]
        assert await outbox(admin_db, job2.id, "spare_unit_overdue") == []
        # collected: off the list; lent again later, the new loan gets its own reminder
        assert (await act(client, job, eng, "collect_spare")).status_code == 200
        assert (await client.get("/v1/spares", params={"overdue": "true"}, headers=ops)).json() == []


async def test_R_S6_convert_sold_or_written_off_lets_the_job_close(clean, dispatch_settings, admin, auth_headers,
                                                                   admin_db):
    line = uniq("oven")
    async with running(create_app(dispatch_settings())) as client:
        await centre(client, admin, "C1")
        spare = await register(client, admin, "SP-SOLD", line, "C1")
        job, eng = await on_site(client, admin, auth_headers, line, "E1")
        assert (await act(client, job, eng, "lend_spare", spare_id=spare["id"])).status_code == 200
        url = f"/v1/spares/{spare['id']}/convert"
        r = await client.post(url, json={"to": "sold"}, headers=admin)
        assert r.status_code == 422 and r.json()["field"] == "reason"
        r = await client.post(url, json={"to": "sold", "reason": "x"},
                              headers=auth_headers("dealer", dealer_id="D1"))
        assert r.status_code == 403
        r = await client.post(url, json={"to": "sold", "reason": "customer keeps the spare, invoice 42"},
                              headers=admin)
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["location"], r.json()["job_id"]) == ("sold", "gone", None)
        r = await client.post(url, json={"to": "written_off", "reason": "again"}, headers=admin)
        assert r.status_code == 409 and r.json()["field"] == "to"
        r = await act(client, job, eng, "complete", record=RECORD)
        assert r.status_code == 200, r.text
        # a sold spare is never lent again
        job2, eng2 = await on_site(client, admin, auth_headers, line, "E2", loc=(31.3, 121.5))
        r = await act(client, job2, eng2, "lend_spare", spare_id=spare["id"])
        assert r.status_code == 409 and r.json()["field"] == "spare_id"
    loan = await admin_db.fetchrow("SELECT outcome, reason FROM dispatch.spare_loans")
    assert (loan["outcome"], loan["reason"]) == ("sold", "customer keeps the spare, invoice 42")


async def test_R_S6_dealer_pool_is_scoped(clean, dispatch_settings, admin, auth_headers):
    line = uniq("tv")
    async with running(create_app(dispatch_settings())) as client:
        await centre(client, admin, "C-D1", dealer_id="D1")
        await centre(client, admin, "C-D9", dealer_id="D9")
        d1, d9 = auth_headers("dealer", dealer_id="D1"), auth_headers("dealer", dealer_id="D9")
        mine = await register(client, d1, "SP-D1", line, "C-D1")
        assert mine["dealer_id"] == "D1"
        r = await client.post("/v1/spares", json={"serial": "SP-D1b", "product_line": line, "centre_id": "C-D9"},
                              headers=d1)
        assert r.status_code == 404 and r.json()["field"] == "centre_id"  # another dealer's centre
        await register(client, d9, "SP-D9", line, "C-D9")
        assert [s["serial"] for s in (await client.get("/v1/spares", headers=d1)).json()] == ["SP-D1"]
        assert (await client.get(f"/v1/spares/{mine['id']}", headers=d9)).status_code == 404
        assert len((await client.get("/v1/spares", headers=admin)).json()) == 2
        # a manufacturer engineer's job cannot take a dealer's spare
        job, eng = await on_site(client, admin, auth_headers, line, "E1")
        r = await act(client, job, eng, "lend_spare", spare_id=mine["id"])
        assert r.status_code == 409 and r.json()["code"] == "spare_other_dealer"


async def test_R_S6_spare_suggested_when_entitled_and_resolve_at_risk(clean, dispatch_settings, admin, auth_headers):
    line = uniq("boiler")
    async with running(create_app(dispatch_settings())) as client:
        for base in [p for p in (await client.get("/v1/sla/policies", headers=admin)).json()
                     if p["contract_code"] is None]:  # contract C-SPARE entitles spares, in every zone class
            body = {k: base[k] for k in ("zone_class", "calendar_code", "respond_minutes", "arrive_minutes",
                                         "resolve_from", "warn_fractions", "unserved_cost")}
            r = await client.put("/v1/sla/policies", json={**body, "contract_code": "C-SPARE", "resolve_minutes": 240,
                                                           "spare_entitled": True}, headers=admin)
            assert r.status_code == 200, r.text
        policies = (await client.get("/v1/sla/policies", headers=admin)).json()
        assert {(p["contract_code"], p["spare_entitled"]) for p in policies} >= {("C-SPARE", True), (None, False)}
        await centre(client, admin, "C-NEAR", loc=(SITE[0] + 0.01, SITE[1]))
        await centre(client, admin, "C-FAR", loc=(SITE[0] + 0.5, SITE[1]))
        await register(client, admin, "SP-FAR", line, "C-FAR")
        await register(client, admin, "SP-NEAR", line, "C-NEAR")
        await register(client, admin, "SP-OTHER", uniq("tv"), "C-NEAR")
        job, eng = await on_site(client, admin, auth_headers, line, "E1", contract="C-SPARE")
        plain, eng2 = await on_site(client, admin, auth_headers, line, "E2", loc=(31.3, 121.5))
        for j, e in ((job, eng), (plain, eng2)):
            assert (await act(client, j, e, "pause", reason="waiting_parts")).status_code == 200
        url = f"/v1/jobs/{job.id}/spare-suggestion"
        got = (await client.get(url, headers=eng)).json()
        assert (got["entitled"], got["at_risk"], got["suggested"], got["spares"]) == (True, None, False, [])

        r = await client.post("/v1/admin/clock", json={"seconds": 3 * 3600}, headers=admin)  # > 0.5 x 240 min
        got = (await client.get(url, headers=eng)).json()
        assert (got["at_risk"], got["suggested"]) == ("waiting_parts", True)
        assert [s["serial"] for s in got["spares"]] == ["SP-NEAR", "SP-FAR"]  # its line, nearest first
        unentitled = (await client.get(f"/v1/jobs/{plain.id}/spare-suggestion", headers=admin)).json()
        assert (unentitled["entitled"], unentitled["suggested"]) == (False, False)
        assert (await client.get(url, headers=eng2)).status_code == 404  # another engineer's job
        # lent: no longer suggested
        assert (await act(client, job, eng, "lend_spare", spare_id=got["spares"][0]["id"])).status_code == 200
        again = (await client.get(url, headers=admin)).json()
        assert again["suggested"] is False and again["spare_out"] == got["spares"][0]["id"]
        assert timedelta(0) < clock.offset()
