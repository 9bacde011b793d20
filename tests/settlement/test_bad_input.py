"""Bad input gets a 4xx naming the field, never a 500 (issue 13): one regression test per distinct cause the
fuzzer (or the issue's list) found in settlement."""

from __future__ import annotations

import pytest

from .conftest import add_ledger, setup_dealer

pytestmark = pytest.mark.integration


def _field(r) -> str:
    assert r.status_code == 422, r.text
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    return body["errors"][0]["field"] if body.get("errors") else body["field"]


async def test_nul_in_a_dealer_name_or_territory_is_a_422_naming_it(client, fin):
    """Fuzzer: POST /v1/dealers with a NUL in ``name`` was a 500 (Postgres refuses NUL in text)."""
    r = await client.post("/v1/dealers", json={"id": "N1", "name": "A\x00B"}, headers=fin["admin"])
    assert _field(r) == "name"
    r = await client.post("/v1/dealers", json={"id": "N1", "name": "ok", "territories": ["S\x00H"]},
                          headers=fin["admin"])
    assert _field(r).startswith("territories")
    r = await client.post("/v1/dealers", json={"id": "N1", "name": "x" * 201}, headers=fin["admin"])
    assert _field(r) == "name"


async def test_nul_in_the_dealer_paging_cursor_is_a_422(client, fin):
    """Fuzzer: GET /v1/dealers?after=<NUL> was a 500 (finance, ops)."""
    r = await client.get("/v1/dealers", params={"after": "\x00"}, headers=fin["ops"])
    assert _field(r) == "after"
    r = await client.get("/v1/dealers", params={"after": "SD1", "limit": 1001}, headers=fin["ops"])
    assert _field(r) == "limit"


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "1999-12", "2200-01"])
async def test_a_month_outside_the_business_range_is_a_422_not_a_500(client, fin, month):
    """Fuzzer: POST /v1/dealers/{id}/monthly-reports with month 0000-01 was a 500 (date.fromisoformat)."""
    await setup_dealer(client, fin["admin"], "SD1")
    r = await client.post("/v1/dealers/SD1/monthly-reports", json={
        "month": month, "records": True, "quality_feedback": True}, headers=fin["admin"])
    assert _field(r) == "month"
    r = await client.get(f"/v1/dealers/SD1/assessments/{month}", headers=fin["ops"])
    assert _field(r) == "month"
    ok = await client.post("/v1/dealers/SD1/monthly-reports", json={
        "month": "2199-12", "records": True, "quality_feedback": True}, headers=fin["admin"])
    assert ok.status_code == 201, ok.text
    assert (await client.get("/v1/dealers/SD1/assessments/2199-12", headers=fin["ops"])).status_code == 200


@pytest.mark.parametrize("quarter", ["1999Q4", "2200Q1", "9999Q4", "0000Q1"])
async def test_a_quarter_outside_2000Q1_2199Q4_is_a_422_everywhere(client, fin, quarter):
    """Quarters outside 2000–2200 were 500s (the domain Quarter raised a bare ValueError)."""
    await setup_dealer(client, fin["admin"], "SD1")
    assert _field(await client.post("/v1/statement-runs", json={"quarter": quarter}, headers=fin["maker"])) == "quarter"
    assert _field(await client.get("/v1/statements", params={"quarter": quarter}, headers=fin["ops"])) == "quarter"
    r = await client.get("/v1/dealers/SD1/ledger", params={"quarter": quarter}, headers=fin["ops"])
    assert _field(r) == "quarter"
    for edge in ("2000Q1", "2199Q4"):
        r = await client.post("/v1/statement-runs", json={"quarter": edge}, headers=fin["maker"])
        assert r.status_code == 200, r.text


async def test_years_outside_the_business_range_are_a_422(client, fin):
    await setup_dealer(client, fin["admin"], "SD1")
    for year in (1999, 2200, 99999999999):
        assert _field(await client.get(f"/v1/dealers/SD1/excellence/{year}", headers=fin["ops"])) == "year"
    assert (await client.get("/v1/dealers/SD1/excellence/2199", headers=fin["ops"])).status_code == 200


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31", "2200-01-01"])
async def test_dates_outside_the_business_range_are_a_422(client, fin, day):
    """A payment received on 9999-12-31 was a 500 (its quarter 9999Q4 was refused deep in the ledger); a
    contract starting then would have poisoned every run."""
    await setup_dealer(client, fin["admin"], "SD1")
    r = await client.post("/v1/dealers/SD1/payments", json={"document_no": "P-1", "amount": "1.00", "received_on": day},
                          headers=fin["maker"])
    assert _field(r) == "received_on"
    contract = {"effective_from": day, "fee_model": "d", "parameters": {"repair_fee": "1.00"}}
    r = await client.post("/v1/dealers/SD1/contracts", json=contract, headers=fin["admin"])
    assert _field(r) == "effective_from"


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-10:00", "2026-05-01T10:00:00",
                                "2200-01-01T00:00:00+00:00"])
