"""Tenancy on every reference and the customer's personal data (issue 13, R-T7).

A dealer names only its own rows: another dealer's unit, ticket or complaint is 404 like an unknown one (its
existence does not leak), and naming another dealer in a ``dealer_id`` filter is 403. The customer's phone, name
and address are shown by the shared rule (``aftersales_shared.pii``); events carry them only where dispatch needs
them to send an engineer (TicketOpened, TicketReopened).
"""

from __future__ import annotations

import json

import pytest

from .conftest import seed_line, seed_unit, ticket_body

pytestmark = pytest.mark.integration

NAME, PHONE, ADDRESS = "王伟", "+8613812345678", "南京市鼓楼区中山路1号"


async def _two_dealers(client, admin, agent):
    await seed_line(client, admin)
    await seed_unit(client, agent, serial="SN-D1", dealer="D1", address=ADDRESS)
    await seed_unit(client, agent, serial="SN-D2", dealer="D2")
    t1 = (await client.post("/v1/tickets", json=ticket_body("SN-D1"), headers=agent)).json()
    t2 = (await client.post("/v1/tickets", json=ticket_body("SN-D2"), headers=agent)).json()
    c1 = (await client.post("/v1/complaints", json={"ticket_id": t1["id"], "category": "service",
                                                     "description": "engineer was late"}, headers=agent)).json()
    assert c1["dealer_id"] == "D1"
    return t1, t2, c1


async def test_a_dealer_cannot_name_another_dealers_unit_ticket_or_complaint(client, admin, agent, auth_headers):
    t1, t2, c1 = await _two_dealers(client, admin, agent)
    d2 = auth_headers("dealer", sub="d2-user", dealer_id="D2")
    for path in ("/v1/units/SN-D1", "/v1/units/SN-D1/warranty", f"/v1/tickets/{t1['id']}",
                 f"/v1/tickets/{t1['ticket_no']}", f"/v1/complaints/{c1['id']}"):
        r = await client.get(path, headers=d2)
        assert r.status_code == 404, (path, r.text)
    assert (await client.get("/v1/units/SN-NOPE", headers=d2)).status_code == 404  # the same answer as unknown
    for path in ("/v1/tickets", "/v1/complaints", "/v1/callbacks", "/v1/reports/dealer-monthly"):
        r = await client.get(path, params={"dealer_id": "D1", "month": "2026-11"}, headers=d2)
        assert r.status_code == 403 and r.json()["field"] == "dealer_id", (path, r.text)
    assert (await client.get("/v1/tickets", params={"serial": "SN-D1"}, headers=d2)).json()["items"] == []
    own = (await client.get("/v1/tickets", headers=d2)).json()["items"]
    assert [t["id"] for t in own] == [t2["id"]]
    assert (await client.get(f"/v1/tickets/{t2['id']}", headers=d2)).status_code == 200
    # dealers read, they never write: a reference in a write is refused before it is looked at
    for path, body in ((f"/v1/tickets/{t1['id']}/cancel", {"reason": "not mine"}),
                       ("/v1/units/SN-D1/delays", {"started_on": "2026-01-01", "days": 3, "caused_by": "seller"}),
                       (f"/v1/complaints/{c1['id']}/resolve", {"upheld": False, "against": "none",
                                                                "resolution": "nothing"})):
        assert (await client.post(path, json=body, headers=d2)).status_code == 403


async def test_a_dealer_token_without_dealer_id_reads_nothing(client, admin, agent, auth_headers):
    await _two_dealers(client, admin, agent)
    anonymous_dealer = auth_headers("dealer", sub="d-nobody")
    for path in ("/v1/tickets", "/v1/complaints", "/v1/callbacks", "/v1/units/SN-D1",
                 "/v1/reports/dealer-monthly?month=2026-11"):
        r = await client.get(path, headers=anonymous_dealer)
        assert r.status_code == 403, (path, r.text)


async def test_contact_is_masked_by_the_shared_rule_for_roles_that_do_not_call_customers(client, admin, agent,
                                                                                      auth_headers):
    t1, _t2, _c1 = await _two_dealers(client, admin, agent)
    d1 = auth_headers("dealer", sub="d1-user", dealer_id="D1")
    ops = auth_headers("ops", sub="ops-1")
    for who in (d1, ops):
        ticket = (await client.get(f"/v1/tickets/{t1['id']}", headers=who)).json()
        assert ticket["phone"] == "+86138****5678"
        assert ticket["customer_name"] == "王*" and ticket["address"].startswith("南京市鼓楼区")
        assert ticket["address"] != ADDRESS and "中山路" not in ticket["address"]
        unit = (await client.get("/v1/units/SN-D1", headers=who)).json()
        assert (unit["phone"], unit["customer_name"]) == ("+86138****5678", "王*") and unit["address"] != ADDRESS
    clear = (await client.get(f"/v1/tickets/{t1['id']}", headers=agent)).json()
    assert (clear["phone"], clear["customer_name"], clear["address"]) == (PHONE, NAME, ADDRESS)
    assert (await client.get("/v1/units/SN-D1", headers=admin)).json()["address"] == ADDRESS


async def test_only_the_events_dispatch_needs_carry_the_customers_contact(client, admin, agent, admin_db):
    t1, _t2, c1 = await _two_dealers(client, admin, agent)
    await client.post(f"/v1/tickets/{t1['id']}/cancel", json={"reason": "customer fixed it"}, headers=agent)
    await client.post(f"/v1/tickets/{t1['id']}/reopen", json={"reason": "it broke again"}, headers=agent)
    await client.post(f"/v1/complaints/{c1['id']}/resolve", json={"upheld": True, "against": "dealer",
                                                                   "resolution": "apologised"}, headers=agent)
    await client.post("/v1/units/SN-D1/warranty-card", json={"registered_on": "2026-11-01"}, headers=agent)
    await client.post("/v1/units/SN-D1/extensions", json={"paid_on": "2026-11-01"}, headers=agent)
    rows = await admin_db.fetch("SELECT event_type, payload FROM ticketing.outbox")
    carrying = {r["event_type"] for r in rows
                if any(v in json.loads(r["payload"])["payload"].values() for v in (NAME, PHONE, ADDRESS))}
    types = {r["event_type"] for r in rows}
    assert {"ticketing.ticket.status_changed", "ticketing.ticket.cancelled", "ticketing.complaint.filed",
            "ticketing.complaint.resolved", "ticketing.unit.registered",
            "ticketing.unit.extension_purchased"} <= types
    assert carrying == {"ticketing.ticket.opened", "ticketing.ticket.reopened"}
