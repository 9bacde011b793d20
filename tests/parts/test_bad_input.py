"""Issue 13: bad input is a 4xx naming the field, never a 500 — one test per cause the fuzzer (or review) found.

Each value below used to reach the database (NUL bytes, out-of-range quarters, sums past what a column holds)
or was accepted without a bound; the shared boundary types (``aftersales_shared.schemas``) now refuse them.
"""

from __future__ import annotations

import pytest

from parts.main import create_app

pytestmark = pytest.mark.integration

NUL = "bad\x00value"
SH = {"address": "Shanghai dealer"}


def assert_names(r, status, field):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"].endswith(field), r.text


async def test_nul_in_a_warehouse_text_is_422_naming_the_field(client, clerk):
    """Fuzz: POST /v1/warehouses with a NUL in ``name`` was a 500 (invalid byte sequence for UTF8)."""
    base = {"code": "W-NUL", "name": "depot", "kind": "central", "lat": 1, "lon": 1}
    for field in ("code", "name"):
        assert_names(await client.post("/v1/warehouses", headers=clerk, json={**base, field: NUL}), 422, field)
    assert_names(await client.post("/v1/warehouses", headers=clerk,
                                   json={**base, "kind": "dealer_depot", "dealer_id": NUL}), 422, "dealer_id")
    assert (await client.post("/v1/warehouses", headers=clerk, json=base)).status_code == 201


async def test_nul_in_a_part_request_is_422_naming_the_field(client, kit, auth_headers):
    """Fuzz: POST /v1/part-requests with a NUL in the ship-to address was a 500 (\\u0000 in the function's JSON)."""
    p = await kit.part("P-NUL")
    clerk = auth_headers("parts_clerk", sub="c")
    body = {"lines": [{"part_no": p, "quantity": 1}], "coverage": "paid", "ship_to": SH}
    assert_names(await client.post("/v1/part-requests", headers=clerk,
                                   json={**body, "ship_to": {"address": NUL}}), 422, "ship_to.address")
    for field in ("job_id", "ticket_id", "dealer_id", "engineer_id"):
        assert_names(await client.post("/v1/part-requests", headers=clerk, json={**body, field: NUL}), 422, field)
    assert_names(await client.post("/v1/part-requests", headers=clerk,
                                   json={**body, "lines": [{"part_no": NUL, "quantity": 1}]}), 422, "part_no")


async def test_nul_in_other_bodies_queries_and_paths_is_422_naming_the_field(client, kit, clerk, auth_headers):
    w = await kit.warehouse("W-1")
    p = await kit.part("P-1", lines=("AC-1",))
    r = await client.post("/v1/catalogue/parts", headers=clerk, json={
        "part_no": "P-2", "name": NUL, "product_lines": ["AC"], "cost_price": "1", "list_price": "1"})
    assert_names(r, 422, "name")
    r = await client.post("/v1/catalogue/parts", headers=clerk, json={
        "part_no": "P-2", "name": "x", "product_lines": [NUL], "cost_price": "1", "list_price": "1"})
    assert_names(r, 422, "product_lines.0")
    r = await client.post("/v1/stock/receipts", headers=clerk,
                          json={"warehouse_id": w, "part_no": p, "quantity": 1, "reference": NUL})
    assert_names(r, 422, "reference")
    r = await client.post("/v1/stock/adjustments", headers=clerk,
                          json={"warehouse_id": w, "part_no": p, "quantity": 1, "reason": NUL})
    assert_names(r, 422, "reason")
    assert_names(await client.get("/v1/catalogue/parts", headers=clerk, params={"product_line": NUL}),
                 422, "product_line")
    assert_names(await client.get("/v1/catalogue/parts/bad%00no", headers=clerk), 422, "part_no")
    assert_names(await client.get("/v1/part-requests", headers=clerk, params={"job_id": NUL}), 422, "job_id")
    assert_names(await client.get("/v1/base-stock/suggestions", headers=clerk, params={"dealer_id": NUL}),
                 422, "dealer_id")
    finance = auth_headers("finance")
    assert_names(await client.put("/v1/dealers/D%001/parts-budget/2026Q4", headers=finance,
                                  json={"remittance": "1"}), 422, "dealer_id")


async def test_paging_is_bounded(client, clerk):
    for params, field in (({"offset": 10**19}, "offset"), ({"offset": -1}, "offset"), ({"limit": 0}, "limit"),
                          ({"limit": 1001}, "limit")):
        assert_names(await client.get("/v1/catalogue/parts", headers=clerk, params=params), 422, field)
    assert_names(await client.get("/v1/stock/low", headers=clerk, params={"limit": 10**19}), 422, "limit")
    assert (await client.get("/v1/catalogue/parts", headers=clerk, params={"offset": 1_000_000})).status_code == 200


