"""One customer's journey through all four real services, which cooperate only through Kafka events.

Ticketing, dispatch, parts and settlement run in this process against the real Postgres and Kafka.
The test talks to each service only through its own HTTP API (plus read-only checks of the outbox);
everything that crosses a service boundary travels as an integration event:

  warranty card ──UnitRegistered──▶ settlement ledger (registered sale), parts (base stock)
  ticket ──TicketOpened──▶ dispatch job (SLA deadlines, offer) ──JobAssigned…──▶ ticket status
  part request delivered ──RequestDelivered──▶ dispatch job resumes
  job completed ──JobCompleted──▶ ticket closed + callback + repair history, parts return due,
                                 settlement repair + home visit ──▶ quarterly statement
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from opentelemetry.trace import SpanKind

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
CUSTOMER = (31.2304, 121.4737)  # the customer's home
ENGINEER_HOME = (31.2450, 121.4900)  # about 2 km away
WAREHOUSE = (31.1000, 121.3000)
REPAIR_FEE, HOME_VISIT_FEE = Decimal("86.35"), Decimal("24.15")
RESPOND_MIN, ARRIVE_MIN, RESOLVE_MIN = 60, 240, 1440


def quarter_of(d: date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def report_months(d: date) -> list[str]:
    """The months R-D4 streaks look at for this quarter: its three and the two before."""
    first = date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    out = []
    for back in range(-2, 3):
        m = first.month - 1 + back
        out.append(f"{first.year + m // 12}-{m % 12 + 1:02d}")
    return out


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def trace_parts(traceparent: str) -> tuple[int, int]:
    """(trace id, parent span id) of a W3C traceparent."""
    _v, trace_id, span_id, _f = traceparent.split("-")
    return int(trace_id, 16), int(span_id, 16)


async def test_customer_journey_through_all_four_services(platform, auth_headers, admin_db, eventually):
    tk, dp, pt, st = (platform[n].client for n in ("ticketing", "dispatch", "parts", "settlement"))
    sfx = uuid.uuid4().hex[:8]
    line, skill, serial = f"E2E-{sfx}", f"hvac-{sfx}", f"SN-E2E-{sfx}"
    dealer, engineer, contract = f"D-E2E-{sfx}", f"ENG-{sfx}", f"GOLD-{sfx}"
    region = f"99{int(sfx, 16) % 10000:04d}"  # no real region: the zone below is ours alone
    part_no = f"CMP-{sfx}"
    admin = auth_headers("admin", sub="e2e-admin")
    agent = auth_headers("call_center", sub="e2e-agent")
    finance = auth_headers("finance", sub="e2e-finance")
    dispatcher = auth_headers("dispatcher", sub="e2e-dispatcher")
    clerk = auth_headers("parts_clerk", sub="e2e-clerk")
    eng = auth_headers("engineer", sub=engineer, engineer_id=engineer, dealer_id=dealer)
    today = datetime.now(SHANGHAI).date()
    quarter = quarter_of(today)

    # --- 2. reference data, each through its owner's API --------------------------------------------
    r = await tk.post("/v1/product-lines", headers=admin,
                      json={"code": line, "name": "Split air conditioner", "required_skill": skill})
    assert r.status_code == 201, r.text
    r = await tk.post(f"/v1/product-lines/{line}/policies", headers=admin, json={
        "effective_from": "2020-01-01", "months": 12, "start_basis": "sale", "component_months": {"compressor": 36}})
    assert r.status_code == 201, r.text

    r = await st.post("/v1/dealers", headers=finance,
                      json={"id": dealer, "name": "Journey Dealer", "territories": ["SH"]})
    assert r.status_code == 201, r.text
    r = await st.post(f"/v1/dealers/{dealer}/contracts", headers=finance, json={
        "effective_from": f"{today.year}-01-01", "fee_model": "d",
        "parameters": {"repair_fee": str(REPAIR_FEE), "home_visit_fee": str(HOME_VISIT_FEE)}})
    assert r.status_code == 201, r.text
    for month in report_months(today):  # a dealer that reports every month (no R-D4 forfeit)
        r = await st.post(f"/v1/dealers/{dealer}/monthly-reports", headers=finance,
                          json={"month": month, "records": True, "quality_feedback": True})
        assert r.status_code == 201, r.text

    r = await dp.put(f"/v1/zones/{region}", headers=admin,
                     json={"name": "Journey district", "zone_class": "in_zone", "lat": CUSTOMER[0], "lon": CUSTOMER[1]})
    assert r.status_code == 200, r.text
    r = await dp.put("/v1/sla/policies", headers=admin, json={
        "contract_code": contract, "zone_class": "in_zone", "calendar_code": "24x7", "respond_minutes": RESPOND_MIN,
        "arrive_minutes": ARRIVE_MIN, "resolve_minutes": RESOLVE_MIN, "resolve_from": "arrived"})
    assert r.status_code == 200, r.text
    r = await dp.put(f"/v1/engineers/{engineer}", headers=dispatcher, json={
        "name": "Wang Gong", "employer": "dealer", "dealer_id": dealer, "skills": {skill: 3}, "zones": [region],
        "home_lat": ENGINEER_HOME[0], "home_lon": ENGINEER_HOME[1], "max_jobs": 2})
    assert r.status_code == 200, r.text

    r = await pt.post("/v1/catalogue/parts", headers=clerk, json={
        "part_no": part_no, "name": "compressor relay", "product_lines": [line], "cost_price": "80.00",
        "list_price": "120.00", "must_return": True})
    assert r.status_code == 201, r.text
    r = await pt.post("/v1/warehouses", headers=clerk, json={
        "code": f"WH-{sfx}", "name": "Shanghai regional", "kind": "regional", "lat": WAREHOUSE[0], "lon": WAREHOUSE[1]})
    assert r.status_code == 201, r.text
    warehouse = r.json()["id"]
    r = await pt.post("/v1/stock/receipts", headers=clerk,
                      json={"warehouse_id": warehouse, "part_no": part_no, "quantity": 5})
    assert r.status_code == 201, r.text

    async def stock() -> dict[str, int]:
        rows = (await pt.get(f"/v1/warehouses/{warehouse}/stock", headers=clerk)).json()
        return next({"on_hand": x["on_hand"], "reserved": x["reserved"]} for x in rows if x["part_no"] == part_no)

    # --- 3. the unit is sold and its warranty card comes back -------------------------------------------
    r = await tk.post("/v1/units", headers=agent, json={
        "serial": serial, "product_line": line, "customer_name": "王伟", "phone": "13812345678",
        "address": "上海市黄浦区人民大道1号", "region_code": region, "dealer_id": dealer, "contract_code": contract,
        # sold 12 days ago: the card comes back within the dealer's 20 days (R-W10), so its repairs are reimbursed
        "sold_on": (today - timedelta(days=12)).isoformat(), "sale_amount": "3999.00"})
    assert r.status_code == 201, r.text
    r = await tk.post(f"/v1/units/{serial}/warranty-card", headers=agent, json={"registered_on": today.isoformat()})
    assert r.status_code == 200, r.text

    async def ledger() -> list[dict[str, Any]]:
        r = await st.get(f"/v1/dealers/{dealer}/ledger", params={"quarter": quarter}, headers=finance)
        assert r.status_code == 200, r.text
        return r.json()

    entries = await eventually("settlement books the registered sale", ledger,
                               lambda es: any(e["kind"] == "registered_sale" for e in es))
    sale = next(e for e in entries if e["kind"] == "registered_sale")
    assert money(sale["amount"]) == Decimal("3999.00") and sale["source_type"] == "ticketing.unit.registered"

    async def base_stock() -> list[dict[str, Any]]:
        return (await pt.get("/v1/base-stock/suggestions", params={"dealer_id": dealer}, headers=clerk)).json()

    suggestions = await eventually("parts counts the registered sale for base stock (R-P5)", base_stock,
                                   lambda rows: any(x["part_no"] == part_no for x in rows))
    assert [(x["registered_sales"], x["suggested"]) for x in suggestions if x["part_no"] == part_no] == [(1, 1)]

    # --- 4. the customer calls; the call center opens a ticket ------------------------------------------
    intake = {"serial": serial, "customer_name": "王伟", "phone": "138 1234 5678", "address": "上海市黄浦区人民大道1号",
              "region_code": region, "lat": CUSTOMER[0], "lon": CUSTOMER[1], "channel": "phone",
              "fault_description": "no cooling, the compressor clicks and stops", "requested_action": "repair"}
    key = {"Idempotency-Key": f"e2e-intake-{sfx}"}
    r = await tk.post("/v1/tickets", headers={**agent, **key}, json=intake)
    assert r.status_code == 201, r.text
    ticket = r.json()
    ticket_id, opened_at = ticket["id"], at(ticket["opened_at"])
    assert (ticket["status"], ticket["coverage"], ticket["dealer_id"]) == ("open", "warranty", dealer)
    replay = await tk.post("/v1/tickets", headers={**agent, **key}, json=intake)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true", replay.text
    assert replay.json()["id"] == ticket_id

    async def jobs() -> list[dict[str, Any]]:
        return (await dp.get("/v1/jobs", params={"ticket_id": ticket_id}, headers=dispatcher)).json()

    found = await eventually("dispatch opens a job for the ticket and offers it to the engineer", jobs,
                             lambda js: len(js) == 1 and js[0]["engineer_id"] == engineer)
    job = found[0]
    job_id = job["id"]
    assert (job["status"], job["zone_class"], job["contract_code"], job["engineer_dealer_id"]) == (
        "offered", "in_zone", contract, dealer)
    assert (job["serial"], job["required_skill"], job["ticket_no"]) == (serial, skill, ticket["ticket_no"])
    assert at(job["opened_at"]) == opened_at
    assert at(job["deadlines"]["respond"]) == opened_at + timedelta(minutes=RESPOND_MIN)  # 24x7 calendar
    assert at(job["deadlines"]["arrive"]) == opened_at + timedelta(minutes=ARRIVE_MIN)
    assert job["deadlines"]["resolve"] is None  # the resolve clock starts on arrival

    async def ticket_now() -> dict[str, Any]:
        r = await tk.get(f"/v1/tickets/{ticket_id}", headers=agent)
        assert r.status_code == 200, r.text
        return r.json()

    seen = await eventually("ticketing moves the ticket to assigned", ticket_now,
                            lambda t: t["status"] == "assigned" and t["job_id"] == job_id)
    assert seen["history"][-1]["actor"] == f"dispatch:{engineer}"

    # --- 5. the engineer's day ------------------------------------------------------------------------
    async def act(action: str, **extra: Any) -> dict[str, Any]:
        body = {"client_action_id": f"{action}-{uuid.uuid4().hex[:12]}", "action": action,
                "device_time": datetime.now(UTC).isoformat(), **extra}
        r = await dp.post(f"/v1/jobs/{job_id}/actions", headers=eng, json=body)
        assert r.status_code == 200, f"{action}: {r.status_code} {r.text}"
        return r.json()

    assert (await act("accept"))["status"] == "accepted"
    assert (await act("depart"))["status"] == "en_route"
    assert (await act("arrive", lat=CUSTOMER[0] + 0.0004, lon=CUSTOMER[1] - 0.0003))["status"] == "on_site"
    assert (await act("pause", reason="waiting_parts"))["status"] == "paused"

    r = await pt.post("/v1/part-requests", headers={**eng, "Idempotency-Key": f"e2e-parts-{sfx}"}, json={
        "lines": [{"part_no": part_no, "quantity": 1}], "coverage": "warranty", "job_id": job_id,
        "ticket_id": ticket_id, "ship_to": {"address": intake["address"], "lat": CUSTOMER[0], "lon": CUSTOMER[1]}})
    assert r.status_code == 201, r.text
    request = r.json()
    request_id = request["id"]
    assert (request["status"], request["engineer_id"], request["dealer_id"]) == ("allocated", engineer, dealer)
    assert [(x["warehouse_id"], x["status"]) for x in request["reservations"]] == [(warehouse, "active")]
    assert await stock() == {"on_hand": 5, "reserved": 1}
    for kind in ("replacement_list", "old_part_waybill"):  # R-P3: a warranty replacement ships with both
        r = await pt.post(f"/v1/part-requests/{request_id}/documents", headers=eng,
                          json={"kind": kind, "reference": f"{kind}-{sfx}"})
        assert r.status_code == 200, r.text
    r = await pt.post(f"/v1/part-requests/{request_id}/ship", headers=clerk,
                      json={"carrier": "SF Express", "tracking_no": f"SF{sfx}"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "shipped" and [x["status"] for x in r.json()["reservations"]] == ["issued"]
    assert await stock() == {"on_hand": 4, "reserved": 0}
    r = await pt.post(f"/v1/part-requests/{request_id}/deliver", headers=eng)
    assert r.status_code == 200 and r.json()["status"] == "delivered", r.text

    async def job_now() -> dict[str, Any]:
        r = await dp.get(f"/v1/jobs/{job_id}", headers=eng)
        assert r.status_code == 200, r.text
        return r.json()

    job = await eventually("dispatch resumes the job when parts reports the delivery", job_now,
                           lambda j: j["status"] == "on_site")
    assert job["paused_reason"] is None and len(job["pauses"]) == 1
    pause = job["pauses"][0]
    assert pause["reason"] == "waiting_parts" and pause["end"] is not None
    paused_for = at(pause["end"]) - at(pause["start"])
    # the resolve clock runs from arrival and stood still while the job waited for the part
    assert at(job["deadlines"]["resolve"]) == at(job["arrived_at"]) + timedelta(minutes=RESOLVE_MIN) + paused_for
    await eventually("ticketing shows the engineer back at work", ticket_now, lambda t: t["status"] == "on_site")

    record = {"work_done": "replaced the compressor start relay", "root_cause": "supplier_part",
              "parts_used": [{"part_no": part_no, "quantity": 1, "new_serial": f"N-{sfx}", "old_serial": f"O-{sfx}"}],
              "labour_minutes": 50, "customer_name": "王伟", "signature_ref": f"sig/{sfx}.png",
              "photos": [f"photos/{sfx}.jpg"]}
    assert (await act("complete", record=record))["status"] == "completed"

    # --- 6. downstream effects ---------------------------------------------------------------------
    closed = await eventually("ticketing closes the ticket", ticket_now, lambda t: t["status"] == "closed")
    assert [h["to_status"] for h in closed["history"]] == [
        "open", "assigned", "en_route", "on_site", "paused", "on_site", "closed"]
    assert closed["history"][-1]["reason"] == "repaired"

    callbacks = (await tk.get("/v1/callbacks", params={"dealer_id": dealer}, headers=agent)).json()
    assert [(c["ticket_id"], c["job_id"], c["status"]) for c in callbacks] == [(ticket_id, job_id, "pending")]  # R-T5
    repairs = await admin_db.fetch(
        "SELECT job_id, ticket_id::text AS ticket_id, parts_replaced, in_warranty FROM ticketing.unit_repairs "
        "WHERE serial = $1", serial)
    assert [(x["job_id"], x["ticket_id"], json.loads(x["parts_replaced"]), x["in_warranty"]) for x in repairs] == [
        (job_id, ticket_id, [part_no], True)]
    warranty = (await tk.get(f"/v1/units/{serial}/warranty", headers=agent)).json()
    assert warranty["repair_counts"] == {"unit": 1}  # R-W5 counts it

    async def returns() -> list[dict[str, Any]]:
        return (await pt.get("/v1/returns", params={"status": "due"}, headers=eng)).json()

    due = await eventually("parts expects the old part back (R-P4)", returns,
                           lambda rs: any(x["job_id"] == job_id for x in rs))
    assert [(x["part_no"], x["quantity"], x["old_serial"], x["dealer_id"], money(x["cost_price"]))
            for x in due if x["job_id"] == job_id] == [(part_no, 1, f"O-{sfx}", dealer, Decimal("80.00"))]
    final = (await pt.get(f"/v1/part-requests/{request_id}", headers=clerk)).json()
    assert final["status"] == "delivered" and [x["status"] for x in final["reservations"]] == ["issued"]
    assert await stock() == {"on_hand": 4, "reserved": 0}  # issued once: at shipping, not again at completion

    entries = await eventually("settlement books the repair and the home visit", ledger,
                               lambda es: {"repair", "home_visit"} <= {e["kind"] for e in es})
    assert sorted(e["kind"] for e in entries) == ["home_visit", "registered_sale", "repair"]

    r = await st.post("/v1/statement-runs", headers=finance, json={"quarter": quarter, "dealer_ids": [dealer]})
    assert r.status_code == 200, r.text
    assert len(r.json()["created"]) == 1, r.text
    statement_id = r.json()["created"][0]["statement_id"]
    statement = (await st.get(f"/v1/statements/{statement_id}", headers=finance)).json()
    expected = REPAIR_FEE + HOME_VISIT_FEE
    assert (statement["dealer_id"], statement["quarter"], statement["fee_model"]) == (dealer, quarter, "d")
    assert [(ln["code"], money(ln["quantity"]), money(ln["amount"])) for ln in statement["lines"]] == [
        ("fee_repairs", 1, REPAIR_FEE), ("fee_home_visits", 1, HOME_VISIT_FEE)]
    assert money(statement["net_amount"]) == expected
    export = await st.get(f"/v1/statements/{statement_id}/export.csv", headers=finance)
    assert export.status_code == 200, export.text
    totals = {row[0]: row[1] for row in csv.reader(io.StringIO(export.text)) if len(row) == 2}
    assert totals["net_amount"] == "110.50" == str(expected)  # 86.35 + 24.15, to the fen
    assert await admin_db.fetchval("SELECT net_amount FROM settlement.statements WHERE id = $1",
                                   uuid.UUID(statement_id)) == Decimal("110.50")

    # --- 7. one trace from the call center's request through dispatch and back ------------------------
    rows = await admin_db.fetch("SELECT headers FROM ticketing.outbox WHERE event_type = 'ticketing.ticket.opened' "
                                "AND key = $1", ticket_id)
    assert len(rows) == 1, "the replayed intake must not announce the ticket twice"
    traceparent = json.loads(rows[0]["headers"]).get("traceparent")
    assert traceparent, f"TicketOpened outbox row has no traceparent: {rows[0]['headers']}"
    trace_id, producer_span = trace_parts(traceparent)

    posts = sorted((sp for sp in platform["ticketing"].spans.get_finished_spans()
                    if sp.name == "POST /v1/tickets" and sp.kind is SpanKind.SERVER), key=lambda sp: sp.start_time)
    assert len(posts) == 2, [sp.name for sp in posts]  # the intake and its replay
    assert posts[0].context.trace_id == trace_id, "the outbox row carries the intake request's trace"
    assert posts[1].context.trace_id != trace_id

    consumed = [sp for sp in platform["dispatch"].spans.get_finished_spans()
                if sp.kind is SpanKind.CONSUMER and sp.name == "ticketing.ticket.v1 process"
                and sp.context.trace_id == trace_id]
    assert len(consumed) == 1, "dispatch consumed TicketOpened in the intake's trace"
    assert consumed[0].attributes["messaging.event_type"] == "ticketing.ticket.opened"
    assert consumed[0].parent is not None and consumed[0].parent.span_id == producer_span

    created = await admin_db.fetchval("SELECT headers FROM dispatch.outbox WHERE event_type = 'dispatch.job.created' "
                                      "AND key = $1", job_id)
    assert trace_parts(json.loads(created)["traceparent"])[0] == trace_id, "JobCreated continues the trace"
    assert any(sp.kind is SpanKind.CONSUMER and sp.name == "dispatch.job.v1 process" and sp.context.trace_id == trace_id
               for sp in platform["ticketing"].spans.get_finished_spans()), \
        "ticketing consumed the job's first events in the intake's trace"
