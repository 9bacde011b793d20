"""Settlement integration fixtures: the real app on the real stack, an empty schema per test."""

from __future__ import annotations

import pytest

from aftersales_shared.testing.isolation import own_kafka, start_at_end
from aftersales_shared.testing.plugin import reset_schema, running
from settlement.config import SettlementSettings
from settlement.consumers import consumer_specs
from settlement.main import create_app

QUARTER = "2026Q2"


@pytest.fixture
async def client(infra_settings, admin_db):
    """The running app on an emptied schema; its consumer groups are the test's own, committed at the topics' end,
    so its ledger hears only the events the test publishes (never an earlier test's or run's)."""
    await reset_schema(admin_db, "settlement")
    settings = SettlementSettings(**infra_settings("settlement", **own_kafka("settlement")))
    await start_at_end((settings, consumer_specs(settings)))
    async with running(create_app(settings)) as c:
        yield c


@pytest.fixture
def fin(auth_headers):
    """Two finance users (maker and checker) plus other callers."""
    return {
        "maker": auth_headers("finance", sub="fin-maker"),
        "checker": auth_headers("finance", sub="fin-checker"),
        "admin": auth_headers("admin", sub="admin-1"),
        "ops": auth_headers("ops", sub="ops-1"),
        "d1": auth_headers("dealer", sub="dealer-user-1", dealer_id="SD1"),
        "d2": auth_headers("dealer", sub="dealer-user-2", dealer_id="SD2"),
    }


async def add_ledger(admin_db, dealer, kind, *, n=1, amount="0", quarter=QUARTER, booked=None, at=None, tag="x"):
    """Set-up helper: book raw ledger facts (the consumers and API are tested separately)."""
    at = at or "2026-05-15 04:00:00+00"
    await admin_db.execute(
        "INSERT INTO settlement.ledger_entries (dealer_id, kind, amount, quantity, occurred_at, quarter, "
        "booked_quarter, source_type, source_id) SELECT $1, $2, $3::numeric, 1, $4::text::timestamptz, $5, $6, 'test', "
        "$7 || '-' || g FROM generate_series(1, $8) g",
        dealer, kind, amount, at, quarter, booked or quarter, f"{tag}-{dealer}-{kind}", n)


async def setup_dealer(client, h, dealer_id="SD1", model="d", params=None, effective_from="2026-01-01"):
    r = await client.post("/v1/dealers", json={"id": dealer_id, "name": f"Dealer {dealer_id}", "territories": ["SH"]},
                          headers=h)
    assert r.status_code == 201, r.text
    params = params or {"repair_fee": "80.00", "home_visit_fee": "30.00", "complaint_penalty": "200.00"}
    r = await client.post(f"/v1/dealers/{dealer_id}/contracts", json={
        "effective_from": effective_from, "fee_model": model, "parameters": params}, headers=h)
    assert r.status_code == 201, r.text
    # a well-behaved dealer: records and quality feedback every month (R-SD4 forfeits tested on their own)
    for m in range(1, 13):
        rep = await client.post(f"/v1/dealers/{dealer_id}/monthly-reports", json={
            "month": f"2026-{m:02d}", "records": True, "quality_feedback": True}, headers=h)
        assert rep.status_code == 201, rep.text
    return r.json()
