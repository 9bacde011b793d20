"""Quiet hours (moved clock), opt-out by SMS reply, ratings and complaints carried to ticketing, provider
failover, dealer e-mail over real SMTP, WeChat, the replay of a failed batch."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from aftersales_shared import clock
from aftersales_shared.events import dispatch as dsp
from aftersales_shared.events import parts as prt
from aftersales_shared.events import settlement as stl
from aftersales_shared.testing.plugin import wait_for
from notifications.domain.policy import SHANGHAI

from .conftest import uid
from .helpers import (
    completed,
    customer,
    dispute_resolved,
    job_event,
    opened,
    settled,
    shipped,
    statement,
    wait_count,
)

TOKEN = {"token": "dev-callback-token"}


def _move_to(local: time) -> None:
    """Move the shared clock forward to the next ``local`` wall-clock time in Shanghai."""
    now = clock.now().astimezone(SHANGHAI)
    target = datetime.combine(now.date(), local, SHANGHAI)
    if target <= now:
        target += timedelta(days=1)
    clock.advance(target - now, environment="test")


async def _status(admin_db, ticket_id, kind):
    return await admin_db.fetchrow(
        "SELECT d.status, d.hold_reason, d.next_attempt_at, d.provider, d.total_attempts "
        "FROM notifications.deliveries d JOIN notifications.messages m ON m.id = d.message_id "
        "WHERE m.ticket_id = $1 AND m.kind = $2", ticket_id, kind)


async def test_quiet_hours_hold_sms_until_eight_but_not_urgent_ones(client, publish, sms_a, ticketing, admin_db):
    _move_to(time(22, 30))
    t = customer(ticketing)
    await publish(opened(t))
    async def held():
        row = await _status(admin_db, t["id"], "ticket_received")
        return row is not None and row["status"] == "held"
    await wait_for(held)
    row = await _status(admin_db, t["id"], "ticket_received")
    assert row["hold_reason"] == "quiet_hours"
    assert row["next_attempt_at"].astimezone(SHANGHAI).time() == time(8, 0)
    job = uid("j-")
    await publish(job_event(dsp.JobEnRoute, t, job))  # urgent: goes at 22:30
    await wait_count(lambda: sms_a.to(t["phone"]), 1)
    assert [m["TemplateCode"] for m in sms_a.to(t["phone"])] == ["SMS_AS_003"]
    _move_to(time(8, 1))
    await wait_count(lambda: sms_a.to(t["phone"]), 2)
    assert sms_a.to(t["phone"])[-1]["TemplateCode"] == "SMS_AS_001"


async def test_td_reply_stops_sms_for_that_number(client, publish, sms_a, ticketing, admin_db, auth_headers):
    t = customer(ticketing)
    await publish(opened(t))
    await wait_count(lambda: sms_a.to(t["phone"]), 1)
    r = await client.post("/v1/providers/aliyun/sms-up", params=TOKEN, json=[
        {"phone_number": t["phone"], "content": "退订", "sequence_id": uid()}])
    assert r.status_code == 200 and r.json()["code"] == 0
    r = await client.get(f"/v1/contacts/phone:{t['phone']}", headers=auth_headers("call_center"))
    assert r.json()["sms_opt_out"] is True and r.json()["opt_out_source"].startswith("sms:")
    job = uid("j-")
    await publish(job_event(dsp.JobEnRoute, t, job), job_event(dsp.JobArrived, t, job))
    async def suppressed():
        rows = await admin_db.fetch(
            "SELECT d.status FROM notifications.deliveries d JOIN notifications.messages m ON m.id = d.message_id "
            "WHERE m.ticket_id = $1 AND m.kind IN ('engineer_en_route', 'engineer_arrived')", t["id"])
        return len(rows) == 2 and {r["status"] for r in rows} == {"suppressed"}
    await wait_for(suppressed)
    assert len(sms_a.to(t["phone"])) == 1
    # a callback without the secret is refused
    r = await client.post("/v1/providers/aliyun/sms-up", params={"token": "wrong-token-x"}, json=[])
    assert r.status_code == 401


async def test_rating_reply_records_satisfaction_and_complaint_opens_one(client, publish, sms_a, ticketing, admin_db):
    t = customer(ticketing)
    ticketing.callbacks["cb-" + t["id"]] = {"id": "cb-" + t["id"], "ticket_id": t["id"], "status": "pending"}
    job = uid("j-")
    await publish(opened(t), completed(t, job))
    await wait_count(lambda: sms_a.to(t["phone"]), 2)
    seq = uid()
    for _ in range(2):  # Aliyun may push the same reply twice
        r = await client.post("/v1/providers/aliyun/sms-up", params=TOKEN, json=[
            {"phone_number": t["phone"], "content": "４", "sequence_id": seq}])
        assert r.status_code == 200
    async def rated():
        return ticketing.callbacks["cb-" + t["id"]]["status"] == "done"
    await wait_for(rated)
    cb = ticketing.callbacks["cb-" + t["id"]]
    assert cb["satisfaction"] == 4 and cb["reached"] is True
    assert await admin_db.fetchval("SELECT rating FROM notifications.tickets WHERE ticket_id = $1", t["id"]) == 4

    r = await client.post("/v1/providers/aliyun/sms-up", params=TOKEN, json=[
        {"phone_number": t["phone"], "content": "师傅态度很差，我要投诉", "sequence_id": uid()}])
    assert r.status_code == 200
    await wait_count(lambda: [c for c in ticketing.complaints if c.get("ticket_id") == t["id"]], 1)
    c = next(c for c in ticketing.complaints if c.get("ticket_id") == t["id"])
    assert c["category"] == "service" and "投诉" in c["description"]


async def test_provider_down_retried_then_failover_nothing_lost(client, publish, sms_a, sms_b, ticketing, admin_db):
    sms_a.down = True
    people = [customer(ticketing) for _ in range(5)]
    await publish(*[opened(t) for t in people])
    for t in people:
        await wait_count(lambda t=t: sms_b.to(t["phone"]), 1)
    assert all(not sms_a.to(t["phone"]) for t in people)
    for t in people:
        row = await _status(admin_db, t["id"], "ticket_received")
        assert row["status"] == "sent" and row["provider"] == "aliyun-b" and row["total_attempts"] == 4
    assert sms_b.bad_signatures == 0


async def test_dealer_email_over_smtp_same_day_and_receipts(client, publish, smtp, admin_db, auth_headers):
    dealer = uid("D")
    mail = f"desk-{dealer.lower()}@dealer.test"
    r = await client.put(f"/v1/contacts/dealer:{dealer}", json={"email": mail},
                         headers=auth_headers("dealer", dealer_id=dealer))
    assert r.status_code == 200, r.text
    r = await client.put("/v1/contacts/dealer:SOMEONE-ELSE", json={"email": mail},
                         headers=auth_headers("dealer", dealer_id=dealer))
    assert r.status_code == 403
    _move_to(time(23, 0))  # R-P1: the dealer hears of the shipment the same day, even late
    ship = shipped(dealer)
    st = uid("st-")
    await publish(ship, statement(stl.StatementIssued, dealer, st), statement(stl.StatementApproved, dealer, st),
                  statement(stl.StatementPaid, dealer, st), dispute_resolved(dealer, uid("dp-")),
                  prt.RequestBackordered(aggregate_id="x", payload={
                      "request_id": uid("pr-"), "dealer_id": dealer, "at": clock.now(), "status": "backordered"}))
    await wait_count(lambda: smtp.to(mail), 6)
    subjects = sorted(m["subject"] for m in smtp.to(mail))
    assert any(s.startswith("配件已发货") for s in subjects) and any(s.startswith("结算单已出具") for s in subjects)
    body = next(m["body"] for m in smtp.to(mail) if m["subject"].startswith("配件已发货"))
    assert ship.payload.tracking_no in body and "顺丰" in body
    await publish(ship)  # redelivered: nothing new at the SMTP server
    await wait_for(lambda: settled(admin_db))
    r = await client.get("/v1/messages", params={"dealer_id": dealer}, headers=auth_headers("dealer", dealer_id=dealer))
    assert len(r.json()) == 6 and all(m["recipient"].startswith("d***@") for m in r.json())
    assert len(smtp.to(mail)) == 6


async def test_sms_delivery_receipt_and_wechat_preference(client, publish, sms_a, wechat, ticketing, admin_db,
                                                          auth_headers):
    t = customer(ticketing)
    await publish(opened(t))
    await wait_count(lambda: sms_a.to(t["phone"]), 1)
    row = await admin_db.fetchrow(
        "SELECT d.provider_message_id FROM notifications.deliveries d JOIN notifications.messages m "
        "ON m.id = d.message_id WHERE m.ticket_id = $1", t["id"])
    r = await client.post("/v1/providers/aliyun/sms-report", params=TOKEN, json=[
        {"phone_number": t["phone"], "success": True, "biz_id": row["provider_message_id"], "err_code": "DELIVERED"}])
    assert r.status_code == 200
    r = await client.get("/v1/messages", params={"ticket_id": t["id"]}, headers=auth_headers("ops"))
    assert r.json()[0]["status"] == "delivered" and r.json()[0]["delivered_at"]

    r = await client.put(f"/v1/contacts/phone:{t['phone']}", json={
        "wechat_openid": "oWx-" + uid(), "channels": ["wechat"], "locale": "en"}, headers=auth_headers("call_center"))
    assert r.status_code == 200
    job = uid("j-")
    await publish(job_event(dsp.JobEnRoute, t, job))
    await wait_count(lambda: [m for m in wechat.sent if m["touser"] == r.json()["wechat_openid"]], 1)
    sent = next(m for m in wechat.sent if m["touser"] == r.json()["wechat_openid"])
    assert sent["template_id"] == "tpl-engineer_en_route" and sent["url"].startswith("http://status.test/s/")
    assert sent["data"]["first"]["value"].startswith("Engineer on the way")


async def test_replay_failed_batch(client, publish, smtp, admin_db, auth_headers):
    dealer = uid("D")
    await publish(shipped(dealer))  # no contact yet: fails for lack of an address
    async def failed():
        return await admin_db.fetchval(
            "SELECT count(*) FROM notifications.deliveries d JOIN notifications.messages m ON m.id = d.message_id "
            "WHERE m.dealer_id = $1 AND d.status = 'failed'", dealer) == 1
    await wait_for(failed)
    mail = f"late-{dealer.lower()}@dealer.test"
    await client.put(f"/v1/contacts/dealer:{dealer}", json={"email": mail}, headers=auth_headers("admin"))
    r = await client.post("/v1/deliveries/replay", json={"kind": "parts_shipped"}, headers=auth_headers("call_center"))
    assert r.status_code == 403
    r = await client.post("/v1/deliveries/replay", json={"kind": "parts_shipped"}, headers=auth_headers("ops"))
    assert r.status_code == 200 and r.json()["replayed"] >= 1
    await wait_count(lambda: smtp.to(mail), 1)


async def test_template_preview(client, auth_headers):
    r = await client.post("/v1/templates/preview", json={
        "kind": "engineer_assigned", "variables": {"ticket_no": "T100", "engineer_name": "王工"}},
        headers=auth_headers("ops"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["locale"] == "zh-CN" and "王工" in body["body"] and body["missing"] == ["window", "link"]
    r = await client.post("/v1/templates/preview", json={"kind": "nope", "locale": "en"}, headers=auth_headers("ops"))
    assert r.status_code == 422
    r = await client.get("/v1/templates", headers=auth_headers("admin"))
    assert {t["kind"] for t in r.json()} >= {"ticket_received", "parts_shipped", "dispute_resolved"}
    r = await client.post("/v1/templates/preview", json={"kind": "x"},
                          headers=auth_headers("engineer", engineer_id="E"))
    assert r.status_code == 403
