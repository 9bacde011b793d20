"""Part requests end to end: allocation, gates (R-P2/R-P3), ship-by (R-P1), shipping (R-P6), returns (R-P4)."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from parts.background import run_once

pytestmark = pytest.mark.integration

SH = {"address": "Shanghai dealer", "lat": 31.23, "lon": 121.47}


def req(part_no, qty=1, coverage="paid", **kw):
    return {"lines": [{"part_no": part_no, "quantity": qty}], "coverage": coverage, "ship_to": SH, **kw}


async def test_allocation_picks_nearest_warehouse_that_can_fill(client, kit, auth_headers, ledger_check):
    p = await kit.part()
    bj = await kit.warehouse("BJ", lat=39.9, lon=116.4)
    sh = await kit.warehouse("SH", kind="regional", lat=31.2, lon=121.5)
    await kit.receive(bj, p, 10)
    await kit.receive(sh, p, 2)
    dealer = auth_headers("dealer", sub="d1", dealer_id="D1")
    near = await client.post("/v1/part-requests", headers=dealer, json=req(p, 2))
    assert near.status_code == 201, near.text
    assert near.json()["status"] == "allocated"
    assert [r["warehouse_id"] for r in near.json()["reservations"]] == [sh]
    far = await client.post("/v1/part-requests", headers=dealer, json=req(p, 3))
    assert [r["warehouse_id"] for r in far.json()["reservations"]] == [bj]
    none = await client.post("/v1/part-requests", headers=dealer, json=req(p, 8))
    assert none.json()["status"] == "backordered" and none.json()["reservations"] == []
    assert (await kit.stock(bj))[p]["available"] == 7
    await ledger_check()
    # dealers see only their own; engineers only their jobs'
    other = await client.get(f"/v1/part-requests/{near.json()['id']}", headers=auth_headers("dealer", dealer_id="D2"))
    assert other.status_code == 404
    assert len((await client.get("/v1/part-requests", headers=dealer)).json()) == 3
    assert (await client.get("/v1/part-requests", headers=auth_headers("engineer", engineer_id="E9"))).json() == []
    r = await client.post("/v1/part-requests", headers=dealer, json=req("NOPE"))
    assert r.status_code == 422 and r.json()["field"] == "lines.0.part_no"
    r = await client.post("/v1/part-requests", headers=auth_headers("engineer", engineer_id="E1"), json=req(p))
    assert r.status_code == 422 and r.json()["field"] == "job_id"


async def test_R_P2_paid_request_ships_only_after_payment_R_P6_urgent_surcharge(
        client, kit, clerk, auth_headers, outbox_types):
    p = await kit.part()
    w = await kit.warehouse("C1")
    await kit.receive(w, p, 5)
    dealer = auth_headers("dealer", sub="d1", dealer_id="D1")
    created = (await client.post("/v1/part-requests", headers=dealer, json=req(p, 2, urgent=True))).json()
    rid = created["id"]
    assert created["ship_by"] is None  # not shippable until paid: the 3-day clock has not started
    ship = {"carrier": "EMS", "tracking_no": "E123", "standard_freight": "12.00", "urgent_freight": "45.50"}
    r = await client.post(f"/v1/part-requests/{rid}/ship", headers=clerk, json=ship)
    assert r.status_code == 409 and r.json()["code"] == "gate_closed" and r.json()["missing"] == ["payment"]
    paid = await client.post(f"/v1/part-requests/{rid}/payment", headers=auth_headers("finance"),
                             json={"reference": "BANK-1"})
    assert paid.status_code == 200, paid.text
    body = paid.json()
    shippable = datetime.fromisoformat(body["shippable_at"])
    assert datetime.fromisoformat(body["ship_by"]) == shippable + timedelta(days=3)  # R-P1
    r = await client.post(f"/v1/part-requests/{rid}/ship", headers=clerk, json=ship)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "shipped"
    assert Decimal(r.json()["shipment"]["urgent_surcharge"]) == Decimal("33.50")
    assert (await kit.stock(w))[p] | {} == {**(await kit.stock(w))[p], "on_hand": 3, "reserved": 0}
    r = await client.post(f"/v1/part-requests/{rid}/deliver", headers=dealer)
    assert r.status_code == 200 and r.json()["status"] == "delivered"
    assert await outbox_types(rid) == ["parts.request.created", "parts.request.allocated",
                                       "parts.request.shipped", "parts.request.delivered"]


async def test_R_P3_warranty_needs_documents_then_R_P4_return_cycle(
        client, kit, clerk, auth_headers, admin_db, outbox_types, ledger_check):
    p = await kit.part(must_return=True, cost="80.00")
    w = await kit.warehouse("C1")
    await kit.receive(w, p, 5)
    dealer = auth_headers("dealer", sub="d1", dealer_id="D1")
    rids = []
    for _ in range(2):
        rids.append((await client.post("/v1/part-requests", headers=dealer, json=req(p, 1, coverage="warranty"))
                     ).json()["id"])
    ship = {"carrier": "SF", "tracking_no": "SF1"}
    r = await client.post(f"/v1/part-requests/{rids[0]}/ship", headers=clerk, json=ship)
    assert r.json()["missing"] == ["replacement_list", "old_part_waybill"]
    for rid in rids:
        for kind in ("replacement_list", "old_part_waybill"):
            r = await client.post(f"/v1/part-requests/{rid}/documents", headers=dealer,
                                  json={"kind": kind, "reference": f"{kind}-1"})
            assert r.status_code == 200, r.text
        assert r.json()["ship_by"] is not None
        r = await client.post(f"/v1/part-requests/{rid}/ship", headers=clerk, json=ship)
        assert r.status_code == 200, r.text
        assert r.json()["shipment"]["urgent_surcharge"] == "0.00"
    returns = (await client.get("/v1/returns", headers=dealer)).json()
    assert len(returns) == 2 and {x["status"] for x in returns} == {"due"}
    # one comes back reusable: refurbished into stock
    r = await client.post(f"/v1/returns/{returns[0]['id']}/receive", headers=clerk,
                          json={"appraisal": "reusable", "warehouse_id": w})
    assert r.status_code == 200, r.text
    assert (await kit.stock(w))[p]["on_hand"] == 4
    # the other misses its due date: chargeback at cost price, emitted once however often the watcher runs
    later = datetime.now(UTC) + timedelta(days=31)
    await run_once(client.app, later)
    await run_once(client.app, later + timedelta(hours=1))
    missed = (await client.get("/v1/returns", headers=clerk, params={"status": "missed"})).json()
    assert len(missed) == 1 and Decimal(missed[0]["chargeback_amount"]) == Decimal("80.00")
    types = await outbox_types()
    assert types.count("parts.return.missed") == 1 and types.count("parts.return.due") == 2
    assert types.count("parts.return.received") == 1
    r = await client.post(f"/v1/returns/{returns[0]['id']}/receive", headers=clerk, json={"appraisal": "scrap"})
    assert r.status_code == 409
    await ledger_check()


async def test_R_P1_at_risk_and_breached_listed_and_emitted_once(client, kit, clerk, auth_headers, outbox_types):
    p = await kit.part()
    dealer = auth_headers("dealer", sub="d1", dealer_id="D1")
    rid = (await client.post("/v1/part-requests", headers=dealer, json=req(p, 1))).json()["id"]
    await client.post(f"/v1/part-requests/{rid}/payment", headers=clerk, json={"reference": "B"})
    ops = auth_headers("ops")
    assert (await client.get("/v1/ops/ship-commitments", headers=ops, params={"state": "at_risk"})).json() == []
    now = datetime.now(UTC)
    await run_once(client.app, now + timedelta(days=2, hours=1))   # < 24 h left
    await run_once(client.app, now + timedelta(days=2, hours=2))
    await run_once(client.app, now + timedelta(days=4))            # past ship-by
    await run_once(client.app, now + timedelta(days=5))
    types = await outbox_types(rid)
    assert types.count("parts.request.ship_at_risk") == 1
    assert types.count("parts.request.ship_breached") == 1
    assert "parts.request.backordered" in types


async def test_backorders_filled_in_ship_by_order_when_stock_arrives(client, kit, clerk, auth_headers,
                                                                     outbox_types, ledger_check):
    """Stock that arrives (a receipt, then a transfer into an allocating warehouse) goes to the backorder with the
    earliest ship-by, not to the oldest request; requests whose ship-by clock has not started wait last."""
    p = await kit.part()
    central = await kit.warehouse("C1")
    regional = await kit.warehouse("R2", kind="regional")
    depot = await kit.warehouse("D1-DEPOT", kind="dealer_depot", dealer_id="D1")  # not an allocation source
    dealer = auth_headers("dealer", sub="d1", dealer_id="D1")

    async def get(rid):
        r = await client.get(f"/v1/part-requests/{rid}", headers=clerk)
        assert r.status_code == 200, r.text
        return r.json()

    async def statuses():
        return {rid: (await get(rid))["status"] for rid in (unpaid, late, early)}

    unpaid = (await client.post("/v1/part-requests", headers=dealer, json=req(p, 1))).json()["id"]
    late = (await client.post("/v1/part-requests", headers=dealer, json=req(p, 1))).json()["id"]
    early = (await client.post("/v1/part-requests", headers=dealer, json=req(p, 1))).json()["id"]
    assert await statuses() == {unpaid: "backordered", late: "backordered", early: "backordered"}
    # `early` is the newest request but is paid first: its 3-day ship-by clock (R-P1) starts an hour earlier
    assert (await client.post(f"/v1/part-requests/{early}/payment", headers=clerk,
                              json={"reference": "B1"})).status_code == 200
    moved = await client.post("/v1/admin/clock", headers=auth_headers("admin"), json={"seconds": 3600})
    assert moved.status_code == 200, moved.text
    assert (await client.post(f"/v1/part-requests/{late}/payment", headers=clerk,
                              json={"reference": "B2"})).status_code == 200
    ship_by = {rid: (await get(rid))["ship_by"] for rid in (unpaid, late, early)}
    assert ship_by[unpaid] is None
    assert datetime.fromisoformat(ship_by[late]) - datetime.fromisoformat(ship_by[early]) >= timedelta(hours=1)

    # one unit received: the earliest ship-by gets it; the older `late` request stays backordered
    got = await kit.receive(central, p, 1)
    assert got["backorder_lines_filled"] == 1
    assert await statuses() == {early: "allocated", late: "backordered", unpaid: "backordered"}
    assert [(x["warehouse_id"], x["quantity"]) for x in (await get(early))["reservations"]] == [(central, 1)]

    # a unit received at a dealer depot fills nothing; transferred to a regional warehouse, it fills the next
    # backorder in ship-by order (`late`, paid), not the older but unpaid one
    assert (await kit.receive(depot, p, 1))["backorder_lines_filled"] == 0
    assert await statuses() == {early: "allocated", late: "backordered", unpaid: "backordered"}
    r = await client.post("/v1/stock/transfers", headers=clerk, json={
        "from_warehouse_id": depot, "to_warehouse_id": regional, "part_no": p, "quantity": 1})
    assert r.status_code == 201, r.text
    assert r.json() == {"moved": 1, "backorder_lines_filled": 1}
    assert await statuses() == {early: "allocated", late: "allocated", unpaid: "backordered"}
    assert [(x["warehouse_id"], x["quantity"]) for x in (await get(late))["reservations"]] == [(regional, 1)]

    # cancelling releases the reservation and refills: the request without a ship-by is served last, i.e. now
    r = await client.post(f"/v1/part-requests/{early}/cancel", headers=dealer)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert await statuses() == {early: "cancelled", late: "allocated", unpaid: "allocated"}
    assert await outbox_types(unpaid) == ["parts.request.created", "parts.request.backordered",
                                          "parts.request.allocated"]
    assert await outbox_types(late) == ["parts.request.created", "parts.request.backordered",
                                        "parts.request.allocated"]
    await ledger_check()


async def test_idempotency_key_replays_the_first_response(client, kit, auth_headers, admin_db):
    p = await kit.part()
    w = await kit.warehouse("C1")
    await kit.receive(w, p, 5)
    h = {**auth_headers("dealer", sub="d1", dealer_id="D1"), "Idempotency-Key": "key-0001"}
    results = await asyncio.gather(*[client.post("/v1/part-requests", headers=h, json=req(p, 1)) for _ in range(5)])
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["id"] for r in results}) == 1
    assert await admin_db.fetchval("SELECT count(*) FROM parts.part_requests") == 1
    assert (await kit.stock(w))[p]["reserved"] == 1
    r = await client.post("/v1/part-requests", headers=h, json=req(p, 2))
    assert r.status_code == 409 and r.json()["code"] == "idempotency_key_reused"


async def test_racing_64_requests_for_the_last_10_units(client, kit, auth_headers, admin_db, ledger_check):
    """Nothing is ever oversold: exactly 10 of 64 concurrent requests are allocated, stock never negative."""
    p = await kit.part()
    w1 = await kit.warehouse("C1")
    w2 = await kit.warehouse("R1", kind="regional", lat=30.0, lon=120.0)
    await kit.receive(w1, p, 6)
    await kit.receive(w2, p, 4)
    headers = [auth_headers("dealer", sub=f"d{i}", dealer_id=f"D{i % 7}") for i in range(64)]
    results = await asyncio.gather(*[client.post("/v1/part-requests", headers=h, json=req(p, 1)) for h in headers])
    assert all(r.status_code == 201 for r in results), [r.text for r in results if r.status_code != 201][:2]
    statuses = [r.json()["status"] for r in results]
    assert statuses.count("allocated") == 10
    assert statuses.count("backordered") == 54
    bal = await admin_db.fetch("SELECT on_hand, reserved FROM parts.stock_balances")
    assert sum(b["reserved"] for b in bal) == 10 and all(b["on_hand"] - b["reserved"] == 0 for b in bal)
    assert await admin_db.fetchval("SELECT count(*) FROM parts.reservations WHERE status = 'active'") == 10
    await ledger_check()
