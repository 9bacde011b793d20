"""Complaints (R-T6) and callbacks with the monthly dealer report (R-T5)."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from aftersales_shared.ids import new_id

from .conftest import seed_line, seed_unit, ticket_body

pytestmark = pytest.mark.integration


async def test_R_T6_complaint_deadline_and_resolution(client, admin, agent, auth_headers, admin_db):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    t = (await client.post("/v1/tickets", json=ticket_body(), headers=agent)).json()
    r = await client.post("/v1/complaints", json={"ticket_id": t["id"], "category": "escalation",
                                                  "description": "engineer never came"}, headers=agent)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["dealer_id"] == "D1" and c["status"] == "open" and not c["overdue"]
    filed = datetime.fromisoformat(c["filed_at"])
    assert datetime.fromisoformat(c["respond_by"]) - filed == timedelta(hours=48)
    bad = await client.post(f"/v1/complaints/{c['id']}/resolve", json={"upheld": True, "against": "none",
                                                                       "resolution": "sorry"}, headers=agent)
    assert bad.status_code == 422
    r = await client.post(f"/v1/complaints/{c['id']}/resolve", json={"upheld": True, "against": "dealer",
                                                                     "resolution": "late visit confirmed"},
                          headers=agent)
    assert r.status_code == 200 and r.json()["upheld"] is True
    assert (await client.post(f"/v1/complaints/{c['id']}/resolve", json={"upheld": False, "against": "none",
                                                                         "resolution": "again"},
                              headers=agent)).status_code == 409
    other = auth_headers("dealer", sub="x", dealer_id="D9")
    assert (await client.get(f"/v1/complaints/{c['id']}", headers=other)).status_code == 404
    mine = auth_headers("dealer", sub="y", dealer_id="D1")
    assert len((await client.get("/v1/complaints", headers=mine)).json()) == 1
    types = [r["event_type"] for r in await admin_db.fetch("SELECT event_type FROM ticketing.outbox WHERE key = $1",
                                                            c["id"])]
    assert types == ["ticketing.complaint.filed", "ticketing.complaint.resolved"]
    resolved = await admin_db.fetchrow(
        "SELECT payload FROM ticketing.outbox WHERE event_type = 'ticketing.complaint.resolved' AND key = $1", c["id"])
    assert json.loads(resolved["payload"])["payload"]["against"] == "dealer"


async def test_R_T5_callback_outcome_and_monthly_report(client, admin, agent, admin_db):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    t = (await client.post("/v1/tickets", json=ticket_body(), headers=agent)).json()
    at = datetime(2026, 10, 15, 3, 0, tzinfo=UTC)
    ids = []
    for i in range(4):  # four completed repairs for dealer D1 in October
        tid = t["id"] if i == 0 else str(await _ticket(admin_db, f"X-{i}"))
        cid = new_id()
        ids.append(cid)
        await admin_db.execute(
            "INSERT INTO ticketing.callbacks (id, ticket_id, dealer_id, repair_completed_at, status) "
            "VALUES ($1, $2, 'D1', $3, 'pending')", cid, uuid.UUID(tid), at)
    pending = {c["id"] for c in (await client.get("/v1/callbacks", headers=agent)).json()}
    assert {str(i) for i in ids} <= pending
    r = await client.post(f"/v1/callbacks/{ids[0]}/outcome", json={"reached": True, "fixed": True, "satisfaction": 4},
                          headers=agent)
    assert r.status_code == 200 and r.json()["status"] == "done"
    bad = await client.post(f"/v1/callbacks/{ids[1]}/outcome", json={"reached": True, "satisfaction": 6}, headers=agent)
    assert bad.status_code == 422 and bad.json()["field"] == "satisfaction"
    assert (await client.post(f"/v1/callbacks/{ids[0]}/outcome", json={"reached": False},
                              headers=agent)).status_code == 409
    await client.post("/v1/complaints", json={"dealer_id": "D1", "category": "service", "description": "rude"},
                      headers=agent)
    report = (await client.get("/v1/reports/dealer-monthly", params={"month": "2026-10"}, headers=agent)).json()
    d1 = next(d for d in report["dealers"] if d["dealer_id"] == "D1")
    assert d1["repairs"] == 4 and d1["callbacks"] == 1 and d1["callback_rate"] == 0.25
    assert d1["meets_callback_target"] and d1["satisfaction_avg"] == 4.0
    assert (await client.get("/v1/reports/dealer-monthly", params={"month": "2026-13"},
                             headers=agent)).json()["field"] == "month"
    types = [r["event_type"] for r in await admin_db.fetch("SELECT event_type FROM ticketing.outbox WHERE key = $1",
                                                            t["id"])]
    assert "ticketing.callback.recorded" in types


async def _ticket(admin_db, serial):
    tid = new_id()
    now = datetime.now(UTC)
    await admin_db.execute(
        "INSERT INTO ticketing.tickets (id, ticket_no, serial, product_line, dealer_id, customer_name, phone, address,"
        " region_code, channel, fault_description, component, photos, coverage, exclusions, warranty_reasons, status,"
        " created_by, opened_at, updated_at) VALUES ($1, $2, $3, 'AC', 'D1', 'n', '+8613800000000', 'a', '320106',"
        " 'phone', 'f', 'unit', '[]', 'warranty', '[]', '[]', 'closed', 't', $4, $4)", tid, f"T-{serial}", serial, now)
    return tid
