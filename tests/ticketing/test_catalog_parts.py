"""Issue 15 item 1: the parts catalogue is the source of truth of part numbers. Ticketing keeps a read model of
what parts announced (``parts.catalog.part_changed``, newest version kept); a product line's component list names
only part numbers the catalogue holds and has not withdrawn (422 ``part_not_in_catalog`` naming
``components[i].part_nos[j]``, nothing written), and a warranty policy's per-component terms (R-W1
``component_months`` keys, ``uncovered``) name only components of the line's list, when the line has one."""

from __future__ import annotations

import pytest

from aftersales_shared.testing.isolation import own_kafka, start_at_end, uniq
from aftersales_shared.testing.plugin import running, wait_for
from parts.config import PartsSettings
from parts.consumers import consumer_specs as parts_consumers
from parts.main import create_app as parts_app
from ticketing.config import TicketingSettings
from ticketing.consumers import consumer_specs
from ticketing.main import create_app

from .conftest import POLICY, hear_parts, seed_line

pytestmark = pytest.mark.integration

EVENTS = ("SELECT count(*) FROM ticketing.outbox WHERE key = $1 "
          "AND event_type = 'ticketing.product_line.components_changed'")


async def _refused(client, admin, admin_db, body, field, code="line"):
    r = await client.put(f"/v1/product-lines/{code}/components", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert (r.json()["field"], r.json()["code"]) == (field, "part_not_in_catalog"), r.text
    return r.json()


async def test_R_W3_R_T3_a_part_number_parts_never_announced_or_withdrew_is_refused(client, admin, admin_db):
    await seed_line(client, admin, code="line")
    await hear_parts(client, "PCB-1", "MTR-1")
    await hear_parts(client, "OLD-1", version=2, active=False)
    body = {"components": [{"component": "control_board", "part_nos": ["PCB-1"]},
                           {"component": "drum_motor", "part_nos": ["MTR-1", "MTR-404", "OLD-1"]}]}
    problem = await _refused(client, admin, admin_db, body, "components[1].part_nos[1]")
    assert [e["field"] for e in problem["errors"]] == ["components[1].part_nos[1]", "components[1].part_nos[2]"]
    assert "MTR-404" in problem["detail"]
    await _refused(client, admin, admin_db, {"components": [{"component": "seal", "part_nos": ["OLD-1"]}]},
                   "components[0].part_nos[0]")  # withdrawn
    r = await client.post("/v1/product-lines", headers=admin, json={
        "code": "new", "name": "n", "required_skill": "s", "components": body["components"]})
    assert r.status_code == 422 and r.json()["field"] == "components[1].part_nos[1]", r.text
    # nothing written: no list, no version, no announcement, no line created with a refused list
    got = (await client.get("/v1/product-lines/line/components", headers=admin)).json()
    assert (got["version"], got["components"]) == (0, [])
    assert await admin_db.fetchval(EVENTS, "line") == 0
    assert (await client.get("/v1/product-lines/new/components", headers=admin)).status_code == 404

    ok = {"components": [{"component": "drum_motor", "part_nos": ["MTR-1"]}]}
    r = await client.put("/v1/product-lines/line/components", json=ok, headers=admin)
    assert r.status_code == 200 and r.json()["version"] == 1, r.text


async def test_R_W3_R_T3_an_older_catalogue_event_never_overwrites_a_newer_one(client, admin, admin_db):
    await seed_line(client, admin, code="line")
    await hear_parts(client, "PCB-1", version=3, active=False)  # withdrawn at version 3
    for _ in range(2):  # version 2 (still active) arrives late, and is redelivered: withdrawn stays withdrawn
        await hear_parts(client, "PCB-1", version=2, active=True)
    await _refused(client, admin, admin_db, {"components": [{"component": "board", "part_nos": ["PCB-1"]}]},
                   "components[0].part_nos[0]")
    assert await admin_db.fetchval("SELECT version FROM ticketing.catalogue_parts WHERE part_no = 'PCB-1'") == 3
    await hear_parts(client, "PCB-1", version=4, active=True)  # reinstated: a newer version
    r = await client.put("/v1/product-lines/line/components", headers=admin,
                         json={"components": [{"component": "board", "part_nos": ["PCB-1"]}]})
    assert r.status_code == 200, r.text


async def test_R_W1_a_policy_names_only_components_of_the_line_list(client, admin):
    await seed_line(client, admin, code="line")  # no list: any component name, as before (POLICY: compressor)
    await hear_parts(client, "CMP-1")
    r = await client.put("/v1/product-lines/line/components", headers=admin, json={"components": [
        {"component": "Compressor", "part_nos": ["CMP-1"]}, {"component": "fan"}]})
    assert r.status_code == 200, r.text
    for terms, field in (({"component_months": {"compressor": 36, "structure": 24}}, "component_months.structure"),
                         ({"uncovered": ["fan", "probe"]}, "uncovered[1]")):
        r = await client.post("/v1/product-lines/line/policies", headers=admin,
                              json={**POLICY, "component_months": {}, "uncovered": [], **terms})
        assert r.status_code == 422, r.text
        assert (r.json()["field"], r.json()["code"]) == (field, "component_not_in_line"), r.text
        assert "Compressor" in r.json()["detail"]
    assert len((await client.get("/v1/product-lines/line/policies", headers=admin)).json()) == 1  # nothing added
    r = await client.post("/v1/product-lines/line/policies", headers=admin,
                          json={**POLICY, "component_months": {"COMPRESSOR": 36}, "uncovered": ["fan"]})
    assert r.status_code == 201 and r.json()["version"] == 2, r.text  # names compared ignoring case


async def test_R_W3_R_T3_parts_catalogue_reaches_ticketing_over_kafka(infra_settings, auth_headers):
    """Over HTTP and Kafka: a part the parts clerk adds becomes usable in a component list once ticketing hears
    it; once withdrawn in parts, ticketing refuses it."""
    kafka = own_kafka("tkcat")
    pt_settings = PartsSettings(**infra_settings("parts", **kafka), watch_interval_seconds=3600)
    tk_settings = TicketingSettings(**infra_settings("ticketing", **kafka), run_background=False)
    await start_at_end((pt_settings, parts_consumers(pt_settings)), (tk_settings, consumer_specs(tk_settings)))
    clerk, admin = auth_headers("parts_clerk", sub="clerk-1"), auth_headers("admin", sub="admin-1")
    line, part_no = uniq("L"), uniq("PCB")
    async with running(parts_app(pt_settings)) as pt, running(create_app(tk_settings)) as tk:
        r = await tk.post("/v1/product-lines", headers=admin, json={"code": line, "name": "n", "required_skill": "s"})
        assert r.status_code == 201, r.text
        body = {"components": [{"component": "control_board", "part_nos": [part_no]}]}
        r = await tk.put(f"/v1/product-lines/{line}/components", json=body, headers=admin)
        assert r.status_code == 422 and r.json()["code"] == "part_not_in_catalog", r.text  # parts never said so
        r = await pt.post("/v1/catalogue/parts", headers=clerk, json={
            "part_no": part_no, "name": "board", "product_lines": [line], "cost_price": "80.00",
            "list_price": "120.00"})
        assert r.status_code == 201, r.text

        async def accepted():
            r = await tk.put(f"/v1/product-lines/{line}/components", json=body, headers=admin)
            return r.json() if r.status_code == 200 else None

        assert (await wait_for(accepted, timeout=180))["version"] == 1
        r = await pt.patch(f"/v1/catalogue/parts/{part_no}", headers=clerk, json={"active": False})
        assert r.status_code == 200 and r.json()["version"] == 2, r.text
        withdrawn = {"components": [{"component": "board", "part_nos": [part_no]}]}

        async def refused():
            r = await tk.put(f"/v1/product-lines/{line}/components", json=withdrawn, headers=admin)
            assert r.status_code in (200, 422), r.text
            return r.json() if r.status_code == 422 else None

        assert (await wait_for(refused, timeout=180))["field"] == "components[0].part_nos[0]"
