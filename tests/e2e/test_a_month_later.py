"""A multi-day journey driven over HTTP with the moved clock (issue 12): an old part that never comes back.

The engineer replaces a must-return part on a warranty repair; parts expects the old part within the return
period (R-P4, 30 days). The ops lead moves the platform's clock 31 days forward (``POST /v1/admin/clock``), the parts
watcher sees the deadline pass, charges the dealer the cost price, and settlement deducts it on the dealer's
statement for the quarter the chargeback falls in (R-D3) — without anyone waiting a month.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from aftersales_shared import clock

pytestmark = pytest.mark.integration

HOME = (31.2304, 121.4737)
COST = Decimal("80.00")


def quarter_of(day) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


async def test_R_P4_an_old_part_not_back_after_the_return_period_is_charged_back_a_month_later(
        platform, auth_headers, eventually):
    tk, dp, pt, st = (platform[n].client for n in ("ticketing", "dispatch", "parts", "settlement"))
    sfx = uuid.uuid4().hex[:8]
    line, skill, serial = f"MD-{sfx}", f"md-{sfx}", f"SN-MD-{sfx}"
    dealer, engineer, contract, part_no = f"D-MD-{sfx}", f"ENG-MD-{sfx}", f"MD-{sfx}", f"OLD-{sfx}"
    region = f"98{int(sfx, 16) % 10000:04d}"
    admin, agent = auth_headers("admin", sub="md-admin"), auth_headers("call_center", sub="md-agent")
    finance, clerk = auth_headers("finance", sub="md-fin"), auth_headers("parts_clerk", sub="md-clerk")
    eng = auth_headers("engineer", sub=engineer, engineer_id=engineer, dealer_id=dealer)
    today = clock.business_today()

    # reference data, each through its owner's API
    assert (await tk.post("/v1/product-lines", headers=admin,
                          json={"code": line, "name": "Water heater", "required_skill": skill})).status_code == 201
    assert (await tk.post(f"/v1/product-lines/{line}/policies", headers=admin, json={
        "effective_from": "2020-01-01", "months": 24, "start_basis": "sale"})).status_code == 201
    assert (await st.post("/v1/dealers", headers=finance,
                          json={"id": dealer, "name": "Month Dealer", "territories": ["SH"]})).status_code == 201
    assert (await st.post(f"/v1/dealers/{dealer}/contracts", headers=finance, json={
        "effective_from": "2020-01-01", "fee_model": "d",
        "parameters": {"repair_fee": "50.00", "home_visit_fee": "20.00"}})).status_code == 201
    assert (await dp.put(f"/v1/zones/{region}", headers=admin, json={
        "name": "Month district", "zone_class": "in_zone", "lat": HOME[0], "lon": HOME[1]})).status_code == 200
    assert (await dp.put("/v1/sla/policies", headers=admin, json={
        "contract_code": contract, "zone_class": "in_zone", "calendar_code": "24x7", "respond_minutes": 60,
        "arrive_minutes": 240, "resolve_minutes": 1440, "resolve_from": "arrived"})).status_code == 200
    assert (await dp.put(f"/v1/engineers/{engineer}", headers=auth_headers("dispatcher"), json={
        "name": "Li Gong", "employer": "dealer", "dealer_id": dealer, "skills": {skill: 2}, "zones": [region],
        "home_lat": HOME[0], "home_lon": HOME[1], "max_jobs": 2})).status_code == 200
    assert (await pt.post("/v1/catalogue/parts", headers=clerk, json={
        "part_no": part_no, "name": "heating element", "product_lines": [line], "cost_price": str(COST),
        "list_price": "130.00", "must_return": True})).status_code == 201
    assert (await tk.post("/v1/units", headers=agent, json={
        "serial": serial, "product_line": line, "customer_name": "李娜", "phone": "13912345678",
        "address": "上海市静安区南京西路2号", "region_code": region, "dealer_id": dealer, "contract_code": contract,
        "sold_on": (today - timedelta(days=90)).isoformat()})).status_code == 201

    # the call, the job, the repair with the part replaced
    r = await tk.post("/v1/tickets", headers={**agent, "Idempotency-Key": f"md-intake-{sfx}"}, json={
        "serial": serial, "customer_name": "李娜", "phone": "13912345678", "address": "上海市静安区南京西路2号",
        "region_code": region, "lat": HOME[0], "lon": HOME[1], "channel": "phone",
        "fault_description": "no hot water", "requested_action": "repair"})
    assert r.status_code == 201, r.text
    ticket_id = r.json()["id"]

    async def jobs() -> list[dict[str, Any]]:
        return (await dp.get("/v1/jobs", params={"ticket_id": ticket_id}, headers=admin)).json()

    job_id = (await eventually("dispatch offers the job", jobs,
                               lambda js: len(js) == 1 and js[0]["engineer_id"] == engineer))[0]["id"]

    async def act(action: str, **extra: Any) -> None:
        r = await dp.post(f"/v1/jobs/{job_id}/actions", headers=eng, json={
            "client_action_id": f"{action}-{uuid.uuid4().hex[:12]}", "action": action,
            "device_time": clock.now().isoformat(), **extra})
        assert r.status_code == 200, f"{action}: {r.text}"

    await act("accept")
    await act("depart")
    await act("arrive", lat=HOME[0], lon=HOME[1])
    await act("complete", record={
        "work_done": "replaced the heating element", "root_cause": "supplier_part", "labour_minutes": 40,
        "parts_used": [{"part_no": part_no, "quantity": 1, "new_serial": f"N-{sfx}", "old_serial": f"O-{sfx}"}],
        "customer_name": "李娜", "signature_ref": f"sig/{sfx}.png"})

    async def returns(status: str) -> list[dict[str, Any]]:
        rows = (await pt.get("/v1/returns", params={"status": status}, headers=clerk)).json()
        return [x for x in rows if x["job_id"] == job_id]

    due = await eventually("parts expects the old part back", lambda: returns("due"), lambda rs: len(rs) == 1)
    due_on = datetime.fromisoformat(due[0]["due_on"]) if "T" in due[0]["due_on"] else None
    assert due[0]["dealer_id"] == dealer and Decimal(due[0]["cost_price"]) == COST

    # nobody sends it back; a month passes in one call
    r = await pt.post("/v1/admin/clock", headers=admin, json={"seconds": 31 * 86_400})
    assert r.status_code == 200, r.text
    moved_today = clock.business_today()
    assert moved_today >= today + timedelta(days=31)
    if due_on is not None:
        assert clock.now() > due_on

    await eventually("the parts watcher marks the return missed after the moved clock passes its due date",
                     lambda: returns("missed"), lambda rs: len(rs) == 1, timeout=120)

    quarter = quarter_of(moved_today)
    first = (moved_today.year * 12 + moved_today.month - 1) - ((moved_today.month - 1) % 3)
    for m in range(first - 2, first + 3):  # a dealer that reports every month (no R-D4 forfeit)
        r = await st.post(f"/v1/dealers/{dealer}/monthly-reports", headers=finance,
                          json={"month": f"{m // 12}-{m % 12 + 1:02d}", "records": True, "quality_feedback": True})
        assert r.status_code == 201, r.text

    async def ledger() -> list[dict[str, Any]]:
        r = await st.get(f"/v1/dealers/{dealer}/ledger", params={"quarter": quarter}, headers=finance)
        assert r.status_code == 200, r.text
        return r.json()

    entries = await eventually("settlement books the chargeback at cost price (R-P4, R-D3)", ledger,
                               lambda es: any(e["kind"] == "part_not_returned" for e in es), timeout=120)
    charge = next(e for e in entries if e["kind"] == "part_not_returned")
    assert Decimal(charge["amount"]) == COST

    r = await st.post("/v1/statement-runs", headers=finance, json={"quarter": quarter, "dealer_ids": [dealer]})
    assert r.status_code == 200, r.text
    statement_id = r.json()["created"][0]["statement_id"]
    statement = (await st.get(f"/v1/statements/{statement_id}", headers=finance)).json()
    deductions = [(ln["code"], Decimal(ln["amount"])) for ln in statement["lines"] if Decimal(ln["amount"]) < 0]
    assert deductions == [("parts_not_returned", -COST)], statement["lines"]
