"""Issue 15 item 1 (R-W3/R-T3): the engineer's diagnosis names failed components from the product line's component
list, each part number linked to its component. The list is ticketing's catalogue; it reaches dispatch only as
``ticketing.product_line.components_changed`` over Kafka (dispatch never reads ticketing's tables), and dispatch
keeps the newest version it heard. Before any list has arrived a diagnosis is accepted as named and flagged
``components_validated=false`` (an engineer on site is never blocked by a list on its way; docs/dispatch.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.events.ticketing import ProductLineComponentsChangedPayload
from aftersales_shared.testing.catalogue import hear, part_changed
from aftersales_shared.testing.isolation import own_kafka
from aftersales_shared.testing.plugin import running, wait_for
from dispatch.config import DispatchSettings
from dispatch.domain.components import Named, check, newer
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.repairs import service as repairs
from ticketing.config import TicketingSettings
from ticketing.consumers import consumer_specs as ticketing_consumers
from ticketing.main import create_app as ticketing_app

from .conftest import action, engineer_body, own_consumers, ticket, uniq

LINE = {"control_board": ["PCB-1", "PCB-2"], "drum_motor": ["MTR-1"], "door_seal": []}


def test_R_W3_R_T3_components_are_named_from_the_line_list_and_parts_linked_to_them():
    ok = check([Named(" Control_Board ", "PCB-2"), Named("door_seal")], LINE)
    assert ok.problems == () and ok.components == (Named("control_board", "PCB-2"), Named("door_seal"))
    bad = check([Named("drum_motor", "MTR-1"), Named("flux_capacitor"), Named("drum_motor", "PCB-1"),
                 Named("door_seal", "SEAL-9")], LINE)
    assert [(p.field, p.code) for p in bad.problems] == [
        ("components[1].component", "unknown_component"), ("components[2].part_no", "part_not_of_component"),
        ("components[3].part_no", "part_not_of_component")]
    assert "control_board" in bad.problems[0].reason and "MTR-1" in bad.problems[1].reason
    assert check([Named("anything")], {}).problems[0].code == "unknown_component"  # an empty list allows nothing


def test_R_W3_R_T3_only_a_newer_list_replaces_the_one_held():
    assert newer(1, None) and newer(3, 2)
    assert not newer(2, 2) and not newer(1, 2)  # a redelivery or a late, older event


def _both(infra_settings) -> tuple[TicketingSettings, DispatchSettings]:
    kafka = own_kafka("diag")
    return (TicketingSettings(**infra_settings("ticketing", **kafka), run_consumers=False, run_background=False),
            DispatchSettings(**infra_settings("dispatch", **kafka), run_background=False))


async def _held_job(client, admin, auth_headers, line: str):
    skill, eng_id = uniq("wash"), uniq("E")
    r = await client.put(f"/v1/engineers/{eng_id}", json=engineer_body(skill, dealer_id="D1"), headers=admin)
    assert r.status_code == 200, r.text
    app = client.app
    async with unit_of_work(app.state.sessions) as s:
        job = await jobs.open_job(s, app.state.dispatch_cfg, ticket(skill).model_copy(update={"product_line": line}),
                                  clock.now())
    eng = auth_headers("engineer", sub=eng_id, engineer_id=eng_id)
    for body in (action("accept"), action("arrive", lat=31.23, lon=121.47)):
        assert (await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)).status_code == 200
    return job, eng


DIAG = {"root_cause": "supplier_part", "note": "no cooling"}


@pytest.mark.integration
async def test_R_W3_R_T3_catalogue_component_list_reaches_dispatch_and_checks_the_diagnosis(
        clean, infra_settings, admin, auth_headers, admin_db):
    """Over HTTP and Kafka: ticketing's admin sets a line's components (with catalogue part numbers); dispatch
    hears it and refuses an unknown component or an unlinked part (422 naming ``components[i]…``, listing what is
    allowed, nothing written); a diagnosis recorded before the list arrived was accepted and flagged unvalidated;
    a newer list replaces the held one, an older event arriving late changes nothing."""
    line = uniq("WM")
    tk_settings, dp_settings = _both(infra_settings)
    cat_admin = auth_headers("admin", sub="catalogue-admin")
    async with running(ticketing_app(tk_settings)) as tk, \
            running(create_app(await own_consumers(dp_settings))) as dp:
        job, eng = await _held_job(dp, admin, auth_headers, line)
        # no list for the line yet: accepted as named, flagged, and the answer says so
        r = await dp.put(f"/v1/jobs/{job.id}/diagnosis", headers=eng,
                         json={**DIAG, "components": [{"component": "Control board?", "part_no": "X-1"}]})
        assert r.status_code == 200, r.text
        assert (r.json()["revision"], r.json()["components_validated"]) == (1, False)
        assert "had not reached dispatch" in r.json()["components_note"]
        assert (await dp.get(f"/v1/product-lines/{line}/components", headers=eng)).status_code == 404
        early, eng2 = await _held_job(dp, admin, auth_headers, line)
        motor = {**DIAG, "components": [{"component": "drum_motor", "part_no": "MTR-1"}]}
        r = await dp.put(f"/v1/jobs/{early.id}/diagnosis", headers=eng2, json=motor)
        assert r.status_code == 200 and r.json()["components_validated"] is False, r.text

        # the parts catalogue's part numbers, as ticketing's catalogue read model hears them (issue 15)
        await hear(tk.app, ticketing_consumers(tk_settings), *(part_changed(p) for p in ("PCB-1", "PCB-2", "MTR-1",
                                                                                          "HTR-1")))
        r = await tk.post("/v1/product-lines", headers=cat_admin, json={
            "code": line, "name": "Washing machine", "required_skill": "wash",
            "components": [{"component": c, "part_nos": p} for c, p in LINE.items()]})
        assert r.status_code == 201 and r.json()["components_version"] == 1, r.text

        async def held(version: int):
            r = await dp.get(f"/v1/product-lines/{line}/components", headers=eng)
            return r.json() if r.status_code == 200 and r.json()["version"] == version else None

        seen = await wait_for(lambda: held(1), timeout=180)
        assert {c["component"]: c["part_nos"] for c in seen["components"]} == LINE

        outbox = "SELECT count(*) FROM dispatch.outbox WHERE key = $1 AND event_type = 'dispatch.job.diagnosed'"
        # the list has arrived: the same findings sent again are checked, without a new revision or event
        r = await dp.put(f"/v1/jobs/{early.id}/diagnosis", headers=eng2, json=motor)
        assert (r.json()["revision"], r.json()["components_validated"]) == (1, True), r.text
        assert await admin_db.fetchval(outbox, early.id) == 1
        before = await admin_db.fetchval(outbox, job.id)
        r = await dp.put(f"/v1/jobs/{job.id}/diagnosis", headers=eng, json={**DIAG, "components": [
            {"component": "drum_motor", "part_no": "MTR-1"}, {"component": "flux_capacitor"}]})
        assert r.status_code == 422 and r.json()["field"] == "components[1].component", r.text
        assert r.json()["code"] == "unknown_component"
        assert {c["component"] for c in r.json()["allowed_components"]} == set(LINE)
        r = await dp.put(f"/v1/jobs/{job.id}/diagnosis", headers=eng, json={**DIAG, "components": [
            {"component": "control_board", "part_no": "MTR-1"}]})
        assert r.status_code == 422 and r.json()["field"] == "components[0].part_no", r.text
        assert r.json()["code"] == "part_not_of_component" and "PCB-1" in r.json()["detail"]
        stored = (await dp.get(f"/v1/jobs/{job.id}/diagnosis", headers=eng)).json()
        assert stored["revision"] == 1 and await admin_db.fetchval(outbox, job.id) == before  # nothing written

        r = await dp.put(f"/v1/jobs/{job.id}/diagnosis", headers=eng, json={**DIAG, "components": [
            {"component": " Control_Board", "part_no": "PCB-2"}, {"component": "door_seal"}]})
        assert r.status_code == 200, r.text
        d = r.json()
        assert (d["revision"], d["components_validated"], d["components_note"]) == (2, True, None)
        assert d["components"] == [{"component": "control_board", "part_no": "PCB-2"},
                                   {"component": "door_seal", "part_no": None}]  # the list's spelling
        payload = json.loads(await admin_db.fetchval(
            "SELECT payload FROM dispatch.outbox WHERE key = $1 AND event_type = 'dispatch.job.diagnosed' "
            "ORDER BY id DESC LIMIT 1", job.id))["payload"]
        assert payload["components_validated"] is True and payload["revision"] == 2

        # the catalogue changes: a heater is added, the door seal dropped; dispatch follows the newer version
        r = await tk.put(f"/v1/product-lines/{line}/components", headers=cat_admin, json={"components": [
            {"component": "control_board", "part_nos": ["PCB-1", "PCB-2"]}, {"component": "drum_motor",
                                                                            "part_nos": ["MTR-1"]},
            {"component": "heater", "part_nos": ["HTR-1"]}]})
        assert r.status_code == 200 and r.json()["version"] == 2, r.text
        await wait_for(lambda: held(2), timeout=180)
        r = await dp.put(f"/v1/jobs/{job.id}/diagnosis", headers=eng, json={**DIAG, "components": [
            {"component": "door_seal"}]})
        assert r.status_code == 422 and r.json()["field"] == "components[0].component", r.text
        r = await dp.put(f"/v1/jobs/{job.id}/diagnosis", headers=eng, json={**DIAG, "components": [
            {"component": "heater", "part_no": "HTR-1"}]})
        assert r.status_code == 200 and r.json()["components_validated"] is True, r.text

        # version 1 arriving late (or redelivered) never overwrites version 2
        stale = ProductLineComponentsChangedPayload(
            product_line=line, version=1, components=[{"component": "door_seal", "part_nos": []}],
            changed_at=datetime.now(UTC) - timedelta(hours=1))
        for _ in range(2):
            async with unit_of_work(dp.app.state.sessions) as s:
                await repairs.line_components_changed(s, stale, clock.now())
        after = (await dp.get(f"/v1/product-lines/{line}/components", headers=eng)).json()
        assert after["version"] == 2 and {c["component"] for c in after["components"]} == {
            "control_board", "drum_motor", "heater"}
