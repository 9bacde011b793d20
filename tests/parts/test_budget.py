"""R-P7 the dealer's quarterly parts budget: set by finance, consumed by dealer shipments, excess charged."""

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aftersales_shared.testing.isolation import uniq
from parts.domain.budget import quarter_of

pytestmark = pytest.mark.integration

SH = {"address": "Shanghai dealer", "lat": 31.23, "lon": 121.47}
SHIP = {"carrier": "SF", "tracking_no": "SF-B"}
EXCESS = "parts.budget.excess_charged"


def _quarter() -> str:
    return quarter_of(datetime.now(UTC), "Asia/Shanghai")


@pytest.fixture
def finance(auth_headers):
    return auth_headers("finance", sub="fin-1")


async def _part(client, clerk, part_no, list_price):
    r = await client.post("/v1/catalogue/parts", headers=clerk, json={
        "part_no": part_no, "name": part_no, "product_lines": ["AC-1"], "cost_price": "1.00",
        "list_price": list_price})
    assert r.status_code == 201, r.text
    return part_no


async def _warranty_request(client, dealer, lines):
    """A dealer's own in-warranty request with its R-P3 documents, ready to ship."""
    r = await client.post("/v1/part-requests", headers=dealer, json={
        "lines": [{"part_no": p, "quantity": q} for p, q in lines], "coverage": "warranty", "ship_to": SH})
    assert r.status_code == 201 and r.json()["status"] == "allocated", r.text
    rid = r.json()["id"]
    for kind in ("replacement_list", "old_part_waybill"):
        d = await client.post(f"/v1/part-requests/{rid}/documents", headers=dealer,
                              json={"kind": kind, "reference": "x"})
        assert d.status_code == 200, d.text
    return rid


async def _excess_events(admin_db):
    rows = await admin_db.fetch("SELECT payload FROM parts.outbox WHERE event_type = $1 ORDER BY id", EXCESS)
    return [json.loads(r["payload"])["payload"] for r in rows]


async def test_R_P7_budget_set_and_read_with_roles_and_validation(client, finance, clerk, auth_headers):
    q = "2026Q4"
    r = await client.put(f"/v1/dealers/D1/parts-budget/{q}", headers=finance, json={"remittance": "123456.78"})
    assert r.status_code == 201, r.text
    body = r.json()
    # default percent (PARTS_BUDGET_PERCENT = 5): 6172.839 → 6172.84, money as strings
    assert (body["percent"], body["budget"], body["used"], body["remaining"]) == ("5.00", "6172.84", "0.00",
                                                                                  "6172.84")
    r = await client.put(f"/v1/dealers/D1/parts-budget/{q}", headers=auth_headers("admin"),
                         json={"remittance": "1000.05", "percent": "3.5"})
    assert r.status_code == 200 and r.json()["budget"] == "35.00"  # 35.00175 → 35.00
    for who in (clerk, auth_headers("dealer", dealer_id="D1"), auth_headers("ops")):
        assert (await client.put(f"/v1/dealers/D1/parts-budget/{q}", headers=who,
                                 json={"remittance": "1"})).status_code == 403
    own = await client.get(f"/v1/dealers/D1/parts-budget/{q}", headers=auth_headers("dealer", dealer_id="D1"))
    assert own.status_code == 200 and own.json()["budget"] == "35.00"
    other = await client.get(f"/v1/dealers/D1/parts-budget/{q}", headers=auth_headers("dealer", dealer_id="D2"))
    assert other.status_code == 403 and other.json()["field"] == "dealer_id"
    assert (await client.get(f"/v1/dealers/D1/parts-budget/{q}", headers=clerk)).status_code == 200
    assert (await client.get(f"/v1/dealers/D1/parts-budget/{q}",
                             headers=auth_headers("engineer", engineer_id="E1"))).status_code == 403
    missing = await client.get("/v1/dealers/D1/parts-budget/2026Q1", headers=finance)
    assert missing.status_code == 404
    # client mistakes: 422 naming the field, never a 500
    for quarter in ("2026Q5", "2026-Q4", "26Q1", "Q4"):
        r = await client.put(f"/v1/dealers/D1/parts-budget/{quarter}", headers=finance, json={"remittance": "1"})
        assert r.status_code == 422 and r.json()["field"].endswith("quarter"), (quarter, r.text)
        r = await client.get(f"/v1/dealers/D1/parts-budget/{quarter}", headers=finance)
        assert r.status_code == 422 and r.json()["field"].endswith("quarter"), (quarter, r.text)
    for bad, field in (({"remittance": "-0.01"}, "remittance"), ({"remittance": "1.001"}, "remittance"),
                       ({"remittance": "abc"}, "remittance"), ({}, "remittance"),
                       ({"remittance": "1", "percent": "100.01"}, "percent"),
                       ({"remittance": "1", "percent": "-1"}, "percent"),
                       ({"remittance": "1", "percent": "1.234"}, "percent"),
                       ({"remittance": "1", "extra": 1}, "extra")):
        r = await client.put(f"/v1/dealers/D1/parts-budget/{q}", headers=finance, json=bad)
        assert r.status_code == 422 and r.json()["field"].endswith(field), (bad, r.text)
    assert (await client.get(f"/v1/dealers/D1/parts-budget/{q}", headers=finance)).json()["budget"] == "35.00"


