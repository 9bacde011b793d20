"""What the contracts ask parts to send (R-O1; issue 16 item 5): the monthly parts-replacement list from the
parts completed jobs used — a JSON page, CSV and a workbook a real XLSX reader opens, filtered by month, dealer
and product line, a dealer seeing only its own, recorded once under redelivery."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from aftersales_shared.events.dispatch import JobCompleted
from aftersales_shared.testing.isolation import uniq
from aftersales_shared.testing.plugin import wait_for

from .test_consumers import publish

pytestmark = pytest.mark.integration
MAY = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)


def _done(dealer, parts, *, line="AC-1", at=MAY, cause="supplier_part"):
    job = uniq("J")
    return JobCompleted(aggregate_id=job, payload={
        "job_id": job, "ticket_id": uniq("T"), "at": at, "engineer_id": uniq("E"), "dealer_id": dealer,
        "serial": uniq("SN"), "product_line": line, "coverage": "warranty", "home_visit": True, "work_done": "fixed",
        "root_cause": cause, "parts_used": [{"part_no": p, "quantity": q, "old_serial": f"OLD-{p}"} for p, q in parts]})


async def test_R_O1_monthly_parts_replacement_list_as_json_csv_and_xlsx(
        client, kit, auth_headers, infra_settings, admin_db):
    pump = await kit.part(uniq("P-PUMP"), must_return=True)
    seal = await kit.part(uniq("P-SEAL"))
    d1, d2 = uniq("D"), uniq("D")
    a = _done(d1, [(pump, 2), (seal, 1)])
    b = _done(d1, [(seal, 1)], line="AC-2", at=MAY.replace(hour=5))
    c = _done(d2, [(pump, 1)])
    june = _done(d1, [(seal, 3)], at=datetime(2026, 5, 31, 16, 30, tzinfo=UTC))  # 1 June in Shanghai
    none = _done(d1, [])
    await publish(infra_settings, a, b, c, june, none, a)  # `a` redelivered

    async def recorded():
        n = await admin_db.fetchval("SELECT count(*) FROM parts.part_replacements WHERE dealer_id = ANY($1)",
                                    [d1, d2])
        return n == 5 or None
    await wait_for(recorded, what="the replacements recorded")

    ops = auth_headers("ops", sub="ops-1")
    r = await client.get("/v1/reports/parts-replacements", params={"month": "2026-05", "dealer_id": d1},
                         headers=ops)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3
    assert [(i["job_id"], i["part_no"], i["quantity"], i["product_line"]) for i in body["items"]] == [
        (a.payload.job_id, pump, 2, "AC-1"), (a.payload.job_id, seal, 1, "AC-1"), (b.payload.job_id, seal, 1, "AC-2")]
    assert body["items"][0]["part_name"] == f"part {pump}" and body["items"][0]["old_serial"] == f"OLD-{pump}"
    assert body["items"][0]["return_status"] == "due"  # a must-return part on warranty (R-P4)
    assert body["items"][1]["return_status"] is None  # not a must-return part
    r = await client.get("/v1/reports/parts-replacements", headers=ops,
                         params={"month": "2026-05", "dealer_id": d1, "product_line": "AC-2"})
    assert [i["job_id"] for i in r.json()["items"]] == [b.payload.job_id]
    r = await client.get("/v1/reports/parts-replacements", headers=ops,
                         params={"month": "2026-05", "dealer_id": d1, "limit": 2, "offset": 2})
    assert r.json()["total"] == 3 and [i["job_id"] for i in r.json()["items"]] == [b.payload.job_id]
    r = await client.get("/v1/reports/parts-replacements", headers=ops, params={"month": "2026-06", "dealer_id": d1})
    assert [i["job_id"] for i in r.json()["items"]] == [june.payload.job_id]

    dealer2 = auth_headers("dealer", sub="d2", dealer_id=d2)
    r = await client.get("/v1/reports/parts-replacements", params={"month": "2026-05"}, headers=dealer2)
    assert [i["job_id"] for i in r.json()["items"]] == [c.payload.job_id]
    r = await client.get("/v1/reports/parts-replacements", params={"month": "2026-05", "dealer_id": d1},
                         headers=dealer2)
    assert r.json()["total"] == 0

    r = await client.get("/v1/reports/parts-replacements.xlsx", params={"month": "2026-05", "dealer_id": d1},
                         headers=auth_headers("finance", sub="f1"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = [list(x) for x in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)]
    head = rows[0]
    assert head[:3] == ["replaced_at", "dealer_id", "job_id"] and len(rows) == 4
    assert [(x[head.index("part_no")], x[head.index("quantity")]) for x in rows[1:]] == [(pump, 2), (seal, 1),
                                                                                          (seal, 1)]
    assert rows[1][head.index("replaced_at")] == MAY.isoformat()
    r = await client.get("/v1/reports/parts-replacements.csv", params={"month": "2026-05"}, headers=dealer2)
    lines = list(csv.reader(io.StringIO(r.text)))
    assert len(lines) == 2 and lines[1][2] == c.payload.job_id and lines[1][lines[0].index("quantity")] == "1"


async def test_R_O1_parts_report_refuses_a_bad_month_and_foreign_roles(client, auth_headers):
    r = await client.get("/v1/reports/parts-replacements", params={"month": "May"}, headers=auth_headers("ops"))
    assert r.status_code == 422 and "month" in r.text
    r = await client.get("/v1/reports/parts-replacements", params={"month": "2026-05"},
                         headers=auth_headers("engineer", sub="e1", engineer_id="E1"))
    assert r.status_code == 403
