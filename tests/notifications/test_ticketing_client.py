"""Notifications' ticketing client against the real ticketing app with a notifier token (the contract the
stand-in in servers.py copies): contact in clear (R-T7), a rating completing the callback (R-T5), a complaint
(R-T6) — and nothing wider than that role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from aftersales_shared.ids import new_id
from aftersales_shared.testing.plugin import reset_schema, running
from notifications.clients.ticketing import HttpTicketing
from ticketing.config import TicketingSettings
from ticketing.main import create_app as ticketing_app

pytestmark = pytest.mark.integration


@pytest.fixture
async def real_ticketing(infra_settings, admin_db):
    base = {**infra_settings("ticketing"), "run_relay": False, "run_consumers": False}
    async with running(ticketing_app(TicketingSettings(**base))) as c:
        await reset_schema(admin_db, "ticketing")
        yield c


async def test_R_T5_R_T7_client_against_real_ticketing_with_the_notifier_role(real_ticketing, auth_headers,
                                                                               make_token, admin_db):
    admin, agent = auth_headers("admin", sub="a"), auth_headers("call_center", sub="c")
    await real_ticketing.post("/v1/product-lines", json={"code": "AC", "name": "AC", "required_skill": "hvac"},
                              headers=admin)
    await real_ticketing.post("/v1/product-lines/AC/policies", json={
        "effective_from": "2020-01-01", "months": 12, "start_basis": "sale"}, headers=admin)
    serial = f"SN-{uuid.uuid4().hex[:8]}"
    await real_ticketing.post("/v1/units", json={
        "serial": serial, "product_line": "AC", "dealer_id": "D1", "sold_on": "2026-10-01",
        "customer_name": "王伟", "phone": "13812345678"}, headers=agent)
    r = await real_ticketing.post("/v1/tickets", headers=agent, json={
        "serial": serial, "customer_name": "王伟", "phone": "13812345678", "address": "南京市鼓楼区中山路1号",
        "region_code": "320106", "channel": "phone", "fault_description": "no cooling at all",
        "requested_action": "repair"})
    assert r.status_code == 201, r.text
    t = r.json()
    token = make_token("notifier", sub="svc-notifications")
    client = HttpTicketing("http://test", lambda: token)
    client._http = httpx.AsyncClient(transport=real_ticketing._transport, base_url="http://test")
    try:
        contact = await client.contact(t["id"])
        assert contact is not None and contact.phone == "+8613812345678" and contact.customer_name == "王伟"
        assert contact.ticket_no == t["ticket_no"] and contact.dealer_id == "D1"
        assert await client.record_satisfaction(t["id"], 4, None) == "no_pending_callback"
        await admin_db.execute(
            "INSERT INTO ticketing.callbacks (id, ticket_id, job_id, dealer_id, repair_completed_at, status) "
            "VALUES ($1, $2, $3, 'D1', $4, 'pending')", new_id(), uuid.UUID(t["id"]), f"J-{uuid.uuid4().hex[:8]}",
            datetime.now(UTC))
        assert await client.record_satisfaction(t["id"], 4, "很好", channel="link") == "recorded"
        assert await client.record_satisfaction(t["id"], 4, "很好", channel="link") == "recorded"  # idempotent
        assert await client.record_satisfaction(t["id"], 1, None) == "already_recorded"
        row = await admin_db.fetchrow("SELECT satisfaction, channel, recorded_by FROM ticketing.callbacks "
                                      "WHERE ticket_id = $1", uuid.UUID(t["id"]))
        assert dict(row) == {"satisfaction": 4, "channel": "link", "recorded_by": "svc-notifications"}
        assert (await client.open_complaint(t["id"], "师傅迟到两个小时")).count("-") == 4
    finally:
        await client.close()
