"""Issue 15 item 3 end to end: an exchange on day 10 (R-W4) in ticketing ships a new unit.

Ticketing retires the old serial, registers the new unit with the inherited cover and emits
``ticketing.unit.remedy_completed`` (outbox → Kafka); parts creates one warranty part request for the whole unit
(the unit's model as the line's part number) on the R-P1 clock — a redelivered event, or the same remedy announced
twice, creates no second one; settlement books a ``unit_replacement`` fact valued by the dealer contract's
``unit_replacement_fee``. The services cooperate only through Kafka.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaProducer

from aftersales_shared.events.ticketing import UnitRemedyCompleted

pytestmark = pytest.mark.integration
SHANGHAI = ZoneInfo("Asia/Shanghai")
FEE = Decimal("150.00")


async def test_R_W4_exchange_on_day_10_reaches_parts_once_and_settlement(platform, auth_headers, eventually,
                                                                          admin_db, infra_settings):
    tk, pt, st = (platform[n].client for n in ("ticketing", "parts", "settlement"))
    sfx = uuid.uuid4().hex[:8]
    line, serial, new_serial, dealer = f"RM-{sfx}", f"SN-RM-{sfx}", f"SN-RMN-{sfx}", f"D-RM-{sfx}"
    admin, agent = auth_headers("admin", sub="rm-admin"), auth_headers("call_center", sub="rm-agent")
    finance, clerk = auth_headers("finance", sub="rm-finance"), auth_headers("parts_clerk", sub="rm-clerk")
    today = datetime.now(SHANGHAI).date()
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"

    r = await tk.post("/v1/product-lines", headers=admin, json={"code": line, "name": "Fridge", "required_skill": "rf"})
    assert r.status_code == 201, r.text
    r = await tk.post(f"/v1/product-lines/{line}/policies", headers=admin, json={
        "effective_from": "2020-01-01", "months": 24, "start_basis": "sale", "return_days": 7, "exchange_days": 15})
    assert r.status_code == 201, r.text
    r = await st.post("/v1/dealers", headers=finance,
                      json={"id": dealer, "name": "Remedy Dealer", "territories": ["SH"]})
    assert r.status_code == 201, r.text
    r = await st.post(f"/v1/dealers/{dealer}/contracts", headers=finance, json={
        "effective_from": f"{today.year}-01-01", "fee_model": "d",
        "parameters": {"repair_fee": "80.00", "unit_replacement_fee": str(FEE)}})
    assert r.status_code == 201, r.text
    r = await pt.post("/v1/catalogue/parts", headers=clerk, json={  # the whole unit, as the catalogue lists it
        "part_no": line, "name": "Fridge (whole unit)", "product_lines": [line], "cost_price": "1800.00",
        "list_price": "2400.00", "must_return": False})
    assert r.status_code == 201, r.text
    r = await pt.post("/v1/warehouses", headers=clerk, json={
        "code": f"W-RM-{sfx}", "name": "central", "kind": "central", "lat": 31.2, "lon": 121.5})
    assert r.status_code == 201, r.text
    r = await pt.post("/v1/stock/receipts", headers=clerk,
                      json={"warehouse_id": r.json()["id"], "part_no": line, "quantity": 2})
    assert r.status_code == 201, r.text
    r = await tk.post("/v1/units", headers=agent, json={
        "serial": serial, "product_line": line, "dealer_id": dealer, "sold_on": str(today - timedelta(days=10)),
        "customer_name": "李娜", "phone": "13912345678"})
    assert r.status_code == 201, r.text
    r = await tk.post("/v1/tickets", headers=agent, json={
        "serial": serial, "customer_name": "李娜", "phone": "139 1234 5678", "address": "上海市黄浦区南京东路1号",
        "region_code": "310101", "channel": "phone", "fault_description": "does not cool at all"})
    assert r.status_code == 201, r.text
    ticket = r.json()

    refused = await tk.post(f"/v1/tickets/{ticket['id']}/remedies", headers=agent,
                            json={"kind": "return", "reason": "wants a refund"})
    assert refused.status_code == 409 and refused.json()["rule"] == "R-W4", refused.text
    r = await tk.post(f"/v1/tickets/{ticket['id']}/remedies", headers={**agent, "Idempotency-Key": f"rm-{sfx}"},
                      json={"kind": "exchange", "reason": "does not cool, day 10", "new_serial": new_serial})
    assert r.status_code == 201, r.text
    remedy = r.json()
    assert (await tk.get(f"/v1/units/{serial}", headers=agent)).json()["status"] == "retired"
    w = (await tk.get(f"/v1/units/{new_serial}/warranty", headers=agent)).json()
    assert w["coverage"] == "warranty" and w["start_date"] == str(today - timedelta(days=10))

    async def requests_for_ticket():
        return await admin_db.fetch(
            "SELECT r.id, r.coverage, r.requester_kind, r.dealer_id, r.ship_to_address, l.part_no, l.quantity "
            "FROM parts.part_requests r JOIN parts.part_request_lines l ON l.request_id = r.id "
            "WHERE r.ticket_id = $1", ticket["id"])

    rows = await eventually("parts creates the request for the new unit", requests_for_ticket, lambda x: len(x) == 1)
    req = rows[0]
    assert (req["part_no"], req["quantity"], req["coverage"], req["requester_kind"], req["dealer_id"]) == (
        line, 1, "warranty", "clerk", dealer)
    assert req["ship_to_address"] == "上海市黄浦区南京东路1号"
    got = (await pt.get(f"/v1/part-requests/{req['id']}", headers=clerk)).json()
    assert got["status"] == "allocated"

    # a redelivery (same event) and the same remedy announced again (a new event id): still one request
    raw = await admin_db.fetchval("SELECT payload FROM ticketing.outbox WHERE event_type = $1 AND key = $2",
                                  UnitRemedyCompleted.TYPE, serial)
    envelope = json.loads(raw)
    again = {**envelope, "event_id": str(uuid.uuid4())}
    producer = AIOKafkaProducer(bootstrap_servers=infra_settings("parts")["kafka"].bootstrap_servers)
    await producer.start()
    try:
        for e in (envelope, again):
            await producer.send_and_wait(UnitRemedyCompleted.TOPIC, json.dumps(e).encode(), key=serial.encode())
    finally:
        await producer.stop()
    await eventually("parts has seen the repeated announcement",
                     lambda: admin_db.fetchval("SELECT count(*) FROM parts.inbox WHERE event_id = $1",
                                               uuid.UUID(again["event_id"])), lambda n: n >= 1)
    assert len(await requests_for_ticket()) == 1

    async def ledger():
        r = await st.get(f"/v1/dealers/{dealer}/ledger", params={"quarter": quarter}, headers=finance)
        assert r.status_code == 200, r.text
        return [e for e in r.json() if e["kind"] == "unit_replacement"]

    entries = await eventually("settlement books the unit replacement", ledger, lambda x: len(x) >= 1)
    await eventually("settlement has seen the repeated announcement",
                     lambda: admin_db.fetchval("SELECT count(*) FROM settlement.inbox WHERE event_id = $1",
                                               uuid.UUID(again["event_id"])), lambda n: n >= 1)
    entries = await ledger()
    assert [e["source_id"] for e in entries] == [f"remedy:{remedy['id']}"]  # one remedy, counted once
    for month in months_of_quarter(today):
        r = await st.post(f"/v1/dealers/{dealer}/monthly-reports", headers=finance,
                          json={"month": month, "records": True, "quality_feedback": True})
        assert r.status_code == 201, r.text
    r = await st.post("/v1/statement-runs", headers=finance, json={"quarter": quarter, "dealer_ids": [dealer]})
    assert r.status_code == 200, r.text
    statement = (await st.get(f"/v1/statements/{r.json()['created'][0]['statement_id']}", headers=finance)).json()
    lines = {ln["code"]: ln for ln in statement["lines"]}
    assert Decimal(lines["fee_unit_replacements"]["amount"]) == FEE
    assert Decimal(lines["fee_unit_replacements"]["quantity"]) == 1


def months_of_quarter(d) -> list[str]:
    """The quarter's months and the two before (the R-D4 streaks look back across the quarter boundary)."""
    first = (d.month - 1) // 3 * 3 + 1
    out = []
    for back in range(-2, 3):
        m = first - 1 + back
        out.append(f"{d.year + m // 12}-{m % 12 + 1:02d}")
    return out
