"""Tenancy on every reference (issue 13), generated from the routes: a dealer reads and acts only on its own
dealer record, contracts, ledger, assessments, statements and disputes. Another dealer's rows answer exactly
as rows that do not exist (404, or absent from a list) — existence never leaks; a route a dealer may not call
is 403; a dealer token without ``dealer_id`` is 403 everywhere (the shared ``scope_of``)."""

from __future__ import annotations

import io
import json
import re

import pytest
from openpyxl import load_workbook

from aftersales_shared.config import AuthSettings
from aftersales_shared.testing.routes import api_routes
from settlement.config import SettlementSettings
from settlement.main import create_app

from .conftest import QUARTER, add_ledger, setup_dealer

pytestmark = pytest.mark.integration

MISSING_UUID = "00000000-0000-4000-8000-000000000000"

# Every route a dealer may call, with how it is aimed at another dealer's resource: the path's ids, the query,
# the body. Listed by hand on purpose: a new dealer-facing route fails the coverage test until it is added here.
DEALER_ROUTES: dict[tuple[str, str], dict] = {
    ("GET", "/v1/dealers/{dealer_id}"): {},
    ("GET", "/v1/dealers/{dealer_id}/contracts"): {},
    ("POST", "/v1/dealers/{dealer_id}/monthly-reports"): {
        "json": {"month": "2026-05", "records": True, "quality_feedback": True}},
    ("GET", "/v1/dealers/{dealer_id}/ledger"): {"params": {"quarter": QUARTER}},
    ("GET", "/v1/dealers/{dealer_id}/assessments/{month}"): {},
    ("GET", "/v1/dealers/{dealer_id}/assessments/{month}/issued"): {},
    ("GET", "/v1/dealers/{dealer_id}/excellence/{year}"): {},
    ("GET", "/v1/dealers/{dealer_id}/terms"): {},
    ("GET", "/v1/dealers/{dealer_id}/terms/history"): {},
    ("GET", "/v1/statements/{statement_id}"): {},
    ("GET", "/v1/statements/{statement_id}/export.csv"): {},
    ("GET", "/v1/statements/{statement_id}/export.xlsx"): {},
    ("POST", "/v1/statements/{statement_id}/disputes"): {"json": {"reason": "not my repairs"}},
    ("GET", "/v1/statements"): {"list": True, "params": {"dealer_id": "{dealer_id}"}},
    ("GET", "/v1/disputes"): {"list": True},
    ("GET", "/v1/sla-penalties"): {"list": True, "params": {"dealer_id": "{dealer_id}"}},
    **{("GET", f"/v1/reports/{name}{ext}"): {"list": True, "params": {"month": "2026-05", "dealer_id": "{dealer_id}"}}
       for name in ("repairs", "quality-feedback", "dealer-rates") for ext in ("", ".csv", ".xlsx")},
}


def _routes() -> list[tuple[str, str, frozenset[str]]]:
    app = create_app(SettlementSettings(environment="test", auth=AuthSettings(public_key_pem=None)))

    def roles(dependant) -> frozenset[str]:
        for d in dependant.dependencies:
            found = getattr(d.call, "allowed_roles", None) or roles(d)
            if found:
                return frozenset(found)
        return frozenset()

    return [(m, r.path, roles(r.dependant)) for r in api_routes(app.routes) if r.path.startswith("/v1/")
            for m in r.methods]


ROUTES = _routes()


def test_every_dealer_facing_route_is_in_the_tenancy_table():
    dealer_facing = {(m, p) for m, p, allowed in ROUTES if "dealer" in allowed}
    assert dealer_facing == set(DEALER_ROUTES)


