"""Issue 15 item 5 (the installed base you can maintain) and item 6's dealer card registration (R-W10), over HTTP
against the real app and database."""

from datetime import date

import pytest

from ticketing.domain.warranty import add_months

from .conftest import POLICY, seed_line, seed_unit, ticket_body

pytestmark = pytest.mark.integration

TODAY = date.today()
INSTALLATION_POLICY = {**POLICY, "start_basis": "installation"}


async def _ticket(client, agent, serial, **extra):
    r = await client.post("/v1/tickets", json=ticket_body(serial=serial, **extra), headers=agent)
    assert r.status_code == 201, r.text
    return r.json()


async def test_R_W2_a_date_change_on_a_unit_redetermines_its_open_tickets_coverage(client, admin, agent, admin_db):
    """The warranty counts from installation; the installation keyed in 20 months ago made the ticket paid; the
    corrected date (6 months ago) puts it in warranty: the open ticket's coverage changes, audited, announced."""
    await seed_line(client, admin, policy=INSTALLATION_POLICY)
    await seed_unit(client, agent, serial="SN-DATES-1", sold_on=add_months(TODAY, -21),
                    installed_on=add_months(TODAY, -20).isoformat())
    card = {"registered_on": add_months(TODAY, -20).isoformat()}  # R-W2: without a card the sale date counts
    assert (await client.post("/v1/units/SN-DATES-1/warranty-card", json=card, headers=agent)).status_code == 200
    closed = await _ticket(client, agent, "SN-DATES-1")
    assert (await client.post(f"/v1/tickets/{closed['id']}/cancel", json={"reason": "duplicate report"},
                              headers=agent)).status_code == 200
    t = await _ticket(client, agent, "SN-DATES-1", force_new=True, force_reason="a second fault")
    assert t["coverage"] == "paid"
    new_day = add_months(TODAY, -6)
    r = await client.patch("/v1/units/SN-DATES-1/dates", json={"installed_on": new_day.isoformat(),
                                                                "reason": "commissioning report found"},
                           headers=agent)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["unit"]["installed_on"] == new_day.isoformat()
    assert body["change"]["actor"] == "agent-1" and body["change"]["kind"] == "dates"
    assert body["change"]["before"] == {"installed_on": add_months(TODAY, -20).isoformat()}
    assert [(x["ticket_id"], x["from_coverage"], x["to_coverage"]) for x in body["redetermined"]] == [
        (t["id"], "paid", "warranty")]  # the cancelled ticket is not touched
    cov = (await client.get(f"/v1/tickets/{t['id']}/coverage", headers=agent)).json()
    assert cov["coverage"] == "warranty" and cov["changes"][-1]["source"] == "unit_change"
    assert "unit dates changed" in cov["coverage_reason"]
    events = await admin_db.fetch("SELECT event_type, payload FROM ticketing.outbox WHERE key = $1 "
                                  "AND event_type = 'ticketing.ticket.coverage_changed'", t["id"])
    assert len(events) == 1
    recorded = await admin_db.fetchval("SELECT count(*) FROM ticketing.outbox WHERE key = 'SN-DATES-1' "
                                       "AND event_type = 'ticketing.unit.recorded'")
    assert recorded == 2  # created, dates
    again = await client.patch("/v1/units/SN-DATES-1/dates", json={"installed_on": new_day.isoformat(),
                                                                    "reason": "same again"}, headers=agent)
    assert again.status_code == 200 and again.json()["change"] is None and again.json()["redetermined"] == []


async def test_unit_dates_refuse_the_future_and_an_empty_change_naming_the_field(client, admin, agent, auth_headers):
    await seed_line(client, admin)
    await seed_unit(client, agent, serial="SN-DATES-2")
    future = await client.patch("/v1/units/SN-DATES-2/dates", json={"delivered_on": add_months(TODAY, 1).isoformat(),
                                                                     "reason": "typo"}, headers=agent)
    assert future.status_code == 422 and future.json()["field"] == "delivered_on"
    empty = await client.patch("/v1/units/SN-DATES-2/dates", json={"reason": "nothing"}, headers=agent)
    assert empty.status_code == 422
    dealer = auth_headers("dealer", sub="d1-user", dealer_id="D1")
    assert (await client.patch("/v1/units/SN-DATES-2/dates", json={"delivered_on": TODAY.isoformat(),
                                                                    "reason": "x y z"}, headers=dealer)
            ).status_code == 403


