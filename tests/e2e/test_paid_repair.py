"""Issue 15 end to end: what the engineer finds on site decides coverage and money.

The paid repair is quoted on site (the product line's rate card, the part at the parts catalogue's list price),
accepted with a signature and paid (receipt), and shows in dispatch's paid-repair revenue. The part exists in the
parts catalogue, which announces it over Kafka: ticketing's component list may name it once ticketing heard it,
and dispatch's quote charges its catalogue list price.

A liquid spill found on site (R-W3) turns a warranty job into a paid repair: dispatch records the diagnosis and
emits ``dispatch.job.diagnosed``; ticketing re-determines the coverage and emits
``ticketing.ticket.coverage_changed`` (with the reason); dispatch keeps it on the job; parts re-gates the job's
open part request as a paid order (R-P2: no shipping before payment) and gates a new one as paid; settlement
books no repair fee for the job (the statement line says why). All four services run for real and cooperate only
through Kafka.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
CUSTOMER = (31.2304, 121.4737)
REPAIR_FEE, HOME_VISIT_FEE = Decimal("86.35"), Decimal("24.15")


def quarter_of(d: Any) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def report_months(d: Any) -> list[str]:
    first_month = (d.month - 1) // 3 * 3 + 1
    out = []
    for back in range(-2, 3):
        m = first_month - 1 + back
        out.append(f"{d.year + m // 12}-{m % 12 + 1:02d}")
    return out


async def test_R_W3_spill_found_on_site_makes_the_repair_paid_end_to_end(platform, auth_headers, eventually):
    """R-W3/R-T3 → coverage paid (ticketing, with the reason) → the job carries it (dispatch) → R-P2 gate on the
    job's part requests (parts) → no dealer fee for the job, the statement line says why (settlement)."""
    tk, dp, pt, st = (platform[n].client for n in ("ticketing", "dispatch", "parts", "settlement"))
    sfx = uuid.uuid4().hex[:8]
    line, skill, serial = f"PR-{sfx}", f"wash-{sfx}", f"SN-PR-{sfx}"
    dealer, engineer, contract = f"D-PR-{sfx}", f"ENG-PR-{sfx}", f"PR-{sfx}"
    region = f"98{int(sfx, 16) % 10000:04d}"
    part_no = f"PCB-{sfx}"
    admin = auth_headers("admin", sub="pr-admin")
    agent = auth_headers("call_center", sub="pr-agent")
    finance = auth_headers("finance", sub="pr-finance")
    dispatcher = auth_headers("dispatcher", sub="pr-dispatcher")
    clerk = auth_headers("parts_clerk", sub="pr-clerk")
    eng = auth_headers("engineer", sub=engineer, engineer_id=engineer, dealer_id=dealer)
    today = datetime.now(SHANGHAI).date()
    quarter = quarter_of(today)

    # --- reference data, each through its owner's API
    # the part first: the parts catalogue is the source of truth of part numbers and list prices (issue 15)
    r = await pt.post("/v1/catalogue/parts", headers=clerk, json={
        "part_no": part_no, "name": "control board", "product_lines": [line], "cost_price": "150.00",
        "list_price": "260.00", "must_return": True})
    assert r.status_code == 201, r.text

    async def create_line() -> Any:  # refused (422 part_not_in_catalog, nothing written) until ticketing heard it
        r = await tk.post("/v1/product-lines", headers=admin,  # its component list reaches dispatch over Kafka
                          json={"code": line, "name": "Washing machine", "required_skill": skill,
                                "components": [{"component": "control_board", "part_nos": [part_no]},
                                               {"component": "drum_motor", "part_nos": []}]})
        assert r.status_code in (201, 422), r.text
        assert r.status_code == 201 or r.json()["code"] == "part_not_in_catalog", r.text
        return r

    await eventually("ticketing hears the catalogue part and takes the component list", create_line,
                     lambda r: r.status_code == 201)
    r = await tk.post(f"/v1/product-lines/{line}/policies", headers=admin,
                      json={"effective_from": "2020-01-01", "months": 24, "start_basis": "sale"})
    assert r.status_code == 201, r.text
    r = await st.post("/v1/dealers", headers=finance, json={"id": dealer, "name": "Paid Dealer", "territories": ["SH"]})
    assert r.status_code == 201, r.text
    r = await st.post(f"/v1/dealers/{dealer}/contracts", headers=finance, json={
        "effective_from": f"{today.year}-01-01", "fee_model": "d",
        "parameters": {"repair_fee": str(REPAIR_FEE), "home_visit_fee": str(HOME_VISIT_FEE)}})
    assert r.status_code == 201, r.text
    for month in report_months(today):
        r = await st.post(f"/v1/dealers/{dealer}/monthly-reports", headers=finance,
                          json={"month": month, "records": True, "quality_feedback": True})
        assert r.status_code == 201, r.text
    r = await dp.put(f"/v1/zones/{region}", headers=admin,
                     json={"name": "Paid district", "zone_class": "in_zone", "lat": CUSTOMER[0], "lon": CUSTOMER[1]})
    assert r.status_code == 200, r.text
    r = await dp.put(f"/v1/engineers/{engineer}", headers=dispatcher, json={
        "name": "Li Gong", "employer": "dealer", "dealer_id": dealer, "skills": {skill: 3}, "zones": [region],
        "home_lat": CUSTOMER[0] + 0.01, "home_lon": CUSTOMER[1], "max_jobs": 2})
    assert r.status_code == 200, r.text
    r = await pt.post("/v1/warehouses", headers=clerk, json={
        "code": f"WH-PR-{sfx}", "name": "Regional", "kind": "regional", "lat": 31.1, "lon": 121.3})
    assert r.status_code == 201, r.text
    r = await pt.post("/v1/stock/receipts", headers=clerk,
                      json={"warehouse_id": r.json()["id"], "part_no": part_no, "quantity": 5})
    assert r.status_code == 201, r.text
    r = await tk.post("/v1/units", headers=agent, json={
        "serial": serial, "product_line": line, "customer_name": "张敏", "phone": "13912345678",
        "address": "上海市静安区南京西路2号", "region_code": region, "dealer_id": dealer, "contract_code": contract,
        "sold_on": (today - timedelta(days=200)).isoformat()})
    assert r.status_code == 201, r.text

    # --- the report: in warranty at intake
    r = await tk.post("/v1/tickets", headers={**agent, "Idempotency-Key": f"pr-intake-{sfx}"}, json={
        "serial": serial, "customer_name": "张敏", "phone": "13912345678", "address": "上海市静安区南京西路2号",
        "region_code": region, "lat": CUSTOMER[0], "lon": CUSTOMER[1], "channel": "phone",
        "fault_description": "does not start, display dark"})
    assert r.status_code == 201, r.text
    ticket_id = r.json()["id"]
    assert r.json()["coverage"] == "warranty"

    async def jobs() -> list[dict[str, Any]]:
        return (await dp.get("/v1/jobs", params={"ticket_id": ticket_id}, headers=dispatcher)).json()

    job_id = (await eventually("dispatch offers the job to the engineer", jobs,
                               lambda js: len(js) == 1 and js[0]["engineer_id"] == engineer))[0]["id"]

    async def act(action: str, **extra: Any) -> dict[str, Any]:
        body = {"client_action_id": f"{action}-{uuid.uuid4().hex[:12]}", "action": action,
                "device_time": datetime.now(UTC).isoformat(), **extra}
        r = await dp.post(f"/v1/jobs/{job_id}/actions", headers=eng, json=body)
        assert r.status_code == 200, f"{action}: {r.status_code} {r.text}"
        return r.json()

    await act("accept")
    await act("arrive", lat=CUSTOMER[0], lon=CUSTOMER[1])
    # a part ordered as warranty before the cause is known: the warranty gate (R-P3) holds it
    r = await pt.post("/v1/part-requests", headers={**eng, "Idempotency-Key": f"pr-parts-{sfx}"}, json={
        "lines": [{"part_no": part_no, "quantity": 1}], "coverage": "warranty", "job_id": job_id,
        "ticket_id": ticket_id, "ship_to": {"address": "上海市静安区南京西路2号"}})
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    assert r.json()["coverage"] == "warranty"

    # --- the diagnosis on site: a liquid spill, with photos
    diagnosis = {"components": [{"component": "control_board", "part_no": part_no}], "root_cause": "customer",
                 "exclusions": ["liquid_spill"], "evidence": [f"photos/{sfx}-spill.jpg"],
                 "note": "water residue on the board"}
    async def line_components() -> dict[str, Any]:
        return (await dp.get(f"/v1/product-lines/{line}/components", headers=eng)).json()

    await eventually("dispatch holds the line's component list", line_components, lambda c: c.get("version") == 1)
    r = await dp.put(f"/v1/jobs/{job_id}/diagnosis", headers=eng, json={  # R-W3/R-T3: named from the line's list
        **diagnosis, "components": [{"component": "heating_element"}]})
    assert r.status_code == 422 and r.json()["field"] == "components[0].component", r.text
    r = await dp.put(f"/v1/jobs/{job_id}/diagnosis", headers=eng, json=diagnosis)
    assert r.status_code == 200, r.text
    assert (r.json()["revision"], r.json()["points_to_paid"], r.json()["components_validated"]) == (1, True, True)

    async def coverage() -> dict[str, Any]:
        r = await tk.get(f"/v1/tickets/{ticket_id}/coverage", headers=agent)
        assert r.status_code == 200, r.text
        return r.json()

    cov = await eventually("ticketing re-determines the coverage as paid", coverage, lambda c: c["coverage"] == "paid")
    assert "liquid" in cov["coverage_reason"] and cov["root_cause"] == "customer"
    assert cov["exclusions"] == ["liquid_spill"]
    assert [(c["source"], c["from_coverage"], c["to_coverage"], c["job_id"], c["actor"]) for c in cov["changes"]] == [
        ("diagnosis", "warranty", "paid", job_id, f"dispatch:{engineer}")]

    async def job_diagnosis() -> dict[str, Any]:
        return (await dp.get(f"/v1/jobs/{job_id}/diagnosis", headers=eng)).json()

    seen = await eventually("dispatch keeps the paid coverage on the job", job_diagnosis,
                            lambda d: d["coverage"] == "paid")
    assert "liquid" in seen["coverage_reason"]

    async def part_request() -> dict[str, Any]:
        return (await pt.get(f"/v1/part-requests/{request_id}", headers=clerk)).json()

    req = await eventually("parts re-gates the open request as a paid order", part_request,
                           lambda q: q["coverage"] == "paid")
    assert req["ship_by"] is None  # R-P2: no ship-by clock before payment
    r = await pt.post(f"/v1/part-requests/{request_id}/ship", headers=clerk,
                      json={"carrier": "SF Express", "tracking_no": f"SF{sfx}"})
    assert r.status_code == 409 and r.json()["code"] == "gate_closed", r.text
    assert r.json()["missing"] == ["payment"] or "payment" in r.text
    r = await pt.post(f"/v1/part-requests/{request_id}/payment", headers=finance,
                      json={"reference": f"RCPT-{sfx}"})
    assert r.status_code == 200, r.text
    assert r.json()["ship_by"] is not None  # paid: the R-P1 clock starts
    # a new request for the paid job is a paid order whatever the engineer sends
    r = await pt.post("/v1/part-requests", headers={**eng, "Idempotency-Key": f"pr-parts2-{sfx}"}, json={
        "lines": [{"part_no": part_no, "quantity": 1}], "coverage": "warranty", "job_id": job_id,
        "ship_to": {"address": "上海市静安区南京西路2号"}})
    assert r.status_code == 201, r.text
    assert (r.json()["coverage"], r.json()["ship_by"]) == ("paid", None)

    # --- the quote on site (labour by the line's rate card, the part at list price, the visit fee), signed, paid
    r = await dp.put(f"/v1/rate-cards/{line}/{today}", headers=admin, json={
        "labour_per_hour": "90.00", "visit_fee": "40.00", "declined_visit_fee": "30.00"})
    assert r.status_code == 200, r.text
    # the part at the catalogue's list price (dispatch heard it over Kafka): another price sent is refused
    async def wrong_price() -> Any:
        r = await dp.post(f"/v1/jobs/{job_id}/quotes", headers=eng, json={
            "labour_minutes": 40, "parts": [{"part_no": part_no, "list_price": "26.00"}]})
        assert r.status_code == 422, r.text  # part_not_in_catalog until dispatch heard it; never a quote
        return r.json()

    problem = await eventually("dispatch holds the part's catalogue list price", wrong_price,
                               lambda p: p["code"] == "list_price_mismatch")
    assert (problem["field"], problem["catalogue_list_price"]) == ("parts[0].list_price", "260.00")
    r = await dp.post(f"/v1/jobs/{job_id}/quotes", headers={**eng, "Idempotency-Key": f"pr-quote-{sfx}"}, json={
        "labour_minutes": 40, "parts": [{"part_no": part_no}]})  # no price sent: the catalogue's
    assert r.status_code == 201, r.text
    quote = r.json()
    assert [(ln["kind"], ln["description"], ln["amount"]) for ln in quote["lines"]][1:] == [
        ("part", "control board", "260.00"), ("visit_fee", "home visit", "40.00")]
    assert [(ln["kind"], ln["amount"]) for ln in quote["lines"]] == [
        ("labour", "60.00"), ("part", "260.00"), ("visit_fee", "40.00")]
    assert quote["total"] == "360.00"
    r = await dp.post(f"/v1/jobs/{job_id}/quotes/{quote['id']}/accept", headers=eng,
                      json={"signature_ref": f"sig/quote-{sfx}.png", "signed_by": "张敏"})
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    r = await dp.post(f"/v1/jobs/{job_id}/payments", headers=eng,
                      json={"amount": "360.00", "method": "wechat", "receipt_no": f"WX-{sfx}"})
    assert r.status_code == 201, r.text
    report = (await dp.get("/v1/reports/paid-repairs", headers=dispatcher,
                           params={"date_from": str(today), "date_to": str(today)})).json()
    assert Decimal(report["revenue"]) >= Decimal("360.00") and report["quotes_accepted"] >= 1

    # --- the repair is done: no fee for the dealer
    await act("complete", record={
        "work_done": "replaced the control board (customer-paid)", "labour_minutes": 40,
        "parts_used": [{"part_no": part_no, "quantity": 1}], "customer_name": "张敏",
        "signature_ref": f"sig/{sfx}.png"})

    async def ledger() -> list[dict[str, Any]]:
        r = await st.get(f"/v1/dealers/{dealer}/ledger", params={"quarter": quarter}, headers=finance)
        assert r.status_code == 200, r.text
        return r.json()

    entries = await eventually("settlement books the job as customer-paid", ledger,
                               lambda es: any(e["kind"] == "repair_customer_paid" for e in es))
    assert sorted(e["kind"] for e in entries) == ["repair_customer_paid"]  # no repair, no home visit fee
    assert entries[0]["source_type"] == "dispatch.job.completed"
    r = await st.post("/v1/statement-runs", headers=finance, json={"quarter": quarter, "dealer_ids": [dealer]})
    assert r.status_code == 200, r.text
    statement = (await st.get(f"/v1/statements/{r.json()['created'][0]['statement_id']}", headers=finance)).json()
    assert [(ln["code"], Decimal(ln["quantity"]), Decimal(ln["amount"])) for ln in statement["lines"]] == [
        ("repairs_customer_paid", 1, 0)]
    assert "not reimbursed" in statement["lines"][0]["description"]
    assert Decimal(statement["net_amount"]) == 0

    async def ticket_now() -> dict[str, Any]:
        return (await tk.get(f"/v1/tickets/{ticket_id}", headers=agent)).json()

    closed = await eventually("ticketing closes the ticket", ticket_now, lambda t: t["status"] == "closed")
    assert (closed["coverage"], closed["root_cause"]) == ("paid", "customer")