async def test_finding_instants_outside_the_range_or_naive_are_a_422(client, fin, at):
    """An instant whose conversion overflows (year 1 east of UTC, 9999-12-31 west of it) was a 500."""
    await setup_dealer(client, fin["admin"], "SD1")
    r = await client.post("/v1/dealers/SD1/findings", json={"kind": "breach", "reference": "R-1", "occurred_at": at},
                          headers=fin["maker"])
    assert _field(r) == "occurred_at"


async def test_nul_in_any_text_is_a_422(client, fin):
    await setup_dealer(client, fin["admin"], "SD1")
    r = await client.post("/v1/dealers/SD1/payments", json={"document_no": "P\x00", "amount": "1.00",
                                                            "received_on": "2026-05-01"}, headers=fin["maker"])
    assert _field(r) == "document_no"
    r = await client.post("/v1/dealers/SD1/findings", json={"kind": "breach", "reference": "R-1", "note": "a\x00",
                                                            "occurred_at": "2026-05-01T10:00:00+08:00"},
                          headers=fin["maker"])
    assert _field(r) == "note"
    r = await client.post("/v1/statements/00000000-0000-0000-0000-000000000000/disputes",
                          json={"reason": "wrong\x00"}, headers=fin["d1"])
    assert _field(r) == "reason"
    r = await client.get("/v1/statements", params={"dealer_id": "SD\x001"}, headers=fin["ops"])
    assert _field(r) == "dealer_id"


async def test_a_csv_import_with_nul_or_out_of_range_values_names_the_rows(client, fin):
    """A NUL dealer id in the CSV reached the database (500); out-of-range dates reached the ledger."""
    await setup_dealer(client, fin["admin"], "SD1")
    csv = ("dealer_id,document_no,amount,received_on\nS\x00D1,A-1,10.00,2026-05-01\nSD1,A-2,1.00,9999-12-31\n"
           "SD1,A\x003,1.00,2026-05-01\nSD1,A-4,-1,2026-05-01\nSD1\n")
    r = await client.post("/v1/payments/import", content=csv.encode(),
                          headers=fin["maker"] | {"content-type": "text/csv"})
    assert r.status_code == 422, r.text
    reasons = {e["field"]: e["reason"] for e in r.json()["row_errors"]}
    assert set(reasons) == {"row 2", "row 3", "row 4", "row 5", "row 6"}
    assert reasons["row 3"].startswith("received_on") and reasons["row 4"].startswith("document_no")
    assert reasons["row 5"].startswith("amount")


async def test_a_unit_fee_beyond_a_statement_line_is_a_422(client, fin):
    """A per-unit fee is also a line's unit_amount (NUMERIC(14,4)): beyond it every run of the quarter failed."""
    r = await client.post("/v1/dealers", json={"id": "SD1", "name": "D"}, headers=fin["admin"])
    assert r.status_code == 201
    r = await client.post("/v1/dealers/SD1/contracts", json={
        "effective_from": "2026-01-01", "fee_model": "a", "parameters": {"per_sale_amount": "99999999999.00"}},
        headers=fin["admin"])
    assert _field(r) == "parameters.per_sale_amount"


async def test_a_statement_its_columns_cannot_hold_is_a_422_naming_the_dealer_not_a_500(client, fin, admin_db):
    """Ten times the largest falsified record does not fit NUMERIC(14,2): the run says so instead of a 500,
    and the other dealers can still be run."""
    await setup_dealer(client, fin["admin"], "SD1")
    await setup_dealer(client, fin["admin"], "SD2")
    await add_ledger(admin_db, "SD1", "falsified_finding", amount="999999999999.99")
    await add_ledger(admin_db, "SD2", "repair", n=2)
    r = await client.post("/v1/statement-runs", json={"quarter": "2026Q2"}, headers=fin["maker"])
    assert r.status_code == 422 and r.json()["code"] == "amount_out_of_range" and "SD1" in r.json()["detail"]
    r = await client.post("/v1/statement-runs", json={"quarter": "2026Q2", "dealer_ids": ["SD2"]}, headers=fin["maker"])
    assert r.status_code == 200 and len(r.json()["created"]) == 1