async def test_ownership_transfer_keeps_the_previous_owner_in_the_history_masked_by_role(
        client, admin, agent, auth_headers):
    await seed_line(client, admin)
    await seed_unit(client, agent, serial="SN-OWNER-1", dealer="D1")
    r = await client.put("/v1/units/SN-OWNER-1/owner", json={
        "customer_name": "李娜", "phone": "13900001111", "address": "上海市徐汇区漕溪北路2号",
        "reason": "sold the house"},
        headers=agent)
    assert r.status_code == 200, r.text
    assert r.json()["unit"]["customer_name"] == "李娜" and r.json()["unit"]["phone"] == "+8613900001111"
    h = (await client.get("/v1/units/SN-OWNER-1/history", headers=agent)).json()
    owner = [c for c in h["changes"] if c["kind"] == "owner"]
    assert owner[0]["before"]["customer_name"] == "王伟" and owner[0]["after"]["customer_name"] == "李娜"
    dealer = auth_headers("dealer", sub="d1-user", dealer_id="D1")
    hd = (await client.get("/v1/units/SN-OWNER-1/history", headers=dealer)).json()
    masked = [c for c in hd["changes"] if c["kind"] == "owner"][0]
    assert masked["before"]["phone"] != "+8613812345678" and hd["unit"]["phone"] != "+8613900001111"


async def test_search_units_by_customer_phone_address_dealer_line_paginated_and_scoped(
        client, admin, agent, auth_headers):
    await seed_line(client, admin)
    for i, (dealer, name) in enumerate([("D1", "张三"), ("D1", "张三丰"), ("D2", "李四")]):
        await seed_unit(client, agent, serial=f"SN-FIND-{i}", dealer=dealer, customer_name=name,
                        phone=f"1381234000{i}", address=f"南京市玄武区{i}号")
    page = (await client.get("/v1/units", params={"customer_name": "张三", "limit": 1}, headers=agent)).json()
    assert page["total"] == 2 and [u["serial"] for u in page["items"]] == ["SN-FIND-0"]
    page2 = (await client.get("/v1/units", params={"customer_name": "张三", "limit": 1, "offset": 1},
                              headers=agent)).json()
    assert [u["serial"] for u in page2["items"]] == ["SN-FIND-1"]
    assert [u["serial"] for u in (await client.get("/v1/units", params={"phone": "40002"}, headers=agent)
                                  ).json()["items"]] == ["SN-FIND-2"]
    assert (await client.get("/v1/units", params={"address": "玄武区1号"}, headers=agent)).json()["total"] == 1
    assert (await client.get("/v1/units", params={"dealer_id": "D2", "product_line": "AC"},
                             headers=agent)).json()["total"] == 1
    assert (await client.get("/v1/units", params={"customer_name": "%"}, headers=agent)).json()["total"] == 0
    d1 = auth_headers("dealer", sub="d1-user", dealer_id="D1")
    mine = (await client.get("/v1/units", params={"address": "南京"}, headers=d1)).json()
    assert mine["total"] == 2 and all(u["dealer_id"] == "D1" for u in mine["items"])
    assert all(u["phone"] != f"+861381234000{i}" for i, u in enumerate(mine["items"]))  # masked for a dealer
    assert (await client.get("/v1/units", params={"dealer_id": "D2"}, headers=d1)).status_code == 403
    bad = await client.get("/v1/units", params={"phone": "1a"}, headers=agent)
    assert bad.status_code == 422


async def test_a_units_history_in_one_answer(client, admin, agent):
    await seed_line(client, admin)
    await seed_unit(client, agent, serial="SN-HIST-1")
    t = await _ticket(client, agent, "SN-HIST-1")
    assert (await client.post("/v1/units/SN-HIST-1/delays", json={"started_on": TODAY.isoformat(), "days": 3,
                                                                   "caused_by": "seller"}, headers=agent)
            ).status_code == 201
    h = await client.get("/v1/units/SN-HIST-1/history", headers=agent)
    assert h.status_code == 200, h.text
    body = h.json()
    assert [x["id"] for x in body["tickets"]] == [t["id"]] and len(body["delays"]) == 1
    assert body["repairs"] == [] and body["extensions"] == []
    assert (await client.get("/v1/units/SN-NOPE-1/history", headers=agent)).status_code == 404


async def test_R_W10_a_dealer_registers_its_own_units_cards_only(client, admin, agent, auth_headers):
    await seed_line(client, admin)
    await seed_unit(client, agent, serial="SN-CARD-1", dealer="D1")
    await seed_unit(client, agent, serial="SN-CARD-2", dealer="D2")
    d1 = auth_headers("dealer", sub="d1-user", dealer_id="D1")
    ok = await client.post("/v1/units/SN-CARD-1/warranty-card", json={"registered_on": TODAY.isoformat()},
                           headers=d1)
    assert ok.status_code == 200, ok.text and ok.json()["card_registered_on"] == TODAY.isoformat()
    other = await client.post("/v1/units/SN-CARD-2/warranty-card", json={"registered_on": TODAY.isoformat()},
                              headers=d1)
    assert other.status_code == 404
    h = (await client.get("/v1/units/SN-CARD-1/history", headers=d1)).json()
    assert [(c["kind"], c["actor"]) for c in h["changes"]] == [("card", "d1-user")]
