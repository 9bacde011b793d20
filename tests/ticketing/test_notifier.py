"""The notifier role (the notifications service's token): exactly what it needs and nothing else — one ticket's
contact (R-T7), a customer's rating completing the open callback (R-T5), a complaint from a reply (R-T6)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from aftersales_shared.ids import new_id

from .conftest import seed_line, seed_unit, ticket_body

pytestmark = pytest.mark.integration


@pytest.fixture
def notifier(auth_headers):
    return auth_headers("notifier", sub="notifications")


async def _ticket_with_callback(client, admin, agent, admin_db, *, pending=True):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    t = (await client.post("/v1/tickets", json=ticket_body(), headers=agent)).json()
    cid = None
    if pending:
        cid = new_id()
        await admin_db.execute(
            "INSERT INTO ticketing.callbacks (id, ticket_id, job_id, dealer_id, repair_completed_at, status) "
            "VALUES ($1, $2, $3, 'D1', $4, 'pending')", cid, uuid.UUID(t["id"]), f"J-{uuid.uuid4().hex[:8]}",
            datetime.now(UTC))
    return t, cid


async def test_R_T7_notifier_reads_one_contact_in_clear_and_nothing_else(client, admin, agent, notifier):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    t = (await client.post("/v1/tickets", json=ticket_body(), headers=agent)).json()
    r = await client.get(f"/v1/tickets/{t['id']}/contact", headers=notifier)
    assert r.status_code == 200, r.text
    assert r.json() == {"id": t["id"], "ticket_no": t["ticket_no"], "dealer_id": "D1", "status": "open",
                        "customer_name": "王伟", "phone": "+8613812345678", "address": "南京市鼓楼区中山路1号"}
    assert (await client.get(f"/v1/tickets/{t['ticket_no']}/contact", headers=notifier)).json()["id"] == t["id"]
    missing = await client.get(f"/v1/tickets/{uuid.uuid4()}/contact", headers=notifier)
    assert missing.status_code == 404 and missing.json()["field"] == "ticket"
    # no search, no ticket read, no callback list, no other write
    for method, url in [("GET", f"/v1/tickets/{t['id']}"), ("GET", "/v1/tickets?phone=13812345678"),
                        ("GET", "/v1/callbacks"), ("GET", "/v1/complaints"), ("POST", f"/v1/tickets/{t['id']}/cancel")]:
        assert (await client.request(method, url, headers=notifier, json={} if method == "POST" else None)
                ).status_code == 403, url
    assert (await client.get(f"/v1/tickets/{t['id']}/contact", headers=agent)).status_code == 403


async def test_R_T5_rating_completes_the_open_callback_once(client, admin, agent, notifier, admin_db):
    t, cid = await _ticket_with_callback(client, admin, agent, admin_db)
    url = f"/v1/tickets/{t['id']}/satisfaction"
    bad = await client.post(url, json={"score": 6, "channel": "sms"}, headers=notifier)
    assert bad.status_code == 422 and bad.json()["field"] == "score"
    assert (await client.post(url, json={"score": 4, "channel": "fax"}, headers=notifier)).json()["field"] == "channel"
    r = await client.post(url, json={"score": 4, "channel": "sms"}, headers=notifier)
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["id"] == str(cid) and c["status"] == "done" and c["reached"] is True
    assert c["satisfaction"] == 4 and c["channel"] == "sms" and c["recorded_by"] == "notifications"
    again = await client.post(url, json={"score": 4, "channel": "sms"}, headers=notifier)
    assert again.status_code == 200 and again.json()["recorded_at"] == c["recorded_at"]
    other = await client.post(url, json={"score": 2, "channel": "link"}, headers=notifier)
    assert other.status_code == 409 and other.json()["code"] == "invalid_transition"
    events = await admin_db.fetchval("SELECT count(*) FROM ticketing.outbox WHERE key = $1 AND "
                                     "event_type = 'ticketing.callback.recorded'", t["id"])
    assert events == 1
    # the ticket_id filter of the callback list (staff)
    mine = (await client.get("/v1/callbacks", params={"status": "done", "ticket_id": t["id"]}, headers=agent)).json()
    assert [x["id"] for x in mine] == [str(cid)]
    assert (await client.get("/v1/callbacks", params={"ticket_id": str(uuid.uuid4()), "status": "done"},
                             headers=agent)).json() == []
    assert (await client.get("/v1/callbacks", params={"ticket_id": "nope"}, headers=agent)).json()["field"] \
        == "ticket_id"


async def test_R_T5_rating_without_a_repair_is_409_and_unknown_ticket_404(client, admin, agent, notifier, admin_db):
    t, _ = await _ticket_with_callback(client, admin, agent, admin_db, pending=False)
    r = await client.post(f"/v1/tickets/{t['id']}/satisfaction", json={"score": 5, "channel": "sms"},
                          headers=notifier)
    assert r.status_code == 409 and r.json()["code"] == "no_callback" and r.json()["field"] == "ticket_id"
    r = await client.post(f"/v1/tickets/{uuid.uuid4()}/satisfaction", json={"score": 5, "channel": "sms"},
                          headers=notifier)
    assert r.status_code == 404 and r.json()["field"] == "ticket_id"
    # an agent may record a rating taken on the phone the same way
    assert (await client.post(f"/v1/tickets/{t['id']}/satisfaction", json={"score": 5, "channel": "phone"},
                              headers=agent)).json()["code"] == "no_callback"


async def test_R_T5_two_racing_ratings_record_one_callback(client, admin, agent, notifier, admin_db):
    t, _cid = await _ticket_with_callback(client, admin, agent, admin_db)
    url = f"/v1/tickets/{t['id']}/satisfaction"
    a, b = await asyncio.gather(client.post(url, json={"score": 5, "channel": "link"}, headers=notifier),
                                client.post(url, json={"score": 5, "channel": "link"}, headers=notifier))
    assert {a.status_code, b.status_code} == {200}
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.outbox WHERE key = $1 AND "
                                   "event_type = 'ticketing.callback.recorded'", t["id"]) == 1


async def test_R_T6_notifier_files_a_complaint_from_a_reply(client, admin, agent, notifier):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    t = (await client.post("/v1/tickets", json=ticket_body(), headers=agent)).json()
    r = await client.post("/v1/complaints", json={"ticket_id": t["id"], "category": "service",
                                                  "description": "客户短信回复：师傅态度很差"}, headers=notifier)
    assert r.status_code == 201, r.text
    assert r.json()["dealer_id"] == "D1" and r.json()["filed_by"] == "notifications"
    assert (await client.post(f"/v1/complaints/{r.json()['id']}/resolve", json={
        "upheld": False, "against": "none", "resolution": "x"}, headers=notifier)).status_code == 403