async def test_R_P7_within_budget_no_excess_then_crossing_charges_exactly_the_excess(
        client, kit, clerk, finance, auth_headers, admin_db, outbox_types):
    a = await _part(client, clerk, "B-A", "33.33")
    b = await _part(client, clerk, "B-B", "120.01")
    w = await kit.warehouse("C1")
    await kit.receive(w, a, 50)
    await kit.receive(w, b, 50)
    q = _quarter()
    # budget 300.00 × 50 % = 150.00
    r = await client.put(f"/v1/dealers/D1/parts-budget/{q}", headers=finance,
                         json={"remittance": "300", "percent": "50"})
    assert r.json()["budget"] == "150.00"
    dealer = auth_headers("dealer", sub="d1", dealer_id="D1")

    first = await _warranty_request(client, dealer, [(a, 3)])  # 99.99
    r = await client.post(f"/v1/part-requests/{first}/ship", headers=clerk, json=SHIP)
    assert r.status_code == 200, r.text
    assert r.json()["parts_budget"] == {"quarter": q, "value": "99.99", "enforced": True, "excess": "0.00"}
    assert r.json()["shipment"]["budget_excess"] == "0.00"
    got = (await client.get(f"/v1/dealers/D1/parts-budget/{q}", headers=dealer)).json()
    assert (got["used"], got["remaining"], got["excess_charged"]) == ("99.99", "50.01", "0.00")
    assert await _excess_events(admin_db) == []

    second = await _warranty_request(client, dealer, [(a, 1), (b, 2)])  # 33.33 + 240.02 = 273.35
    r = await client.post(f"/v1/part-requests/{second}/ship", headers=clerk, json=SHIP)
    assert r.status_code == 200, r.text
    assert r.json()["parts_budget"] == {"quarter": q, "value": "273.35", "enforced": True, "excess": "223.34"}
    shipment = r.json()["shipment"]
    assert (shipment["budget_quarter"], shipment["budget_value"], shipment["budget_excess"]) == (q, "273.35",
                                                                                                "223.34")
    got = (await client.get(f"/v1/dealers/D1/parts-budget/{q}", headers=dealer)).json()
    assert (got["used"], got["remaining"], got["excess_charged"]) == ("373.34", "0.00", "223.34")
    events = await _excess_events(admin_db)
    assert len(events) == 1
    ev = events[0]
    assert (ev["dealer_id"], ev["request_id"], ev["quarter"], ev["value"], ev["excess_amount"]) == (
        "D1", second, q, "273.35", "223.34")
    assert ev["shipment_id"] == shipment["id"]
    # a replayed ship is refused and charges nothing again
    assert (await client.post(f"/v1/part-requests/{second}/ship", headers=clerk, json=SHIP)).status_code == 409
    assert len(await _excess_events(admin_db)) == 1

    # a new remittance re-computes the budget but keeps what was used and charged
    r = await client.put(f"/v1/dealers/D1/parts-budget/{q}", headers=finance,
                         json={"remittance": "1000", "percent": "50"})
    assert (r.json()["budget"], r.json()["used"], r.json()["remaining"], r.json()["excess_charged"]) == (
        "500.00", "373.34", "126.66", "223.34")
    third = await _warranty_request(client, dealer, [(b, 1)])  # 120.01 fits in 126.66
    r = await client.post(f"/v1/part-requests/{third}/ship", headers=clerk, json=SHIP)
    assert r.json()["parts_budget"]["excess"] == "0.00"
    assert (await outbox_types()).count(EXCESS) == 1


