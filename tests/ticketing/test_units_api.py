"""Installed base: create, CSV import (all-or-nothing), warranty card, extension, delays, warranty endpoint."""

import json
from datetime import date

import pytest

from .conftest import POLICY, seed_line, seed_unit

pytestmark = pytest.mark.integration


async def test_unit_keeps_the_policy_in_force_at_sale(client, admin, agent):
    v1 = await seed_line(client, admin)
    v2 = (await client.post("/v1/product-lines/AC/policies", json={**POLICY, "effective_from": "2026-06-01",
                                                                    "months": 24}, headers=admin)).json()
    assert v2["version"] == 2
    old = await seed_unit(client, agent, serial="SN-OLD", sold_on=date(2026, 5, 31))
    new = await seed_unit(client, agent, serial="SN-NEW", sold_on=date(2026, 6, 1))
    assert old["policy_id"] == v1["id"] and new["policy_id"] == v2["id"]
    w = (await client.get("/v1/units/SN-OLD/warranty", params={"on": "2027-06-15"}, headers=agent)).json()
    assert w["coverage"] == "paid" and w["reasons"]
    w = (await client.get("/v1/units/SN-NEW/warranty", params={"on": "2027-06-15"}, headers=agent)).json()
    assert w["coverage"] == "warranty"


async def test_warranty_endpoint_components_and_early_life(client, admin, agent):
    await seed_line(client, admin)
    await seed_unit(client, agent, sold_on=date(2026, 1, 10))
    w = (await client.get("/v1/units/SN-0001/warranty", params={"on": "2026-01-15"}, headers=agent)).json()
    assert w["early_life_rights"] == ["return", "exchange", "repair"] and w["basis"] == "sale"
    assert w["shipping_customer_share"] == "0.50"  # R-W9 default split inside warranty
    states = {c["component"]: c["state"] for c in w["components"]}
    assert states == {"unit": "in_warranty", "compressor": "in_warranty", "probe": "not_covered"}
    w = (await client.get("/v1/units/SN-0001/warranty", params={"on": "2028-01-15", "component": "compressor"},
                          headers=agent)).json()
    assert w["coverage"] == "warranty"
    bad = await client.get("/v1/units/SN-0001/warranty", params={"on": "2028-13-01"}, headers=agent)
    assert bad.status_code == 422 and bad.json()["field"] == "on"


async def test_R_W6_extension_and_R_W7_delay_through_the_api(client, admin, agent, admin_db):
    await seed_line(client, admin)
    await seed_unit(client, agent, sold_on=date(2025, 1, 1))
    r = await client.post("/v1/units/SN-0001/extensions", json={"paid_on": "2026-03-01"}, headers=agent)
    assert r.status_code == 201 and r.json()["price"] == "40.00" and r.json()["months"] == 12
    w = (await client.get("/v1/units/SN-0001/warranty", params={"on": "2026-06-01"}, headers=agent)).json()
    assert w["coverage"] == "extended"
    r = await client.post("/v1/units/SN-0001/delays", json={"started_on": "2025-06-01", "days": 30,
                                                             "caused_by": "seller"}, headers=agent)
    assert r.status_code == 201
    w = (await client.get("/v1/units/SN-0001/warranty", params={"on": "2026-01-15"}, headers=agent)).json()
    assert w["coverage"] == "warranty"
    row = await admin_db.fetchrow("SELECT payload FROM ticketing.outbox WHERE event_type LIKE '%extension_purchased' "
                                  "AND key = 'SN-0001'")
    assert json.loads(row["payload"])["payload"]["price"] == "40.00"


async def test_R_W10_warranty_card_registration_emits_event_once(client, admin, agent, admin_db):
    await seed_line(client, admin)
    await seed_unit(client, agent, sale_amount="2999.00")
    r = await client.post("/v1/units/SN-0001/warranty-card", json={"registered_on": date.today().isoformat()},
                          headers=agent)
    assert r.status_code == 200 and r.json()["card_registered_on"]
    again = await client.post("/v1/units/SN-0001/warranty-card", json={"registered_on": "2026-01-01"}, headers=agent)
    assert again.status_code == 409
    rows = await admin_db.fetch("SELECT payload FROM ticketing.outbox WHERE event_type = 'ticketing.unit.registered' "
                                "AND key = 'SN-0001'")
    assert len(rows) == 1 and json.loads(rows[0]["payload"])["payload"]["sale_amount"] == "2999.00"


def _csv(n: int, start: int = 0, bad: dict | None = None) -> str:
    lines = ["serial,product_line,dealer_id,sold_on,phone,region_code"]
    for i in range(start, start + n):
        lines.append(f"IMP-{i:06d},AC,D{i % 7},2026-02-01,1390000{i % 10000:04d},320106")
    for row, text in (bad or {}).items():
        lines[row - 1] = text
    return "\n".join(lines) + "\n"


async def test_csv_import_of_10000_rows_all_or_nothing(client, admin, agent, admin_db):
    await seed_line(client, admin)
    hdr = {**agent, "Content-Type": "text/csv"}
    broken = _csv(10_000, bad={5: "IMP-000003,AC,D1,2026-02-31,139,32", 9: "IMP-999999,ZZ,D1,2026-02-01,,",
                               10: "IMP-000002,AC,D1,2026-02-01,,"})
    r = await client.post("/v1/units/import", content=broken, headers=hdr)
    assert r.status_code == 422, r.text
    errs = r.json()["row_errors"]
    assert {(e["row"], e["field"]) for e in errs} >= {(5, "sold_on"), (5, "phone"), (9, "product_line"), (10, "serial")}
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.units WHERE serial LIKE 'IMP-%'") == 0
    r = await client.post("/v1/units/import", content=_csv(10_000), headers=hdr)
    assert r.status_code == 200 and r.json() == {"imported": 10_000}
    again = await client.post("/v1/units/import", content=_csv(2, start=9_999), headers=hdr)
    assert again.status_code == 422 and again.json()["row_errors"][0]["reason"] == "unit already exists"
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.units WHERE serial LIKE 'IMP-%'") == 10_000
    too_many = await client.post("/v1/units/import", content=_csv(10_001, start=20_000), headers=hdr)
    assert too_many.status_code == 413


async def test_policy_validation_names_the_field(client, admin):
    await client.post("/v1/product-lines", json={"code": "AC", "name": "x", "required_skill": "hvac"}, headers=admin)
    r = await client.post("/v1/product-lines/AC/policies", json={**POLICY, "months": 0}, headers=admin)
    assert r.status_code == 422 and r.json()["field"] == "months"
    r = await client.post("/v1/product-lines/AC/policies", json={**POLICY, "extension_price": "1.234"}, headers=admin)
    assert r.status_code == 422 and r.json()["field"] == "extension_price"
    r = await client.post("/v1/product-lines/NOPE/policies", json=POLICY, headers=admin)
    assert r.status_code == 404
    dup = await client.post("/v1/product-lines", json={"code": "AC", "name": "x", "required_skill": "h"}, headers=admin)
    assert dup.status_code == 409 and dup.json()["field"] == "code"


async def test_unit_without_policy_in_force_is_refused(client, admin, agent):
    await seed_line(client, admin)
    r = await client.post("/v1/units", json={"serial": "SN-9", "product_line": "AC", "sold_on": "2019-01-01"},
                          headers=agent)
    assert r.status_code == 422 and r.json()["field"] == "sold_on"
    assert (await client.post("/v1/units/SN-9/extensions", json={"paid_on": "2026-01-01"},
                              headers=agent)).status_code == 404

