"""Issue 15 (R-W3/R-T3 component lists, paid-repair quotes at list price): the parts catalogue is the source of
truth of part numbers and list prices, so it announces every catalogue part — ``parts.catalog.part_changed`` on
``parts.catalog.v1``, keyed by part number, written to the outbox in the change's own transaction — on create,
change and withdrawal, with a version that counts the part's changes; an admin can announce the whole catalogue
again for a consumer that started later."""

from __future__ import annotations

import json

import pytest

from aftersales_shared.testing.isolation import uniq

pytestmark = pytest.mark.integration

EVENTS = ("SELECT payload FROM parts.outbox WHERE key = $1 AND event_type = 'parts.catalog.part_changed' "
          "AND topic = 'parts.catalog.v1' ORDER BY id")


async def _announced(admin_db, part_no):
    return [json.loads(r["payload"])["payload"] for r in await admin_db.fetch(EVENTS, part_no)]


async def test_R_W3_R_T3_every_catalogue_change_is_announced_with_its_version(client, kit, clerk, auth_headers,
                                                                             admin_db):
    part_no = await kit.part(lines=("AC-1", "WM-1"))
    [created] = await _announced(admin_db, part_no)
    assert (created["version"], created["active"], created["list_price"], created["product_lines"],
            created["parts_warranty_months"], created["name"]) == (1, True, "120.00", ["AC-1", "WM-1"], 12,
                                                                    f"part {part_no}")
    for who in (auth_headers("engineer", engineer_id="E1"), auth_headers("dealer", dealer_id="D1")):
        r = await client.patch(f"/v1/catalogue/parts/{part_no}", headers=who, json={"list_price": "1.00"})
        assert r.status_code == 403, r.text
    for bad, field in (({}, None), ({"list_price": "-1"}, "list_price"), ({"product_lines": []}, "product_lines"),
                       ({"serialised": True}, "serialised")):
        r = await client.patch(f"/v1/catalogue/parts/{part_no}", headers=clerk, json=bad)
        assert r.status_code == 422 and (field is None or r.json()["field"] == field), r.text
    r = await client.patch(f"/v1/catalogue/parts/{uniq('NOPE')}", headers=clerk, json={"list_price": "1.00"})
    assert r.status_code == 404 and r.json()["field"] == "part_no", r.text
    assert len(await _announced(admin_db, part_no)) == 1  # refused: nothing changed, nothing announced

    r = await client.patch(f"/v1/catalogue/parts/{part_no}", headers=clerk, json={"list_price": "135.50"})
    assert r.status_code == 200 and (r.json()["version"], r.json()["list_price"]) == (2, "135.50"), r.text
    again = await client.patch(f"/v1/catalogue/parts/{part_no}", headers=clerk, json={"list_price": "135.50"})
    assert again.json()["version"] == 2  # the same price again: no new version, nothing announced
    r = await client.patch(f"/v1/catalogue/parts/{part_no}", headers=clerk, json={"active": False})
    assert r.status_code == 200 and (r.json()["version"], r.json()["active"]) == (3, False), r.text
    assert (await client.get(f"/v1/catalogue/parts/{part_no}", headers=clerk)).json()["active"] is False
    assert [(p["version"], p["list_price"], p["active"]) for p in await _announced(admin_db, part_no)] == [
        (1, "120.00", True), (2, "135.50", True), (3, "135.50", False)]


async def test_R_W3_R_T3_republish_announces_the_whole_catalogue_again_at_its_versions(client, kit, clerk,
                                                                                      auth_headers, admin_db):
    first, second = await kit.part(), await kit.part()
    assert (await client.patch(f"/v1/catalogue/parts/{second}", headers=clerk, json={"active": False})
            ).status_code == 200
    assert (await client.post("/v1/catalogue/republish", headers=clerk)).status_code == 403  # admin only
    r = await client.post("/v1/catalogue/republish", headers=auth_headers("admin", sub="admin-1"))
    assert r.status_code == 200 and r.json() == {"published": 2}, r.text
    assert [(p["version"], p["active"]) for p in await _announced(admin_db, first)] == [(1, True), (1, True)]
    assert [(p["version"], p["active"]) for p in await _announced(admin_db, second)] == [
        (1, True), (2, False), (2, False)]
