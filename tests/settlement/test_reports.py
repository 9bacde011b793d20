"""What the contracts ask to be sent (R-O1, R-T5; issue 16 item 5): the monthly repair report, the
quality-feedback statistics and the callback/complaint rates per dealer — as JSON pages and as CSV/XLSX (opened
with a real XLSX reader), filtered by month, dealer and product line, a dealer seeing only its own."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from aiokafka import AIOKafkaProducer
from openpyxl import load_workbook

from aftersales_shared.events import dispatch as dsp
from aftersales_shared.kafka import ensure_topics
from aftersales_shared.testing.isolation import uniq
from aftersales_shared.testing.plugin import wait_for

from .conftest import add_ledger, setup_dealer

pytestmark = pytest.mark.integration
MAY = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)


async def _publish(bootstrap, *events):
    await ensure_topics(bootstrap, {e.TOPIC for e in events})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for e in events:
            await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())
    finally:
        await producer.stop()


def _completed(dealer, *, line="washer", cause="supplier_part", parts=(("P-PUMP", 1),), at=MAY, coverage="warranty"):
    job = uniq("J")
    return dsp.JobCompleted(aggregate_id=job, payload=dsp.JobCompletedPayload(
        job_id=job, ticket_id=uniq("T"), at=at, engineer_id=uniq("E"), dealer_id=dealer, serial=uniq("S"),
        product_line=line, coverage=coverage, home_visit=True, work_done="replaced", root_cause=cause,
        parts_used=[dsp.PartUsed(part_no=p, quantity=q, old_serial="OLD-1") for p, q in parts],
        labour_minutes=45, sla_met={"arrive": True}))


def _xlsx(body: bytes) -> list[list]:
    ws = load_workbook(io.BytesIO(body)).active
    return [list(r) for r in ws.iter_rows(values_only=True)]


async def test_R_O1_monthly_repair_report_and_quality_feedback_as_json_csv_and_xlsx(
        client, fin, admin_db, infra_settings):
    bootstrap = infra_settings("settlement")["kafka"].bootstrap_servers
    d1, d2 = "SD1", "SD2"
    await setup_dealer(client, fin["admin"], d1)
    await setup_dealer(client, fin["admin"], d2)
    a = _completed(d1, parts=(("P-PUMP", 2),))
    b = _completed(d1, line="fridge", cause="workmanship", parts=(("P-SEAL", 1), ("P-PUMP", 1)))
    c = _completed(d1, cause="supplier_part", parts=(("P-PUMP", 1),), coverage="paid")
    d = _completed(d2, cause=None, parts=())
    june = _completed(d1, at=datetime(2026, 5, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 June in Shanghai
    staff = _completed(None)  # manufacturer staff: not a dealer's repair
    await _publish(bootstrap, a, b, c, d, june, staff, a)  # `a` redelivered

    async def recorded():
        n = await admin_db.fetchval("SELECT count(*) FROM settlement.repair_records")
        return n == 5 or None
    await wait_for(recorded, what="the completed jobs recorded")

    r = await client.get("/v1/reports/repairs", params={"month": "2026-05", "limit": 2}, headers=fin["ops"])
    assert r.status_code == 200, r.text
    page = r.json()
    assert (page["total"], page["offset"], len(page["items"])) == (4, 0, 2)
    r2 = await client.get("/v1/reports/repairs", params={"month": "2026-05", "limit": 2, "offset": 2},
                          headers=fin["ops"])
    ids = {i["job_id"] for i in page["items"] + r2.json()["items"]}
    assert ids == {a.payload.job_id, b.payload.job_id, c.payload.job_id, d.payload.job_id}
    r = await client.get("/v1/reports/repairs", params={"month": "2026-06"}, headers=fin["ops"])
    assert [i["job_id"] for i in r.json()["items"]] == [june.payload.job_id]  # the Shanghai month
    # filtered by dealer and product line; a dealer sees only its own, whatever it asks for
    r = await client.get("/v1/reports/repairs", params={"month": "2026-05", "dealer_id": d1, "product_line": "fridge"},
                         headers=fin["ops"])
    [row] = r.json()["items"]
    assert row["job_id"] == b.payload.job_id and row["root_cause"] == "workmanship"
    assert [(p["part_no"], p["quantity"]) for p in row["parts"]] == [("P-SEAL", 1), ("P-PUMP", 1)]
    r = await client.get("/v1/reports/repairs", params={"month": "2026-05"}, headers=fin["d2"])
    assert [i["job_id"] for i in r.json()["items"]] == [d.payload.job_id]
    r = await client.get("/v1/reports/repairs", params={"month": "2026-05", "dealer_id": d1}, headers=fin["d2"])
    assert r.json()["total"] == 0

    # quality feedback: failures by product line × part × root cause
    r = await client.get("/v1/reports/quality-feedback", params={"month": "2026-05"}, headers=fin["maker"])
    assert r.status_code == 200, r.text
    got = {(i["product_line"], i["part_no"], i["root_cause"]): (i["failures"], i["quantity"])
           for i in r.json()["items"]}
    assert got == {("washer", "P-PUMP", "supplier_part"): (2, 3), ("fridge", "P-SEAL", "workmanship"): (1, 1),
                   ("fridge", "P-PUMP", "workmanship"): (1, 1), ("washer", None, "unknown"): (1, 0)}
    assert r.json()["items"][0] == {"product_line": "washer", "part_no": "P-PUMP", "root_cause": "supplier_part",
                                    "failures": 2, "quantity": 3}  # largest first
    r = await client.get("/v1/reports/quality-feedback", params={"month": "2026-05", "product_line": "fridge",
                                                                 "limit": 1}, headers=fin["d1"])
    assert (r.json()["total"], len(r.json()["items"])) == (2, 1)

    # the files: CSV and a workbook a real XLSX reader opens, with the same rows
    r = await client.get("/v1/reports/quality-feedback.xlsx", params={"month": "2026-05"}, headers=fin["maker"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = _xlsx(r.content)
    assert rows[0] == ["product_line", "part_no", "root_cause", "failures", "quantity"]
    assert rows[1] == ["washer", "P-PUMP", "supplier_part", 2, 3]
    assert len(rows) == 5
    r = await client.get("/v1/reports/repairs.xlsx", params={"month": "2026-05", "dealer_id": d1,
                                                             "product_line": "fridge"}, headers=fin["d1"])
    rows = _xlsx(r.content)
    assert rows[0][:3] == ["job_id", "dealer_id", "ticket_id"]
    head = rows[0]
    assert len(rows) == 2 and rows[1][0] == b.payload.job_id
    assert rows[1][head.index("parts")] == "P-SEALx1; P-PUMPx1"
    assert rows[1][head.index("labour_minutes")] == 45 and rows[1][head.index("home_visit")] is True
    r = await client.get("/v1/reports/repairs.csv", params={"month": "2026-05"}, headers=fin["d2"])
    assert r.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(r.text)))
    assert len(lines) == 2 and lines[1][0] == d.payload.job_id


async def test_R_T5_callback_and_complaint_rates_per_dealer_against_each_dealers_target(client, fin, admin_db):
    await setup_dealer(client, fin["admin"], "SD1")
    await setup_dealer(client, fin["admin"], "SD2")
    at = "2026-05-15 04:00:00+00"
    await add_ledger(admin_db, "SD1", "repair", n=8, at=at)
    await add_ledger(admin_db, "SD1", "callback", n=2, at=at)
    await add_ledger(admin_db, "SD1", "registered_sale", n=400, at=at)
    await add_ledger(admin_db, "SD1", "complaint_upheld", n=1, at=at)
    await add_ledger(admin_db, "SD2", "repair", n=4, at=at)
    await add_ledger(admin_db, "SD2", "callback", n=1, at=at)
    await add_ledger(admin_db, "SD1", "callback", n=5, at="2026-04-15 04:00:00+00", tag="april")  # another month
    # SD2's contract asks for 30 % from May: 1 of 4 (25 %) misses it; SD1's default 25 % is met by 2 of 8
    await admin_db.execute(  # (a change from a past date: the API takes today or later)
        "INSERT INTO settlement.dealer_terms (dealer_id, version, effective_from, values, created_by, created_at) "
        "VALUES ('SD2', 1, '2026-05-01', '{\"callback_target_percent\": \"30\"}'::jsonb, 'setup', now())")

    r = await client.get("/v1/reports/dealer-rates", params={"month": "2026-05"}, headers=fin["ops"])
    assert r.status_code == 200, r.text
    by = {i["dealer_id"]: i for i in r.json()["items"]}
    assert by["SD1"]["callback_rate"] == "0.2500" and by["SD1"]["callback_target_met"] is True
    assert by["SD1"]["complaint_rate"] == "0.0025" and by["SD1"]["registered_sales"] == 400
    assert by["SD2"]["callback_rate"] == "0.2500" and by["SD2"]["callback_target"] == "0.3"
    assert by["SD2"]["callback_target_met"] is False and by["SD2"]["complaint_rate"] is None
    r = await client.get("/v1/reports/dealer-rates", params={"month": "2026-05", "limit": 1, "offset": 1},
                         headers=fin["ops"])
    assert r.json()["total"] == 2 and [i["dealer_id"] for i in r.json()["items"]] == ["SD2"]
    r = await client.get("/v1/reports/dealer-rates", params={"month": "2026-05"}, headers=fin["d1"])
    assert [i["dealer_id"] for i in r.json()["items"]] == ["SD1"]

    r = await client.get("/v1/reports/dealer-rates.xlsx", params={"month": "2026-05"}, headers=fin["ops"])
    rows = _xlsx(r.content)
    head = rows[0]
    sd1 = next(x for x in rows[1:] if x[0] == "SD1")
    assert D(str(sd1[head.index("callback_rate")])) == D("0.25") and sd1[head.index("repairs")] == 8
    r = await client.get("/v1/reports/dealer-rates.csv", params={"month": "2026-05"}, headers=fin["d2"])
    lines = list(csv.reader(io.StringIO(r.text)))
    assert lines[1][:4] == ["SD2", "4", "1", "0.2500"]


async def test_R_O1_reports_refuse_a_bad_month_naming_the_field(client, fin):
    r = await client.get("/v1/reports/repairs", params={"month": "2026-13"}, headers=fin["ops"])
    assert r.status_code == 422 and "month" in r.text
    r = await client.get("/v1/reports/quality-feedback.xlsx", headers=fin["ops"])
    assert r.status_code == 422 and "month" in r.text
    r = await client.get("/v1/reports/dealer-rates", params={"month": "2026-05", "limit": 0}, headers=fin["ops"])
    assert r.status_code == 422 and "limit" in r.text


async def _fact(admin_db, dealer, kind, source, details, at="2026-05-15 04:00:00+00"):
    await admin_db.execute(
        "INSERT INTO settlement.ledger_entries (dealer_id, kind, amount, quantity, occurred_at, quarter, "
        "booked_quarter, source_type, source_id, details) VALUES ($1, $2, 0, 1, $3::text::timestamptz, '2026Q2', "
        "'2026Q2', 'test', $4, $5::jsonb)", dealer, kind, at, source, json.dumps(details))


async def test_R_O1_dealer_rates_filter_by_product_line_in_json_csv_and_xlsx(client, fin, admin_db):
    """Issue 16 item 5: the callback and complaint rates are filterable by month, dealer and product line; a fact's
    line is its own (a registered sale), its job's service record's (a repair) or its ticket's (a callback, an
    upheld complaint)."""
    await setup_dealer(client, fin["admin"], "SD1")
    await setup_dealer(client, fin["admin"], "SD2")
    for i, (dealer, line) in enumerate((("SD1", "washer"), ("SD1", "washer"), ("SD1", "washer"), ("SD1", "washer"),
                                        ("SD1", "fridge"), ("SD1", "fridge"), ("SD2", "fridge"))):
        job, ticket = f"J-PL-{i}", f"T-PL-{i}"
        await admin_db.execute(
            "INSERT INTO settlement.repair_records (job_id, dealer_id, ticket_id, serial, product_line, coverage, "
            "parts_used, labour_minutes, home_visit, remote, sla_met, work_done, completed_at, month, event_id, "
            "created_at) VALUES ($1, $2, $3, 'SN-1', $4, 'warranty', '[]', 30, true, false, '{}', 'fixed', "
            "'2026-05-10 04:00:00+00', '2026-05-01', 'ev-' || $1, now())", job, dealer, ticket, line)
        await _fact(admin_db, dealer, "repair", f"rep-{i}", {"job_id": job})
    # washer: 4 repairs, 1 callback; fridge (SD1): 2 repairs, 2 callbacks and an upheld complaint
    await _fact(admin_db, "SD1", "callback", "cb-0", {"ticket_id": "T-PL-0"})
    await _fact(admin_db, "SD1", "callback", "cb-4", {"ticket_id": "T-PL-4"})
    await _fact(admin_db, "SD1", "callback", "cb-5", {"ticket_id": "T-PL-5"})
    await _fact(admin_db, "SD1", "complaint_upheld", "co-4", {"complaint_id": "C-1", "ticket_id": "T-PL-4"})
    for n in range(4):
        await _fact(admin_db, "SD1", "registered_sale", f"rs-{n}", {"product_line": "fridge" if n < 2 else "washer"})

    async def rates(line, **extra):
        r = await client.get("/v1/reports/dealer-rates", headers=fin["ops"],
                             params={"month": "2026-05", **({"product_line": line} if line else {}), **extra})
        assert r.status_code == 200, r.text
        return {i["dealer_id"]: i for i in r.json()["items"]}

    every = await rates(None)
    assert (every["SD1"]["repairs"], every["SD1"]["callbacks"], every["SD1"]["complaints_upheld"]) == (6, 3, 1)
    washer = await rates("washer")
    assert (washer["SD1"]["repairs"], washer["SD1"]["callbacks"], washer["SD1"]["complaints_upheld"],
            washer["SD1"]["registered_sales"], washer["SD1"]["callback_rate"]) == (4, 1, 0, 2, "0.2500")
    assert washer["SD2"]["repairs"] == 0  # a dealer without facts of the line is listed with none
    fridge = await rates("fridge", dealer_id="SD1")
    assert list(fridge) == ["SD1"]
    assert (fridge["SD1"]["repairs"], fridge["SD1"]["callbacks"], fridge["SD1"]["complaints_upheld"],
            fridge["SD1"]["callback_rate"], fridge["SD1"]["complaint_rate"]) == (2, 2, 1, "1.0000", "0.5000")

    r = await client.get("/v1/reports/dealer-rates.csv", headers=fin["ops"],
                         params={"month": "2026-05", "product_line": "fridge", "dealer_id": "SD1"})
    lines = list(csv.reader(io.StringIO(r.text)))
    assert r.status_code == 200 and lines[1][:4] == ["SD1", "2", "2", "1.0000"] and len(lines) == 2
    r = await client.get("/v1/reports/dealer-rates.xlsx", headers=fin["ops"],
                         params={"month": "2026-05", "product_line": "washer"})
    rows = _xlsx(r.content)
    sd1 = next(x for x in rows[1:] if x[0] == "SD1")
    assert sd1[rows[0].index("repairs")] == 4 and sd1[rows[0].index("callbacks")] == 1
    r = await client.get("/v1/reports/dealer-rates", headers=fin["ops"],
                         params={"month": "2026-05", "product_line": "x" * 500})
    assert r.status_code == 422 and r.json()["field"] == "product_line"
