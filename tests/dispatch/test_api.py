"""Dispatch API against the real stack: configuration, assignment, the engineer app, reports, events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.sla import service as sla

from .conftest import RECORD, action, engineer_body, ticket, uniq

pytestmark = pytest.mark.integration


async def open_ticket(client, payload, now=None):
    app = client.app
    async with unit_of_work(app.state.sessions) as s:
        job = await jobs.open_job(s, app.state.dispatch_cfg, payload, now or clock.now())
    return job


async def outbox_types(admin_db, job_id):
    rows = await admin_db.fetch("SELECT event_type FROM dispatch.outbox WHERE key = $1 ORDER BY id", job_id)
    return [r["event_type"] for r in rows]


async def test_job_lifecycle_through_the_engineer_app(clean, dispatch_settings, admin, auth_headers, admin_db):
    skill = uniq("hvac")
    async with running(create_app(dispatch_settings())) as client:
        r = await client.put("/v1/engineers/E1", json=engineer_body(skill, dealer_id="D1"), headers=admin)
        assert r.status_code == 200, r.text
        await client.put("/v1/engineers/E2", json=engineer_body(skill, loc=(31.5, 121.9)), headers=admin)
        job = await open_ticket(client, ticket(skill))
        r = await client.put("/v1/service-centres/C1", json={"name": "C1", "region_code": "310101", "lat": 31.2,
                                                              "lon": 121.4}, headers=admin)
        assert r.status_code == 200, r.text
        r = await client.post("/v1/spares", json={"serial": "SPARE-1", "product_line": skill, "centre_id": "C1"},
                              headers=admin)  # R-S6: spares are lent from the pool
        assert r.status_code == 201, r.text
        eng = auth_headers("engineer", sub="E1", engineer_id="E1")
        other = auth_headers("engineer", sub="E2", engineer_id="E2")

        mine = (await client.get("/v1/me/jobs", headers=eng)).json()
        assert [j["id"] for j in mine] == [job.id] and mine[0]["status"] == "offered"
        assert mine[0]["phone"] and mine[0]["deadlines"]["arrive"]
        assert (await client.get("/v1/me/jobs", headers=other)).json() == []
        assert (await client.get(f"/v1/jobs/{job.id}", headers=other)).status_code == 404
        # dealer D1 sees its engineer's job; another dealer does not
        d1, d9 = auth_headers("dealer", dealer_id="D1"), auth_headers("dealer", dealer_id="D9")
        assert (await client.get(f"/v1/jobs/{job.id}", headers=d1)).status_code == 200
        assert (await client.get(f"/v1/jobs/{job.id}", headers=d9)).status_code == 404

        accept = action("accept")
        r1 = await client.post(f"/v1/jobs/{job.id}/actions", json=accept, headers=eng)
        r2 = await client.post(f"/v1/jobs/{job.id}/actions", json=accept, headers=eng)
        assert r1.status_code == r2.status_code == 200 and r1.json() == r2.json()
        assert r2.headers["Idempotent-Replayed"] == "true"
        assert r1.json()["status"] == "accepted" and r1.json()["engineer_id"] == "E1"
        r = await client.post(f"/v1/jobs/{job.id}/actions", json=action("accept"), headers=other)
        assert r.status_code == 404

        # each step answers with the status it moved the job to, and the job really is there afterwards
        steps = [(action("depart"), "en_route"), (action("arrive", lat=31.23, lon=121.47), "on_site"),
                 (action("pause", reason="waiting_parts"), "paused"),
                 (action("lend_spare", spare_serial="SPARE-1"), "paused"),  # R-S6: a spare lent while waiting
                 (action("resume"), "on_site"), (action("collect_spare"), "on_site"),
                 (action("complete", record=RECORD), "completed")]
        for body, status in steps:
            r = await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)
            assert r.status_code == 200, r.text
            assert r.json()["status"] == status, (body["action"], r.json())
            seen = (await client.get(f"/v1/jobs/{job.id}", headers=eng)).json()
            assert seen["status"] == status, (body["action"], seen["status"])
        assert (await client.get("/v1/me/jobs", headers=eng)).json() == []  # no longer open
        closed = (await client.get("/v1/me/jobs", params={"include_closed": "true"}, headers=eng)).json()
        assert [(j["id"], j["status"]) for j in closed] == [(job.id, "completed")]
        r = await client.post(f"/v1/jobs/{job.id}/actions", json=action("resume"), headers=eng)
        assert r.status_code == 409 and r.json()["code"] == "job_state"  # a completed job is final
        detail = (await client.get(f"/v1/jobs/{job.id}", headers=eng)).json()
        assert detail["status"] == "completed" and detail["resolved_at"]
        assert detail["service_record"]["root_cause"] == "supplier_part"
        assert detail["sla_met"] == {"respond": True, "arrive": True, "resolve": True}
        assert len(detail["pauses"]) == 1 and detail["pauses"][0]["end"]
        eng_row = await admin_db.fetchrow("SELECT active_jobs, last_lat FROM dispatch.engineers WHERE id='E1'")
        assert eng_row["active_jobs"] == 0 and eng_row["last_lat"] == 31.23

        today = datetime.now(UTC).date().isoformat()
        rep = (await client.get("/v1/reports/sla-attainment", params={"date_from": today, "date_to": today,
                                                                    "by": "dealer"}, headers=admin)).json()
        assert {(r["milestone"], r["dealer"], r["attainment"]) for r in rep["rows"]} == {
            ("respond", "D1", 1.0), ("arrive", "D1", 1.0), ("resolve", "D1", 1.0)}
    # every step emitted its event, once, in the order the engineer acted
    assert await outbox_types(admin_db, job.id) == [f"dispatch.job.{t}" for t in (
        "created", "offered", "assigned", "eta_changed", "accepted", "en_route", "arrived", "paused",
        "spare_unit_lent", "resumed", "spare_unit_collected", "completed")]
    payload = json.loads(await admin_db.fetchval(
        "SELECT payload FROM dispatch.outbox WHERE key=$1 AND event_type='dispatch.job.completed'", job.id))
    assert payload["payload"]["parts_used"][0]["old_serial"] == "O1"


async def test_actions_validated_and_device_time_bounded(clean, dispatch_settings, admin, auth_headers):
    skill = uniq("tv")
    async with running(create_app(dispatch_settings())) as client:
        await client.put("/v1/engineers/E1", json=engineer_body(skill), headers=admin)
        created = clock.now() - timedelta(hours=1)
        job = await open_ticket(client, ticket(skill, opened_at=created - timedelta(minutes=1)), now=created)
        eng = auth_headers("engineer", sub="E1", engineer_id="E1")
        url = f"/v1/jobs/{job.id}/actions"
        assert (await client.post(url, json=action("accept"))).status_code == 401
        assert (await client.post(url, json=action("accept"), headers=admin)).status_code == 403
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        r = await client.post(url, json=action("accept", device_time=future), headers=eng)
        assert r.status_code == 422 and r.json()["field"] == "device_time"
        past = (datetime.now(UTC) - timedelta(days=3)).isoformat()
        assert (await client.post(url, json=action("accept", device_time=past), headers=eng)).status_code == 422
        r = await client.post(url, json=action("accept", device_time="2026-01-01T10:00:00"), headers=eng)
        assert r.status_code == 422  # naive device time
        r = await client.post(url, json=action("pause", reason="lunch"), headers=eng)
        assert r.status_code == 422 and r.json()["field"] == "reason"
        r = await client.post(url, json=action("complete"), headers=eng)
        assert r.status_code == 422 and r.json()["field"] == "record"
        r = await client.post(url, json=action("depart"), headers=eng)
        assert r.status_code == 409  # not accepted yet
        # offline queue sent late: accepted in order with the device times, earlier after later refused
        t0 = datetime.now(UTC) - timedelta(minutes=30)
        for i, kind in enumerate(("accept", "depart")):
            r = await client.post(url, json=action(kind, device_time=(t0 + timedelta(minutes=i)).isoformat()),
                                  headers=eng)
            assert r.status_code == 200, r.text
        r = await client.post(url, json=action("arrive", lat=31.2, lon=121.4,
                                               device_time=(t0 - timedelta(minutes=5)).isoformat()), headers=eng)
        # issue 13: a device time before the job's last recorded action is out of the allowed window: 422
        assert r.status_code == 422 and r.json()["code"] == "device_time_out_of_order"
        assert r.json()["field"] == "device_time"
        detail = (await client.get(f"/v1/jobs/{job.id}", headers=eng)).json()
        assert detail["responded_at"].startswith(t0.strftime("%Y-%m-%dT%H:%M"))


async def test_decline_moves_to_next_candidate_and_expiry_and_queue(clean, dispatch_settings, admin,
                                                                    auth_headers, admin_db):
    skill = uniq("wash")
    async with running(create_app(dispatch_settings())) as client:
        await client.put("/v1/engineers/E1", json=engineer_body(skill), headers=admin)
        await client.put("/v1/engineers/E2", json=engineer_body(skill, loc=(31.25, 121.5)), headers=admin)
        job = await open_ticket(client, ticket(skill))
        r = await client.post(f"/v1/jobs/{job.id}/actions", json=action("decline", reason="too far"),
                              headers=auth_headers("engineer", sub="E1", engineer_id="E1"))
        assert r.status_code == 200 and r.json()["engineer_id"] == "E2", r.text
        # E2 never answers: the offer expires and nobody else is left, so the job waits in the queue
        later = clock.now() + timedelta(hours=1)
        async with unit_of_work(client.app.state.sessions) as s:
            assert await jobs.expire_offers(s, client.app.state.dispatch_cfg, later) == 1
        q = (await client.get("/v1/queue", headers=auth_headers("ops"))).json()
        assert [j["id"] for j in q] == [job.id]
        # a new engineer becomes available: the background retry assigns
        await client.put("/v1/engineers/E3", json=engineer_body(skill), headers=admin)
        async with unit_of_work(client.app.state.sessions) as s:
            assert await jobs.retry_queue(s, client.app.state.dispatch_cfg, clock.now()) == 1
        assert (await client.get(f"/v1/jobs/{job.id}", headers=admin)).json()["engineer_id"] == "E3"
        # manual reassignment (against the version the dispatcher read) frees E3's capacity and takes E1's
        version = (await client.get(f"/v1/jobs/{job.id}", headers=admin)).json()["version"]
        r = await client.post(f"/v1/jobs/{job.id}/assign", json={"engineer_id": "E1", "version": version},
                              headers=auth_headers("dispatcher"))
        assert r.status_code == 200 and r.json()["status"] == "accepted"
        assert r.json()["version"] == version + 1
        caps = dict(await admin_db.fetch("SELECT id, active_jobs FROM dispatch.engineers ORDER BY id"))
        assert caps == {"E1": 1, "E2": 0, "E3": 0}
        r = await client.post(f"/v1/jobs/{job.id}/assign", json={"engineer_id": "nobody", "version": version + 1},
                              headers=auth_headers("dispatcher"))
        assert r.status_code == 404


async def test_R_S8_unrouted_job_checked_then_escalated(clean, dispatch_settings, admin_db):
    skill = uniq("none")
    async with running(create_app(dispatch_settings())) as client:
        job = await open_ticket(client, ticket(skill))
        cfg = client.app.state.dispatch_cfg
        async with unit_of_work(client.app.state.sessions) as s:
            assert await sla.check_routing(s, cfg, clock.now() + timedelta(hours=3)) == 0
        row = await admin_db.fetchrow(
            "SELECT routing_checked, routing_escalated FROM dispatch.jobs WHERE id=$1", job.id)
        assert row["routing_checked"] and not row["routing_escalated"]
        async with unit_of_work(client.app.state.sessions) as s:
            assert await sla.check_routing(s, cfg, clock.now() + timedelta(hours=5)) == 1
            assert await sla.check_routing(s, cfg, clock.now() + timedelta(hours=6)) == 0
    # the escalation is its own event, once, and not a second breach of the respond milestone
    types = await outbox_types(admin_db, job.id)
    assert types.count("dispatch.job.escalated") == 1
    assert "dispatch.job.sla_breached" not in types


async def test_sla_alerts_once_per_milestone_and_changed_policy_applied(clean, dispatch_settings, admin,
                                                                       admin_db):
    skill = uniq("none")
    async with running(create_app(dispatch_settings())) as client:
        job = await open_ticket(client, ticket(skill, region="310101"))  # urban by core province
        before = (await client.get(f"/v1/jobs/{job.id}", headers=admin)).json()
        assert before["zone_class"] == "urban"
        r = await client.put("/v1/sla/policies", headers=admin, json={
            "zone_class": "urban", "calendar_code": "24x7", "respond_minutes": 30, "arrive_minutes": 120,
            "resolve_minutes": 600})
        assert r.status_code == 200 and r.json()["recomputed_jobs"] >= 1
        after = (await client.get(f"/v1/jobs/{job.id}", headers=admin)).json()
        assert after["deadlines"]["arrive"] < before["deadlines"]["arrive"]
        for minutes in (70, 80, 100, 130, 200):
            async with unit_of_work(client.app.state.sessions) as s:
                await sla.scan_sla(s, clock.now() + timedelta(minutes=minutes))
        bad = await client.put("/v1/sla/policies", headers=admin, json={
            "zone_class": "urban", "calendar_code": "nope", "respond_minutes": 30, "arrive_minutes": 120,
            "resolve_minutes": 600})
        assert bad.status_code == 422
        bad = await client.put("/v1/sla/calendars/x", headers=admin, json={"intervals": [[600, 500]]})
        assert bad.status_code == 422
    rows = await admin_db.fetch("SELECT payload FROM dispatch.outbox WHERE key=$1 AND event_type LIKE "
                                "'dispatch.job.sla_%' ORDER BY id", job.id)
    got = [(json.loads(r["payload"])["payload"]["milestone"], json.loads(r["payload"])["payload"]["fraction"])
           for r in rows]
    assert sorted(got, key=str) == sorted([("respond", None), ("arrive", 0.5), ("arrive", 0.8),
                                           ("arrive", None)], key=str)