def _url(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


def _call_args(spec: dict, ids: dict[str, str]) -> dict:
    out = {}
    if "json" in spec:
        out["json"] = spec["json"]
    if "params" in spec:
        out["params"] = {k: v.format(**ids) for k, v in spec["params"].items()}
    return out


@pytest.fixture
async def two_dealers(client, fin, admin_db):
    """SD1 and SD2 with a statement each; SD2 has disputed its statement."""
    for d in ("SD1", "SD2"):
        await setup_dealer(client, fin["admin"], d)
        await add_ledger(admin_db, d, "repair", n=2)
    run = (await client.post("/v1/statement-runs", json={"quarter": QUARTER}, headers=fin["maker"])).json()
    stmts = {c["dealer_id"]: c["statement_id"] for c in run["created"]}
    r = await client.post(f"/v1/statements/{stmts['SD2']}/disputes", json={"reason": "count again"},
                          headers=fin["d2"])
    assert r.status_code == 201, r.text
    for d in ("SD1", "SD2"):  # May's assessment as issued (R-D7; the issuing job is tested on its own)
        doc = (await client.get(f"/v1/dealers/{d}/assessments/2026-05", headers=fin["admin"])).json()
        await admin_db.execute(
            "INSERT INTO settlement.issued_assessments (id, dealer_id, month, score, grade, document, issued_at) "
            "VALUES (gen_random_uuid(), $1, '2026-05-01', 80.0, 'B', $2::jsonb, now())", d, json.dumps(doc))
    return stmts


def _ids(dealer: str, statement: str) -> dict[str, str]:
    return {"dealer_id": dealer, "statement_id": statement, "month": "2026-05", "year": "2026"}


def _text_of(r) -> str:
    """A response's text, a workbook's cells joined (its bytes are zipped)."""
    if r.headers.get("content-type", "").startswith("application/vnd.openxmlformats"):
        ws = load_workbook(io.BytesIO(r.content)).active
        return " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row)
    return r.text


def _shape(r, *hide: str) -> tuple[int, str]:
    """Status and body with the ids named removed: what a caller learns from an answer."""
    text = r.text
    for h in hide:
        text = text.replace(h, "<id>")
    return r.status_code, re.sub(r'"instance":"[^"]*"', "", text)


@pytest.mark.parametrize(("method", "path"), sorted(DEALER_ROUTES))
async def test_a_dealer_sees_another_dealers_resource_as_absent(client, fin, two_dealers, method, path):
    spec = DEALER_ROUTES[(method, path)]
    mine = _ids("SD1", two_dealers["SD1"])
    other = _ids("SD2", two_dealers["SD2"])
    missing = _ids("NOPE", MISSING_UUID)
    ok = await client.request(method, _url(path, mine), headers=fin["d1"], **_call_args(spec, mine))
    assert ok.status_code in (200, 201), ok.text
    theirs = await client.request(method, _url(path, other), headers=fin["d1"], **_call_args(spec, other))
    if spec.get("list"):
        assert theirs.status_code == 200
        text = _text_of(theirs)
        if path.startswith("/v1/reports/") and "." not in path:  # a JSON page of rows
            assert {x.get("dealer_id", "SD1") for x in theirs.json()["items"]} <= {"SD1"}, text
        elif "." not in path:
            assert {x["dealer_id"] for x in theirs.json()} <= {"SD1"}, text
        assert "SD2" not in text and two_dealers["SD2"] not in text
        return
    absent = await client.request(method, _url(path, missing), headers=fin["d1"], **_call_args(spec, missing))
    assert theirs.status_code == 404, theirs.text
    assert _shape(theirs, "SD2", two_dealers["SD2"]) == _shape(absent, "NOPE", MISSING_UUID)


@pytest.mark.parametrize(("method", "path"), sorted(DEALER_ROUTES))
async def test_a_dealer_token_without_dealer_id_is_403(client, fin, auth_headers, two_dealers, method, path):
    spec = DEALER_ROUTES[(method, path)]
    ids = _ids("SD1", two_dealers["SD1"])
    r = await client.request(method, _url(path, ids), headers=auth_headers("dealer", sub="no-dealer-id"),
                             **_call_args(spec, ids))
    assert r.status_code == 403, r.text
    assert r.json()["field"] == "dealer_id"


async def test_every_other_route_is_403_for_a_dealer(client, fin, two_dealers):
    ids = _ids("SD1", two_dealers["SD1"]) | {"dispute_id": MISSING_UUID, "penalty_id": MISSING_UUID}
    refused = []
    for method, path, allowed in ROUTES:
        if "dealer" in allowed:
            continue
        r = await client.request(method, _url(path, ids), headers=fin["d1"])
        refused.append((method, path, r.status_code))
    assert refused and all(code == 403 for _, _, code in refused), refused


async def test_a_dealer_cannot_dispute_or_see_disputes_of_another_dealer(client, fin, two_dealers):
    mine = (await client.get("/v1/disputes", headers=fin["d1"])).json()
    assert mine == []
    theirs = (await client.get("/v1/disputes", headers=fin["d2"])).json()
    assert [d["dealer_id"] for d in theirs] == ["SD2"]
    staff = (await client.get("/v1/disputes", headers=fin["ops"])).json()
    assert [d["dealer_id"] for d in staff] == ["SD2"]