async def test_quarters_outside_2000Q1_2199Q4_are_422_naming_quarter(client, auth_headers):
    """One range for producers and consumers: settlement books quarters 2000Q1…2199Q4 only."""
    finance = auth_headers("finance")
    for quarter in ("1999Q4", "2200Q1", "0000Q1", "9999Q4"):
        r = await client.put(f"/v1/dealers/D1/parts-budget/{quarter}", headers=finance, json={"remittance": "1"})
        assert_names(r, 422, "quarter")
        assert_names(await client.get(f"/v1/dealers/D1/parts-budget/{quarter}", headers=finance), 422, "quarter")
    for quarter in ("2000Q1", "2199Q4"):
        r = await client.put(f"/v1/dealers/D1/parts-budget/{quarter}", headers=finance, json={"remittance": "1"})
        assert r.status_code == 201, r.text


def test_budget_put_documents_both_created_and_replaced():
    """The PUT answers 201 when it creates the quarter's row and 200 when it replaces it: both documented."""
    from parts.config import PartsSettings

    op = create_app(PartsSettings()).openapi()["paths"]["/v1/dealers/{dealer_id}/parts-budget/{quarter}"]["put"]
    for status in ("200", "201"):
        assert "PartsBudgetRead" in str(op["responses"][status]["content"]["application/json"]["schema"]), status


async def test_warehouse_ids_in_bodies_are_422_naming_the_field(client, kit, clerk):
    w = await kit.warehouse("W-1")
    p = await kit.part("P-1")
    r = await client.post("/v1/stock/transfers", headers=clerk, json={
        "from_warehouse_id": w, "to_warehouse_id": "not-a-uuid", "part_no": p, "quantity": 1})
    assert_names(r, 422, "to_warehouse_id")
    r = await client.post("/v1/stock/transfers", headers=clerk, json={
        "from_warehouse_id": w, "to_warehouse_id": "00000000-0000-0000-0000-000000000000", "part_no": p,
        "quantity": 1})
    assert_names(r, 404, "to_warehouse_id")


async def test_a_balance_past_what_its_column_holds_is_409_not_500(client, kit, clerk, admin_db, ledger_check):
    """on_hand is INTEGER: a receipt that would carry it past 2^31-1 is refused, naming quantity."""
    w = await kit.warehouse("W-BIG")
    p = await kit.part("P-BIG")
    await kit.receive(w, p, 1)
    big = 2_147_483_000  # set up through the ledger (an appended movement + its balance), not 2,147 receipts
    await admin_db.execute(
        "INSERT INTO parts.stock_movements (warehouse_id, part_no, kind, quantity, on_hand_delta, reserved_delta, "
        "at) VALUES ($1::uuid, $2, 'receipt', $3, $3, 0, now())", w, p, big - 1)
    await admin_db.execute("UPDATE parts.stock_balances SET on_hand = $3 WHERE warehouse_id = $1::uuid "
                           "AND part_no = $2", w, p, big)
    r = await client.post("/v1/stock/receipts", headers=clerk, json={"warehouse_id": w, "part_no": p,
                                                                     "quantity": 1_000_000})
    assert r.status_code == 409 and r.json()["code"] == "stock_out_of_range", r.text
    assert r.json()["field"] == "quantity"
    assert (await kit.stock(w))[p]["on_hand"] == big
    await ledger_check()


async def test_prices_are_bounded_so_a_line_value_fits_the_money_columns(client, clerk):
    """list price × the largest line quantity (10,000) must fit NUMERIC(14,2): prices stop at 99,999,999.99."""
    base = {"part_no": "P-PRICE", "name": "x", "product_lines": ["AC"], "cost_price": "1"}
    assert_names(await client.post("/v1/catalogue/parts", headers=clerk,
                                   json={**base, "list_price": "100000000.00"}), 422, "list_price")
    assert_names(await client.post("/v1/catalogue/parts", headers=clerk,
                                   json={**base, "list_price": "-1"}), 422, "list_price")
    assert (await client.post("/v1/catalogue/parts", headers=clerk,
                              json={**base, "list_price": "99999999.99"})).status_code == 201


async def test_tokens_without_their_tenant_id_are_403_not_500(client, kit, auth_headers):
    p = await kit.part("P-T")
    body = {"lines": [{"part_no": p, "quantity": 1}], "coverage": "paid", "ship_to": SH, "job_id": "J-1"}
    for headers, field in ((auth_headers("dealer"), "dealer_id"), (auth_headers("engineer"), "engineer_id")):
        assert_names(await client.post("/v1/part-requests", headers=headers, json=body), 403, field)
        r = await client.get("/v1/part-requests", headers=headers)
        assert r.status_code == 403, r.text
