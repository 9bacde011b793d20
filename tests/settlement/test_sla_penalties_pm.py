"""A missed PM visit held by a dealer's engineer (R-S10 + R-S9, issue 16): dispatch prices it by the customer
contract's ``pm_missed_*`` terms and publishes ``dispatch.contract.pm_breached``; settlement charges the dealer those
damages once (redelivered, or re-published with another event id), on the dealer's next statement to the fen,
waivable like any damages. Real Kafka, real Postgres, the app's HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from aftersales_shared.events import dispatch as dsp
from aftersales_shared.testing.isolation import uniq
from aftersales_shared.testing.plugin import wait_for

from .conftest import setup_dealer
from .test_sla_penalties import _publish

pytestmark = pytest.mark.integration
AT = datetime(2026, 5, 12, 3, 0, tzinfo=UTC)


def pm_breached(dealer, job, amount, *, occurrence=None):
    return dsp.PmBreached(aggregate_id="K1", payload=dsp.PmBreachedPayload(
        breach_id=uniq("B"), contract_code="K1", occurrence_id=occurrence or uniq("OCC"), plan_id=uniq("PLAN"),
        serial=uniq("SN"), kind="visit", ticket_id=uniq("T"), job_id=job, dealer_id=dealer, engineer_id=uniq("E"),
        window_end=AT - timedelta(hours=1), missed_at=AT, basis="fixed" if amount else None,
        amount=D(amount) if amount else None, terms_version=1 if amount else None))


async def test_R_S10_R_S9_a_missed_pm_visit_of_a_dealers_job_is_damages_on_its_next_statement_once(
        client, fin, admin_db, infra_settings):
    bootstrap = infra_settings("settlement")["kafka"].bootstrap_servers
    dealer, job, free_job = uniq("PD"), uniq("J"), uniq("J")
    await setup_dealer(client, fin["admin"], dealer)
    first = pm_breached(dealer, job, "45.50")
    copy = dsp.PmBreached(aggregate_id="K1", payload=first.payload)  # dispatch re-publishing it: another event id
    nothing = pm_breached(dealer, free_job, None)  # the contract charges nothing for a missed visit
    await _publish(bootstrap, first, first, copy, nothing)

    async def consumed():
        n = await admin_db.fetchval("SELECT count(*) FROM settlement.ledger_entries WHERE kind = 'sla_breach' "
                                    "AND dealer_id = $1", dealer)
        return n == 3 or None  # the breach, its re-published copy, the free one (each lowers SLA attainment)
    await wait_for(consumed, what="the PM breaches consumed")
    rows = await admin_db.fetch("SELECT amount, booked_quarter FROM settlement.ledger_entries "
                                "WHERE kind = 'sla_damages' AND dealer_id = $1", dealer)
    assert [(r["amount"], r["booked_quarter"]) for r in rows] == [(D("45.50"), "2026Q2")]
    listed = (await client.get("/v1/sla-penalties", params={"dealer_id": dealer}, headers=fin["ops"])).json()
    assert [(p["job_id"], p["milestone"], p["amount"], p["basis"], p["terms_version"]) for p in listed] == [
        (job, "pm_visit", "45.50", "fixed", 1)]

    run = await client.post("/v1/statement-runs", json={"quarter": "2026Q2", "dealer_ids": [dealer]},
                            headers=fin["maker"])
    assert run.status_code == 200, run.text
    st = (await client.get(f"/v1/statements/{run.json()['created'][0]['statement_id']}", headers=fin["ops"])).json()
    line = [ln for ln in st["lines"] if ln["code"] == "sla_liquidated_damages"]
    assert len(line) == 1 and D(line[0]["amount"]) == D("-45.50")
    ok = await client.post(f"/v1/sla-penalties/{listed[0]['id']}/waive", json={"kind": "force_majeure"},
                           headers=fin["maker"])
    assert ok.status_code == 200 and ok.json()["status"] == "waived"
