"""Issue 15 item 1 in ticketing (R-W3/R-T3): a product line's component list, each component linked to its
catalogue part numbers, kept by the catalogue and announced (``ticketing.product_line.components_changed``, through
the outbox) so dispatch checks diagnoses against it. Replacing it bumps the version; the same list again changes
nothing and announces nothing."""

from __future__ import annotations

import json

import pytest

from .conftest import hear_parts, seed_line

pytestmark = pytest.mark.integration

EVENTS = ("SELECT payload FROM ticketing.outbox WHERE key = $1 "
          "AND event_type = 'ticketing.product_line.components_changed' ORDER BY id")


async def test_R_W3_R_T3_line_component_list_is_versioned_and_announced(client, admin, agent, auth_headers, admin_db):
    await seed_line(client, admin)
    await hear_parts(client, "CMP-1", "CMP-2", "PCB-1")
    r = await client.get("/v1/product-lines/AC/components", headers=agent)
    assert r.status_code == 200 and (r.json()["version"], r.json()["components"]) == (0, []), r.text
    body = {"components": [{"component": "compressor", "part_nos": ["CMP-1", "CMP-2"]},
                           {"component": "control_board", "part_nos": ["PCB-1"]}, {"component": "probe"}]}
    for who in (agent, auth_headers("dealer", dealer_id="D1"), auth_headers("engineer", engineer_id="E1")):
        assert (await client.put("/v1/product-lines/AC/components", json=body, headers=who)).status_code == 403
    r = await client.put("/v1/product-lines/NOPE/components", json=body, headers=admin)
    assert r.status_code == 404 and r.json()["field"] == "code", r.text
    for bad, field in (({"components": [{"component": "probe"}, {"component": "Probe"}]}, "components"),
                       ({"components": [{"component": "probe", "part_nos": ["has space"]}]},
                        "components.0.part_nos.0"),
                       ({"components": [{"component": "probe", "part_nos": ["P-1", "P-1"]}]},
                        "components.0.part_nos"),
                       ({"components": [{"component": ""}]}, "components.0.component")):
        r = await client.put("/v1/product-lines/AC/components", json=bad, headers=admin)
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert await admin_db.fetch(EVENTS, "AC") == []  # refused: nothing written, nothing announced

    r = await client.put("/v1/product-lines/AC/components", json=body, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["changed_by"]) == (1, "admin-1")
    assert r.json()["components"][2] == {"component": "probe", "part_nos": []}
    again = await client.put("/v1/product-lines/AC/components", json=body, headers=admin)
    assert again.json()["version"] == 1  # the same list: no new version
    changed = {"components": body["components"][:2]}
    assert (await client.put("/v1/product-lines/AC/components", json=changed, headers=admin)).json()["version"] == 2
    payloads = [json.loads(p["payload"])["payload"] for p in await admin_db.fetch(EVENTS, "AC")]
    assert [(p["version"], [c["component"] for c in p["components"]]) for p in payloads] == [
        (1, ["compressor", "control_board", "probe"]), (2, ["compressor", "control_board"])]
    assert payloads[0]["components"][0]["part_nos"] == ["CMP-1", "CMP-2"] and payloads[0]["changed_by"] == "admin-1"
    lines = (await client.get("/v1/product-lines", headers=agent)).json()
    assert [(x["code"], x["components_version"], len(x["components"])) for x in lines] == [("AC", 2, 2)]


async def test_R_W3_R_T3_a_line_created_with_its_components_announces_version_1(client, admin, admin_db):
    await hear_parts(client, "MTR-1")
    r = await client.post("/v1/product-lines", headers=admin, json={
        "code": "WM", "name": "Washing machines", "required_skill": "wash",
        "components": [{"component": "drum_motor", "part_nos": ["MTR-1"]}]})
    assert r.status_code == 201 and r.json()["components_version"] == 1, r.text
    assert [json.loads(p["payload"])["payload"]["version"] for p in await admin_db.fetch(EVENTS, "WM")] == [1]
    r = await client.post("/v1/product-lines", headers=admin, json={
        "code": "DW", "name": "Dishwashers", "required_skill": "wash"})
    assert r.status_code == 201 and r.json()["components_version"] == 0, r.text  # no list: nothing announced
    assert await admin_db.fetch(EVENTS, "DW") == []
