"""R-S9 (issue 16 item 2): a third-party repair cost the owner recorded on a dealer's job
(``dispatch.job.third_party_cost``) is deducted on the dealer's next statement, to the fen, once under redelivery."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from aftersales_shared.events import dispatch as dsp
from aftersales_shared.testing.isolation import uniq
from aftersales_shared.testing.plugin import wait_for

from .conftest import setup_dealer
from .test_sla_penalties import _publish

pytestmark = pytest.mark.integration
AT = datetime(2026, 5, 12, 3, 0, tzinfo=UTC)


async def test_R_S9_third_party_cost_is_a_deduction_on_the_dealers_next_statement_once(
        client, fin, admin_db, infra_settings):
    bootstrap = infra_settings("settlement")["kafka"].bootstrap_servers
    dealer, job = uniq("TP"), uniq("J")
    await setup_dealer(client, fin["admin"], dealer, params={"repair_fee": "80.00", "home_visit_fee": "30.00"})

    def cost(invoice):
        return dsp.JobThirdPartyCost(aggregate_id=job, payload=dsp.JobThirdPartyCostPayload(
            job_id=job, ticket_id=uniq("T"), at=AT, engineer_id=uniq("E"), dealer_id=dealer, amount=D("1234.50"),
            invoice_no=invoice, vendor="Fix-It Ltd"))

    first = cost("INV-1")
    await _publish(bootstrap, first, first, cost("INV-1"), cost("INV-2"))  # redelivered, re-published, a 2nd invoice

    async def booked():
        n = await admin_db.fetchval("SELECT count(*) FROM settlement.ledger_entries WHERE kind = 'third_party_cost' "
                                    "AND dealer_id = $1", dealer)
        return n == 2 or None
    await wait_for(booked, what="the third-party costs booked")
    rows = await admin_db.fetch("SELECT amount, booked_quarter FROM settlement.ledger_entries "
                                "WHERE kind = 'third_party_cost' AND dealer_id = $1", dealer)
    assert sorted((r["amount"], r["booked_quarter"]) for r in rows) == [(D("1234.50"), "2026Q2")] * 2

    run = await client.post("/v1/statement-runs", json={"quarter": "2026Q2", "dealer_ids": [dealer]},
                            headers=fin["maker"])
    assert run.status_code == 200, run.text
    sid = run.json()["created"][0]["statement_id"]
    st = (await client.get(f"/v1/statements/{sid}", headers=fin["ops"])).json()
    line = [ln for ln in st["lines"] if ln["code"] == "third_party_repair_cost"]
    assert len(line) == 1 and D(line[0]["amount"]) == D("-2469.00") and line[0]["category"] == "deduction"