async def test_R_P7_racing_shipments_never_share_the_remaining_budget(
        client, kit, clerk, finance, auth_headers, admin_db):
    parts = [await _part(client, clerk, f"R-{i}", "70.07") for i in range(8)]
    w = await kit.warehouse("C1")
    for p in parts:
        await kit.receive(w, p, 10)
    q = _quarter()
    await client.put(f"/v1/dealers/D7/parts-budget/{q}", headers=finance,
                     json={"remittance": "305.55", "percent": "100"})
    dealer = auth_headers("dealer", sub="d7", dealer_id="D7")
    # distinct parts per request: shipments do not serialise on a part lock, only on the budget row
    rids = [await _warranty_request(client, dealer, [(p, 1 + i % 3)]) for i, p in enumerate(parts)]
    results = await asyncio.gather(*[client.post(f"/v1/part-requests/{rid}/ship", headers=clerk, json=SHIP)
                                     for rid in rids])
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.status_code != 200][:2]
    values = [Decimal(r.json()["parts_budget"]["value"]) for r in results]
    excesses = [Decimal(r.json()["parts_budget"]["excess"]) for r in results]
    total, budget = sum(values), Decimal("305.55")
    got = (await client.get(f"/v1/dealers/D7/parts-budget/{q}", headers=finance)).json()
    assert Decimal(got["used"]) == total
    assert sum(excesses) == max(total - budget, Decimal(0)) == Decimal(got["excess_charged"])
    # exactly one shipment straddles the budget edge; the ones before fit, the ones after are charged fully
    assert sum(1 for v, x in zip(values, excesses, strict=True) if 0 < x < v) <= 1
    stored = await admin_db.fetchval(
        "SELECT sum(budget_excess) FROM parts.shipments WHERE budget_quarter = $1", q)
    assert stored == sum(excesses)
    events = await _excess_events(admin_db)
    assert len(events) == sum(1 for x in excesses if x > 0)
    assert sum(Decimal(e["excess_amount"]) for e in events) == sum(excesses)


async def test_R_P7_not_enforced_without_a_budget_and_only_dealer_warranty_draws_count(
        client, kit, clerk, finance, auth_headers, admin_db, known_job):
    a = await _part(client, clerk, "N-A", "10.00")
    w = await kit.warehouse("C1")
    await kit.receive(w, a, 50)
    q = _quarter()
    dealer = auth_headers("dealer", sub="d3", dealer_id="D3")
    rid = await _warranty_request(client, dealer, [(a, 2)])
    r = await client.post(f"/v1/part-requests/{rid}/ship", headers=clerk, json=SHIP)
    assert r.status_code == 200, r.text
    pb = r.json()["parts_budget"]
    assert (pb["enforced"], pb["excess"], pb["value"], pb["quarter"]) == (False, None, "20.00", q)
    assert "no parts budget" in pb["reason"]
    assert r.json()["shipment"]["budget_excess"] is None
    assert await _excess_events(admin_db) == []

    # with a zero budget: an engineer's job request and a dealer's paid (bought, R-P2) request draw nothing
    await client.put(f"/v1/dealers/D3/parts-budget/{q}", headers=finance, json={"remittance": "0"})
    job = uniq("J")  # the request's events carry it over Kafka: this test's own
    await known_job(job, "E1", "D3")
    eng = await client.post("/v1/part-requests", headers=auth_headers("engineer", engineer_id="E1", dealer_id="D3"),
                            json={"lines": [{"part_no": a, "quantity": 1}], "coverage": "warranty", "ship_to": SH,
                                  "job_id": job})
    paid = await client.post("/v1/part-requests", headers=dealer, json={
        "lines": [{"part_no": a, "quantity": 1}], "coverage": "paid", "ship_to": SH})
    await client.post(f"/v1/part-requests/{paid.json()['id']}/payment", headers=finance, json={"reference": "B1"})
    for req_id in (eng.json()["id"], paid.json()["id"]):
        if eng.json()["id"] == req_id:
            for kind in ("replacement_list", "old_part_waybill"):
                await client.post(f"/v1/part-requests/{req_id}/documents", headers=clerk,
                                  json={"kind": kind, "reference": "x"})
        r = await client.post(f"/v1/part-requests/{req_id}/ship", headers=clerk, json=SHIP)
        assert r.status_code == 200, r.text
        assert r.json()["parts_budget"] is None and r.json()["shipment"]["budget_quarter"] is None
    got = (await client.get(f"/v1/dealers/D3/parts-budget/{q}", headers=finance)).json()
    assert (got["used"], got["excess_charged"]) == ("0.00", "0.00")
    assert await _excess_events(admin_db) == []
