"""Statement runs, revisions, maker-checker workflow, late facts, exports, auth (real Postgres + Kafka)."""

from __future__ import annotations

import io
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook

from .conftest import QUARTER, add_ledger, setup_dealer

pytestmark = pytest.mark.integration


async def run(client, h, quarter=QUARTER, dealer_ids=None):
    body = {"quarter": quarter} | ({"dealer_ids": dealer_ids} if dealer_ids else {})
    r = await client.post("/v1/statement-runs", json=body, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


async def test_R_D2d_run_revision_workflow_late_and_exports(client, fin, admin_db):
    await setup_dealer(client, fin["admin"])
    await add_ledger(admin_db, "SD1", "repair", n=25)
    await add_ledger(admin_db, "SD1", "home_visit", n=18)
    await add_ledger(admin_db, "SD1", "urgent_surcharge", amount="33.30", n=2)

    first = await run(client, fin["maker"])
    assert len(first["created"]) == 1 and first["created"][0]["revision"] == 1
    sid = first["created"][0]["statement_id"]
    st = (await client.get(f"/v1/statements/{sid}", headers=fin["ops"])).json()
    assert D(st["net_amount"]) == D("2473.40")  # 2000 + 540 − 66.60
    assert [ln["code"] for ln in st["lines"]] == ["fee_repairs", "fee_home_visits", "urgent_shipping"]

    # idempotent: no changed inputs → same statement
    again = await run(client, fin["maker"])
    assert again["created"] == [] and again["unchanged"][0]["statement_id"] == sid

    # changed inputs → new revision showing what changed
    r = await client.post("/v1/dealers/SD1/findings", json={
        "kind": "incomplete_record", "reference": "REC-7", "value": "80.00",
        "occurred_at": "2026-05-20T10:00:00+08:00"}, headers=fin["admin"])
    assert r.status_code == 201, r.text
    rev2 = await run(client, fin["maker"])
    assert rev2["created"][0]["revision"] == 2
    sid2 = rev2["created"][0]["statement_id"]
    st2 = (await client.get(f"/v1/statements/{sid2}", headers=fin["maker"])).json()
    assert D(st2["net_amount"]) == D("2393.40")
    assert {"line": "verification_void", "before": "0.00", "after": "-80.00"} in st2["changes"]
    old = (await client.get(f"/v1/statements/{sid}", headers=fin["maker"])).json()
    assert old["superseded"] is True
    r = await client.post(f"/v1/statements/{sid}/review", headers=fin["checker"])
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")

    # workflow with maker-checker
    assert (await client.post(f"/v1/statements/{sid2}/approve", headers=fin["checker"])).status_code == 409  # draft
    assert (await client.post(f"/v1/statements/{sid2}/review", headers=fin["maker"])).status_code == 200
    denied = await client.post(f"/v1/statements/{sid2}/approve", headers=fin["maker"])
    assert denied.status_code == 403 and denied.json()["code"] == "maker_checker"
    ok = await client.post(f"/v1/statements/{sid2}/approve", headers=fin["checker"])
    assert ok.status_code == 200, ok.text
    approved = ok.json()
    assert approved["status"] == "approved" and approved["approved_by"] == "fin-checker"
    assert approved["due_on"]
    assert (await client.post(f"/v1/statements/{sid2}/pay", headers=fin["checker"])).json()["status"] == "paid"

    # a closed quarter is never rewritten; a late fact goes into the next quarter, visibly
    r = await client.post("/v1/dealers/SD1/findings", json={
        "kind": "return_cost", "reference": "RC-1", "value": "12.00",
        "occurred_at": "2026-06-01T10:00:00+08:00"}, headers=fin["admin"])
    assert r.status_code == 201
    assert (await run(client, fin["maker"]))["closed"][0]["statement_id"] == sid2
    ledger = (await client.get("/v1/dealers/SD1/ledger?quarter=2026Q3", headers=fin["maker"])).json()
    assert [(e["kind"], e["quarter"], e["booked_quarter"]) for e in ledger] == [("return_cost", "2026Q2", "2026Q3")]
    q3 = await run(client, fin["maker"], quarter="2026Q3")
    st3 = (await client.get(f"/v1/statements/{q3['created'][0]['statement_id']}", headers=fin["maker"])).json()
    late = [ln for ln in st3["lines"] if ln["late_from"] == "2026Q2"]
    assert late and D(late[0]["amount"]) == D("-12.00") and "late" in late[0]["description"]

    # exports
    csv_r = await client.get(f"/v1/statements/{sid2}/export.csv", headers=fin["d1"])
    assert csv_r.status_code == 200 and "net_amount,2393.40" in csv_r.text
    x = await client.get(f"/v1/statements/{sid2}/export.xlsx", headers=fin["ops"])
    ws = load_workbook(io.BytesIO(x.content)).active
    values = {row[0]: row[1] for row in ws.iter_rows(values_only=True) if row and row[0]}
    assert D(str(values["net_amount"])) == D("2393.40")

    # audit trail: who did what
    trail = (await client.get(f"/v1/statements/{sid2}/audit", headers=fin["ops"])).json()
    assert [(a["actor"], a["action"]) for a in trail] == [
        ("fin-maker", "statement_prepared"), ("fin-maker", "statement_reviewed"),
        ("fin-checker", "statement_approved"), ("fin-checker", "statement_paid")]
    types = [r[0] for r in await admin_db.fetch("SELECT payload->>'type' FROM settlement.outbox ORDER BY id")]
    assert types.count("settlement.statement.issued") == 3
    assert "settlement.statement.approved" in types and "settlement.statement.paid" in types


async def test_R_D2c_carry_over_feeds_next_quarter(client, fin, admin_db):
    await setup_dealer(client, fin["admin"], "C1", model="c",
                       params={"budget_percent": "3", "repair_fee": "120.00", "home_visit_fee": "50.00"})
    r = await client.post("/v1/dealers/C1/payments", json={"document_no": "PAY-1", "amount": "200000.00",
                                                         "received_on": "2026-05-02"}, headers=fin["maker"])
    assert r.status_code == 201, r.text
    dup = await client.post("/v1/dealers/C1/payments", json={"document_no": "PAY-1", "amount": "200000.00",
                                                           "received_on": "2026-05-02"}, headers=fin["maker"])
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate_payment"
    await add_ledger(admin_db, "C1", "repair", n=40)
    res = await run(client, fin["maker"])
    st = (await client.get(f"/v1/statements/{res['created'][0]['statement_id']}", headers=fin["maker"])).json()
    assert D(st["budget"]) == D("6000.00") and D(st["net_amount"]) == D("4800.00")
    assert D(st["carry_out"]) == D("1200.00")
    q3 = await run(client, fin["maker"], quarter="2026Q3")
    st3 = (await client.get(f"/v1/statements/{q3['created'][0]['statement_id']}", headers=fin["maker"])).json()
    assert D(st3["carry_in"]) == D("1200.00") and D(st3["carry_out"]) == D("1200.00")


async def test_auth_and_dealer_isolation(client, fin, auth_headers):
    await setup_dealer(client, fin["admin"], "SD1")
    await setup_dealer(client, fin["admin"], "SD2")
    assert (await client.post("/v1/statement-runs", json={"quarter": QUARTER})).status_code == 401
    assert (await client.post("/v1/statement-runs", json={"quarter": QUARTER}, headers=fin["d1"])).status_code == 403
    assert (await client.post("/v1/statement-runs", json={"quarter": QUARTER}, headers=fin["ops"])).status_code == 403
    res = await run(client, fin["maker"])
    ids = {c["dealer_id"]: c["statement_id"] for c in res["created"]}
    assert (await client.get(f"/v1/statements/{ids['SD1']}", headers=fin["d1"])).status_code == 200
    assert (await client.get(f"/v1/statements/{ids['SD2']}", headers=fin["d1"])).status_code == 404
    mine = (await client.get("/v1/statements", headers=fin["d1"])).json()
    assert {s["dealer_id"] for s in mine} == {"SD1"}
    assert len((await client.get("/v1/statements", headers=fin["ops"])).json()) == 2
    assert (await client.post(f"/v1/statements/{ids['SD1']}/review", headers=fin["ops"])).status_code == 403


async def test_validation_is_problem_json(client, fin):
    await setup_dealer(client, fin["admin"], "SD1")
    bad = await client.post("/v1/dealers/SD1/payments", json={"document_no": "P", "amount": "1.005",
                                                          "received_on": "2026-05-01"}, headers=fin["maker"])
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "amount"
    r = await client.post("/v1/dealers/SD1/contracts", json={"effective_from": "2026-01-01", "fee_model": "a",
                                                         "parameters": {}}, headers=fin["admin"])
    assert r.status_code == 422
    bad_q = await client.post("/v1/statement-runs", json={"quarter": "2026Q5"}, headers=fin["maker"])
    assert bad_q.status_code == 422
    assert (await client.get("/v1/dealers/SD1/assessments/2026-13", headers=fin["ops"])).status_code == 422
    csv_bad = "dealer_id,document_no,amount,received_on\nSD1,A-1,10.00,2026-05-01\nSD9,A-2,abc,2026-05-01\n"
    r = await client.post("/v1/payments/import", content=csv_bad, headers=fin["maker"] | {"content-type": "text/csv"})
    assert r.status_code == 422 and len(r.json()["row_errors"]) == 1
    good = "dealer_id,document_no,amount,received_on\nSD1,A-1,10.00,2026-05-01\nSD1,A-2,5.50,2026-05-03\n"
    r = await client.post("/v1/payments/import", content=good, headers=fin["maker"] | {"content-type": "text/csv"})
    assert r.json() == {"rows": 2, "imported": 2, "duplicates": 0}
    r = await client.post("/v1/payments/import", content=good, headers=fin["maker"] | {"content-type": "text/csv"})
    assert r.json()["duplicates"] == 2


async def test_R_D6_disputes_window_and_adjustment(client, fin, admin_db):
    await setup_dealer(client, fin["admin"], "SD1")
    await add_ledger(admin_db, "SD1", "repair", n=2)
    sid = (await run(client, fin["maker"]))["created"][0]["statement_id"]
    assert (await client.post(f"/v1/statements/{sid}/disputes", json={"reason": "missing repair"},
                              headers=fin["d2"])).status_code == 404
    r = await client.post(f"/v1/statements/{sid}/disputes", json={"reason": "one repair missing", "line_no": 1,
                                                                "claimed_amount": "80.00"}, headers=fin["d1"])
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    res = await client.post(f"/v1/disputes/{did}/resolve", json={"accept": True, "adjustment": "80.00"},
                            headers=fin["checker"])
    assert res.status_code == 200 and res.json()["status"] == "accepted"
    again = await client.post(f"/v1/disputes/{did}/resolve", json={"accept": False}, headers=fin["checker"])
    assert again.status_code == 409
    ledger = (await client.get("/v1/dealers/SD1/ledger?quarter=2026Q3", headers=fin["maker"])).json()
    ledger += (await client.get("/v1/dealers/SD1/ledger?quarter=2026Q4", headers=fin["maker"])).json()
    assert [e["kind"] for e in ledger] == ["adjustment"]
    booked = ledger[0]["booked_quarter"]
    nxt = (await run(client, fin["maker"], quarter=booked))["created"][0]["statement_id"]
    lines = (await client.get(f"/v1/statements/{nxt}", headers=fin["d1"])).json()["lines"]
    assert any(ln["code"] == "dispute_adjustment" and D(ln["amount"]) == D("80.00") for ln in lines)

    await admin_db.execute("UPDATE settlement.statements SET created_at = now() - interval '4 months' "
                           "WHERE id = $1::uuid", sid)
    late = await client.post(f"/v1/statements/{sid}/disputes", json={"reason": "too late now"}, headers=fin["d1"])
    assert late.status_code == 422 and late.json()["code"] == "dispute_window_closed"
    assert "3 months" in late.json()["detail"]
    types = [r[0] for r in await admin_db.fetch("SELECT payload->>'type' FROM settlement.outbox ORDER BY id")]
    assert "settlement.dispute.opened" in types and "settlement.dispute.resolved" in types


async def test_R_D4_falsified_cards_finding_forfeits_quarter_fee(client, fin, admin_db):
    await setup_dealer(client, fin["admin"], "F1", model="a",
                       params={"per_sale_amount": "35.00", "complaint_penalty": "200.00"})
    await add_ledger(admin_db, "F1", "registered_sale", n=120)
    await add_ledger(admin_db, "F1", "complaint_upheld", n=2)
    r = await client.post("/v1/dealers/F1/findings", json={"kind": "falsified_cards", "reference": "CARD-99",
                          "occurred_at": "2026-05-20T10:00:00+08:00"}, headers=fin["admin"])
    assert r.status_code == 201, r.text
    sid = (await run(client, fin["maker"]))["created"][0]["statement_id"]
    st = (await client.get(f"/v1/statements/{sid}", headers=fin["maker"])).json()
    assert {ln["code"]: D(ln["amount"]) for ln in st["lines"]} == {
        "fee_registered_sales": D("4200.00"), "forfeit_quarter_fee": D("-4200.00"),
        "complaint_penalties": D("-400.00")}
    assert D(st["net_amount"]) == D("-400.00") and D(st["forfeits"]) == D("-4200.00")


async def test_R_D7_monthly_assessment_and_metrics(client, fin, admin_db):
    await setup_dealer(client, fin["admin"], "SD1")
    await add_ledger(admin_db, "SD1", "repair", n=8)
    await add_ledger(admin_db, "SD1", "sla_breach", n=2)
    await add_ledger(admin_db, "SD1", "registered_sale", n=100)
    # June: 4 repairs, 3 callbacks (2 reached: satisfaction 5 and 3), 1 upheld complaint against the dealer
    june = "2026-06-10 04:00:00+00"
    await add_ledger(admin_db, "SD1", "repair", n=4, at=june, tag="june")
    await add_ledger(admin_db, "SD1", "complaint_upheld", n=1, at=june, tag="june")
    for n, details in enumerate(['{"reached": true, "satisfaction": 5}', '{"reached": true, "satisfaction": 3}',
                                 '{"reached": false, "satisfaction": null}']):
        await admin_db.execute(
            "INSERT INTO settlement.ledger_entries (dealer_id, kind, occurred_at, quarter, booked_quarter, "
            "source_type, "
            "source_id, details) VALUES ('SD1', 'callback', $1::text::timestamptz, '2026Q2', '2026Q2', 'test', $2, "
            "$3::jsonb)", june, f"cb-{n}", details)
    r = await client.post("/v1/dealers/SD1/monthly-reports", json={"month": "2026-05", "records": True,
                                                                  "quality_feedback": True}, headers=fin["d1"])
    assert r.status_code == 201, r.text
    assert (await client.post("/v1/dealers/SD2/monthly-reports", json={"month": "2026-05", "records": True,
            "quality_feedback": True}, headers=fin["d1"])).status_code == 404
    a = (await client.get("/v1/dealers/SD1/assessments/2026-05", headers=fin["d1"])).json()
    assert a["sla_attainment"] == "0.7500" and a["report_submitted"] is True
    assert a["callback_rate"] == "0.0000" and a["callback_target_met"] is False
    assert a["available_by"] == "2026-06-05"
    # May: 8 repairs, 2 breaches → SLA 6/8; no callbacks of 8 repairs → 0 % (target 25 % missed); no callback
    # scored → satisfaction absent; 0 upheld complaints of 100 registered sales
    assert a == {
        "dealer_id": "SD1", "month": "2026-05", "available_by": "2026-06-05",
        "activity": {"repairs": 8, "callbacks": 0, "callbacks_reached": 0, "satisfied": 0, "scored": 0,
                     "complaints_upheld": 0, "registered_sales": 100, "sla_breaches": 2, "report_submitted": True,
                     "quality_feedback": True},
        "callback_rate": "0.0000", "satisfaction": None, "complaint_rate": "0.0000", "sla_attainment": "0.7500",
        "report_submitted": True, "callback_target_met": False}
    jun = (await client.get("/v1/dealers/SD1/assessments/2026-06", headers=fin["ops"])).json()
    # June: 3 callbacks / 4 repairs = 75 % (target met); 1 of 2 scored callbacks ≥ 4 → 50 %; no sales → no
    # complaint rate; no breaches → SLA 100 %
    assert jun["activity"] == {"repairs": 4, "callbacks": 3, "callbacks_reached": 2, "satisfied": 1, "scored": 2,
                               "complaints_upheld": 1, "registered_sales": 0, "sla_breaches": 0,
                               "report_submitted": True, "quality_feedback": True}
    assert (jun["callback_rate"], jun["callback_target_met"], jun["satisfaction"], jun["complaint_rate"],
            jun["sla_attainment"], jun["available_by"]) == ("0.7500", True, "0.5000", None, "1.0000", "2026-07-05")
    ex = (await client.get("/v1/dealers/SD1/excellence/2026", headers=fin["ops"])).json()
    assert ex["excellent"] is False
    # the year: 1 upheld complaint per 100 sales (≥ 1/1000), satisfaction 50 % (< 98 %), feedback all 12 months
    assert ex == {"dealer_id": "SD1", "year": 2026, "complaints_ok": False, "satisfaction_ok": False,
                  "quality_feedback_ok": True, "excellent": False}
    from settlement.metrics import refresh
    await run(client, fin["maker"])
    await refresh(client.app)
    text = (await client.get("/metrics")).text
    assert 'settlement_statements{status="draft"} 1.0' in text
    # 2026Q2 for SD1 (model d): 12 repairs × 80.00 − 1 upheld complaint × 200.00 = 760.00
    assert 'settlement_statement_net_amount_cny{status="draft"} 760.0' in text
    for status in ("reviewed", "approved", "paid"):
        assert f'settlement_statements{{status="{status}"}} 0.0' in text
    assert "settlement_open_disputes 0.0" in text
