"""A repair that did not hold: the reopened ticket is dispatched again through the real bus and closes again.

  ticket ──TicketOpened──▶ job (visit 1) ──JobCompleted──▶ ticket closed
  reopen ──TicketReopened(visit 2)──▶ new job, SLA clock from the reopen ──JobAssigned…JobCompleted──▶ closed
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.integration

CUSTOMER = (31.2304, 121.4737)
RESPOND_MIN, ARRIVE_MIN = 60, 240


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def test_reopened_ticket_is_dispatched_again_and_follows_its_new_job_to_closed(
        platform, auth_headers, admin_db, eventually):
    tk, dp = platform["ticketing"].client, platform["dispatch"].client
    sfx = uuid.uuid4().hex[:8]
    line, skill, serial = f"RE-{sfx}", f"hvac-re-{sfx}", f"SN-RE-{sfx}"
    engineer, contract = f"ENG-RE-{sfx}", f"GOLD-RE-{sfx}"
    region = f"98{int(sfx, 16) % 10000:04d}"  # no real region: the zone below is ours alone
    admin, agent = auth_headers("admin", sub="e2e-admin"), auth_headers("call_center", sub="e2e-agent")
    dispatcher = auth_headers("dispatcher", sub="e2e-dispatcher")
    eng = auth_headers("engineer", sub=engineer, engineer_id=engineer)

    r = await tk.post("/v1/product-lines", headers=admin, json={"code": line, "name": "AC", "required_skill": skill})
    assert r.status_code == 201, r.text
    r = await tk.post(f"/v1/product-lines/{line}/policies", headers=admin,
                      json={"effective_from": "2020-01-01", "months": 12, "start_basis": "sale"})
    assert r.status_code == 201, r.text
    r = await dp.put(f"/v1/zones/{region}", headers=admin,
                     json={"name": "Reopen district", "zone_class": "in_zone", "lat": CUSTOMER[0], "lon": CUSTOMER[1]})
    assert r.status_code == 200, r.text
    r = await dp.put("/v1/sla/policies", headers=admin, json={
        "contract_code": contract, "zone_class": "in_zone", "calendar_code": "24x7", "respond_minutes": RESPOND_MIN,
        "arrive_minutes": ARRIVE_MIN, "resolve_minutes": 1440, "resolve_from": "arrived"})
    assert r.status_code == 200, r.text
    r = await dp.put(f"/v1/engineers/{engineer}", headers=dispatcher, json={
        "name": "Li Gong", "employer": "manufacturer", "skills": {skill: 3}, "zones": [region],
        "home_lat": CUSTOMER[0] + 0.01, "home_lon": CUSTOMER[1], "max_jobs": 1})
    assert r.status_code == 200, r.text
    r = await tk.post("/v1/units", headers=agent, json={
        "serial": serial, "product_line": line, "customer_name": "李娜", "phone": "13912345678",
        "region_code": region, "contract_code": contract, "sold_on": (date.today() - timedelta(days=90)).isoformat()})
    assert r.status_code == 201, r.text
    r = await tk.post("/v1/tickets", headers=agent, json={
        "serial": serial, "customer_name": "李娜", "phone": "13912345678", "address": "上海市静安区南京西路2号",
        "region_code": region, "lat": CUSTOMER[0], "lon": CUSTOMER[1], "channel": "phone",
        "fault_description": "not cooling", "requested_action": "repair"})
    assert r.status_code == 201, r.text
    ticket_id = r.json()["id"]

    async def jobs() -> list[dict[str, Any]]:
        return (await dp.get("/v1/jobs", params={"ticket_id": ticket_id}, headers=dispatcher)).json()

    async def ticket_now() -> dict[str, Any]:
        return (await tk.get(f"/v1/tickets/{ticket_id}", headers=agent)).json()

    async def work(job_id: str) -> None:
        for action, extra in (("accept", {}), ("arrive", {"lat": CUSTOMER[0], "lon": CUSTOMER[1]}),
                              ("complete", {"record": {"work_done": "recharged refrigerant", "labour_minutes": 40,
                                                       "root_cause": "workmanship"}})):
            body = {"client_action_id": f"{action}-{uuid.uuid4().hex[:12]}", "action": action,
                    "device_time": datetime.now(UTC).isoformat(), **extra}
            r = await dp.post(f"/v1/jobs/{job_id}/actions", headers=eng, json=body)
            assert r.status_code == 200, f"{action}: {r.text}"

    [first] = await eventually("dispatch opens the first job", jobs,
                               lambda js: len(js) == 1 and js[0]["engineer_id"] == engineer)
    assert first["visit"] == 1
    await eventually("the ticket follows the first job", ticket_now,
                     lambda t: t["status"] == "assigned" and t["job_id"] == first["id"])
    await work(first["id"])
    await eventually("the first repair closes the ticket", ticket_now, lambda t: t["status"] == "closed")

    r = await tk.post(f"/v1/tickets/{ticket_id}/reopen", headers=agent, json={"reason": "not cooling again"})
    assert r.status_code == 200 and r.json()["status"] == "open", r.text
    reopened_at = at((await ticket_now())["history"][-1]["at"])

    js = await eventually("dispatch opens a second job for the reopened ticket", jobs,
                          lambda js: len(js) == 2 and js[0]["engineer_id"] == engineer)
    second = js[0]
    assert (second["visit"], js[1]["id"], js[1]["status"]) == (2, first["id"], "completed")
    assert at(second["opened_at"]) == reopened_at  # the customer's clock restarts at the reopen
    assert at(second["deadlines"]["respond"]) == reopened_at + timedelta(minutes=RESPOND_MIN)
    assert at(second["deadlines"]["arrive"]) == reopened_at + timedelta(minutes=ARRIVE_MIN)
    await eventually("the reopened ticket follows the new job", ticket_now,
                     lambda t: t["status"] == "assigned" and t["job_id"] == second["id"])
    await work(second["id"])
    closed = await eventually("the second repair closes the ticket again", ticket_now,
                              lambda t: t["status"] == "closed")
    assert [h["to_status"] for h in closed["history"]] == [
        "open", "assigned", "on_site", "closed", "open", "assigned", "on_site", "closed"]
    assert closed["job_id"] == second["id"]
    repairs = await admin_db.fetch("SELECT job_id FROM ticketing.unit_repairs WHERE serial = $1", serial)
    assert sorted(x["job_id"] for x in repairs) == sorted([first["id"], second["id"]])
