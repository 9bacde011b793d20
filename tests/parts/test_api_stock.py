"""Catalogue, warehouses and the stock ledger through the real API on real Postgres."""

import pytest

pytestmark = pytest.mark.integration


async def test_stock_movements_keep_ledger_and_balance_in_step(client, kit, clerk, admin_db, ledger_check):
    p = await kit.part()
    central = await kit.warehouse("C1")
    regional = await kit.warehouse("R1", kind="regional", lat=39.9, lon=116.4)
    await kit.receive(central, p, 20)
    r = await client.post("/v1/stock/transfers", headers=clerk, json={
        "from_warehouse_id": central, "to_warehouse_id": regional, "part_no": p, "quantity": 5})
    assert r.status_code == 201, r.text
    r = await client.post("/v1/stock/adjustments", headers=clerk, json={
        "warehouse_id": central, "part_no": p, "quantity": -2, "reason": "cycle count"})
    assert r.status_code == 201, r.text
    r = await client.post("/v1/stock/adjustments", headers=clerk, json={
        "warehouse_id": regional, "part_no": p, "kind": "scrap", "quantity": 1, "reason": "damaged"})
    assert r.status_code == 201, r.text
    # never below zero: a clear 409 naming the field, nothing written
    r = await client.post("/v1/stock/adjustments", headers=clerk, json={
        "warehouse_id": regional, "part_no": p, "kind": "scrap", "quantity": 50, "reason": "damaged"})
    assert r.status_code == 409 and r.json()["field"] == "quantity"
    assert (await kit.stock(central))[p]["on_hand"] == 13
    assert (await kit.stock(regional))[p]["on_hand"] == 4
    await ledger_check()
    kinds = [r["kind"] for r in await admin_db.fetch("SELECT kind FROM parts.stock_movements ORDER BY id")]
    assert kinds == ["receipt", "transfer_out", "transfer_in", "adjust", "scrap"]
    with pytest.raises(Exception, match="append-only"):
        await admin_db.execute("UPDATE parts.stock_movements SET quantity = 99")


async def test_low_stock_alert_once_per_crossing(client, kit, clerk, admin_db, auth_headers):
    p = await kit.part()
    w = await kit.warehouse("C1")
    await kit.receive(w, p, 10)
    r = await client.put("/v1/stock/reorder-points", headers=clerk,
                         json={"warehouse_id": w, "part_no": p, "reorder_point": 8})
    assert r.status_code == 200, r.text
    for _ in range(2):
        await client.post("/v1/stock/adjustments", headers=clerk, json={
            "warehouse_id": w, "part_no": p, "kind": "scrap", "quantity": 2, "reason": "broken"})
    low = await client.get("/v1/stock/low", headers=auth_headers("ops"))
    assert [x["available"] for x in low.json()] == [6]
    types = [r["event_type"] for r in await admin_db.fetch("SELECT event_type FROM parts.outbox")]
    assert types.count("parts.stock.low") == 1


async def test_auth_validation_and_visibility(client, kit, clerk, auth_headers):
    assert (await client.post("/v1/catalogue/parts", json={})).status_code == 401
    r = await client.post("/v1/catalogue/parts", headers=auth_headers("dealer", dealer_id="D1"), json={})
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    r = await client.post("/v1/catalogue/parts", headers=clerk, json={
        "part_no": "X", "name": "x", "product_lines": ["A"], "cost_price": "1.234", "list_price": "2"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cost_price"
    await kit.part("X1")
    r = await client.post("/v1/catalogue/parts", headers=clerk, json={
        "part_no": "X1", "name": "x", "product_lines": ["A"], "cost_price": "1", "list_price": "2"})
    assert r.status_code == 409
    r = await client.post("/v1/warehouses", headers=clerk, json={"code": "D", "name": "d", "kind": "dealer_depot",
                                                              "lat": 1, "lon": 1})
    assert r.status_code == 422 and r.json()["field"] == "dealer_id"
    d1 = await kit.warehouse("D1", kind="dealer_depot", dealer_id="D1")
    await kit.warehouse("D2", kind="dealer_depot", dealer_id="D2")
    van = await kit.warehouse("V1", kind="engineer_van", engineer_id="E1")
    mine = await client.get("/v1/warehouses", headers=auth_headers("dealer", dealer_id="D1"))
    assert [w["id"] for w in mine.json()] == [d1]
    vans = await client.get("/v1/warehouses", headers=auth_headers("engineer", engineer_id="E1"))
    assert [w["id"] for w in vans.json()] == [van]
    assert (await client.get(f"/v1/warehouses/{van}/stock",
                             headers=auth_headers("dealer", dealer_id="D1"))).status_code == 404
    assert (await client.get("/v1/warehouses/not-a-uuid/stock", headers=clerk)).status_code == 422
    r = await client.post("/v1/stock/receipts", headers=clerk, json={"warehouse_id": "nope", "part_no": "X1",
                                                                  "quantity": 1})
    assert r.status_code == 422
