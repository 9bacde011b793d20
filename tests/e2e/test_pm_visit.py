"""Preventive maintenance end to end (R-S10, issue 16 item 4): a PM plan's visit opens a maintenance ticket in
ticketing, the ticket travels the real Kafka, dispatch creates the job booked in the visit's window, and the job
is visible over dispatch's HTTP API with that window.

  PUT pm-plan ─▶ ticketing's PM job generates the period ─▶ maintenance ticket (window) ──TicketOpened──▶
  dispatch job: earliest start = the window's start (booked), its SLA clock from the window's opening
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from aftersales_shared import clock

pytestmark = pytest.mark.integration

CUSTOMER = (32.06, 118.78)


async def test_R_S10_a_pm_visit_opens_a_maintenance_ticket_and_dispatch_books_the_job_in_its_window(
        platform, auth_headers, admin_db, eventually):
    tk, dp = platform["ticketing"].client, platform["dispatch"].client
    sfx = uuid.uuid4().hex[:8]
    line, skill, serial, contract = f"PM-{sfx}", f"hvac-pm-{sfx}", f"SN-PM-{sfx}", f"PMC-{sfx}"
    region = f"97{int(sfx, 16) % 10000:04d}"  # no real region: the zone below is ours alone
    admin, agent = auth_headers("admin", sub="e2e-admin"), auth_headers("call_center", sub="e2e-agent")
    dispatcher = auth_headers("dispatcher", sub="e2e-dispatcher")

    r = await tk.post("/v1/product-lines", headers=admin, json={"code": line, "name": "AC", "required_skill": skill})
    assert r.status_code == 201, r.text
    r = await tk.post(f"/v1/product-lines/{line}/policies", headers=admin,
                      json={"effective_from": "2020-01-01", "months": 12, "start_basis": "sale"})
    assert r.status_code == 201, r.text
    r = await dp.put(f"/v1/zones/{region}", headers=admin,
                     json={"name": "PM district", "zone_class": "in_zone", "lat": CUSTOMER[0], "lon": CUSTOMER[1]})
    assert r.status_code == 200, r.text
    r = await tk.post("/v1/units", headers=agent, json={
        "serial": serial, "product_line": line, "customer_name": "王伟", "phone": "13812345678",
        "address": "南京市鼓楼区中山路1号", "region_code": region, "contract_code": contract,
        "sold_on": (clock.business_today() - timedelta(days=90)).isoformat()})
    assert r.status_code == 201, r.text

    # a quarterly visit from ten days on, generated 14 days ahead: due now; ticketing's PM job runs by itself
    start = clock.business_today() + timedelta(days=10)
    r = await tk.put(f"/v1/pm-plans/contract/{contract}/visit", headers=admin, json={
        "every_months": 3, "window_days": 14, "lead_days": 14, "effective_from": start.isoformat(),
        "reason": "service contract: quarterly visits"})
    assert r.status_code == 200, r.text

    async def occurrences() -> list[dict[str, Any]]:
        return (await tk.get("/v1/pm-occurrences", params={"serial": serial}, headers=agent)).json()

    [occ] = await eventually("ticketing generates the visit and opens its maintenance ticket", occurrences,
                             lambda os: len(os) == 1 and os[0]["ticket_id"] is not None)
    assert occ["status"] == "scheduled" and occ["kind"] == "visit" and occ["plan_version"] == 1
    window_start, window_end = (datetime.fromisoformat(occ[k]) for k in ("window_start", "window_end"))
    assert clock.business_date(window_start) == start and window_end - window_start == timedelta(days=14)
    ticket = (await tk.get(f"/v1/tickets/{occ['ticket_id']}", headers=agent)).json()
    assert ticket["coverage"] == "maintenance" and ticket["serial"] == serial

    async def jobs() -> list[dict[str, Any]]:
        return (await dp.get("/v1/jobs", params={"ticket_id": occ["ticket_id"]}, headers=dispatcher)).json()

    [job] = await eventually("dispatch hears the ticket over Kafka and creates its job", jobs, lambda js: len(js) == 1)
    assert job["serial"] == serial and job["contract_code"] == contract and job["visit"] == 1
    assert datetime.fromisoformat(job["opened_at"]) == window_start  # the SLA clock starts when the window opens
    r = await dp.get(f"/v1/jobs/{job['id']}/planning", headers=dispatcher)
    assert r.status_code == 200, r.text
    planning = r.json()
    assert planning["booked"] is True and datetime.fromisoformat(planning["earliest_start"]) == window_start
    # the window's end is the job's latest start for the planner
    assert datetime.fromisoformat(planning["booked_end"]) == window_end
    # once: the PM job keeps running, yet one ticket and one job for the period
    again = await occurrences()
    assert [o["ticket_id"] for o in again] == [occ["ticket_id"]] and len(await jobs()) == 1
