"""R-P7 into settlement: parts.budget.excess_charged over Kafka becomes a deduction in the quarter's statement."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from aiokafka import AIOKafkaProducer

from aftersales_shared.events import parts as prt
from aftersales_shared.kafka import ensure_topics
from aftersales_shared.testing.isolation import uniq
from aftersales_shared.testing.plugin import wait_for
from settlement.domain.fees import Facts, FeeModel, QuarterInputs
from settlement.domain.quarters import Quarter
from settlement.statements.service import _HASHED_WHEN_SET, inputs_hash

from .conftest import QUARTER, add_ledger, setup_dealer

AT = datetime(2026, 6, 30, 15, 30, tzinfo=UTC)  # 23:30 on 30 June in Shanghai: still 2026Q2


def _excess(dealer, request_id, value, amount):
    return prt.BudgetExcessCharged(aggregate_id=f"{dealer}:{QUARTER}", payload=prt.BudgetExcessChargedPayload(
        dealer_id=dealer, request_id=request_id, shipment_id=f"SH-{request_id}", quarter=QUARTER, value=D(value),
        excess_amount=D(amount), at=AT))


@pytest.mark.integration
async def test_R_P7_excess_charged_is_a_deduction_in_the_quarter_statement(client, fin, admin_db, infra_settings):
    dealer = uniq("PB")  # this test's own, like the requests: the topic keeps earlier tests' and runs' events
    await setup_dealer(client, fin["admin"], dealer)
    await add_ledger(admin_db, dealer, "repair", n=3)  # 3 × 80.00 fee
    bootstrap = infra_settings("settlement")["kafka"].bootstrap_servers
    events = [_excess(dealer, uniq("RQ1"), "273.35", "223.34"), _excess(dealer, uniq("RQ2"), "120.01", "120.01")]
    await ensure_topics(bootstrap, {prt.BUDGET_TOPIC})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for e in events + events[:1]:  # a redelivery is booked once
            await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())
    finally:
        await producer.stop()

    async def booked():
        rows = await admin_db.fetch("SELECT amount, quarter FROM settlement.ledger_entries WHERE dealer_id = $1 "
                                    "AND kind = 'parts_budget_excess'", dealer)
        return rows if len(rows) == 2 else None

    rows = await wait_for(booked, what="both excess charges booked")
    assert rows and {r["quarter"] for r in rows} == {QUARTER}
    r = await client.post("/v1/statement-runs", json={"quarter": QUARTER, "dealer_ids": [dealer]}, headers=fin["maker"])
    assert r.status_code == 200, r.text
    st = (await client.get(f"/v1/statements/{r.json()['created'][0]['statement_id']}", headers=fin["maker"])).json()
    lines = {ln["code"]: ln for ln in st["lines"]}
    assert D(lines["parts_budget_excess"]["amount"]) == D("-343.35")  # 223.34 + 120.01
    assert lines["parts_budget_excess"]["category"] == "deduction"
    assert D(st["net_amount"]) == D("240.00") - D("343.35")


def test_R_P7_new_fact_leaves_unchanged_statements_unchanged():
    """A statement without budget excess keeps the digest it had before the fact existed (no spurious revision)."""
    inp = QuarterInputs(Quarter.parse(QUARTER), {None: Facts(repairs=3)})
    # the fields added after statements were first issued (parts budget excess, SLA damages) are hashed only when set
    old_fields = [f for f in Facts.__dataclass_fields__ if f not in _HASHED_WHEN_SET]
    doc = {"contract": "c1", "model": "d", "params": {}, "carry_in": "0.00",
           "facts": {"None": {f: str(getattr(inp.facts[None], f)) for f in old_fields}},
           "flags": [False, False, False], "reports": [], "year_fee_before": "0.00"}
    before = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()
    assert inputs_hash("c1", {}, FeeModel.PER_REPAIR.value, inp) == before
    charged = QuarterInputs(inp.quarter, {None: Facts(repairs=3, parts_budget_excess=D("1.00"))})
    assert inputs_hash("c1", {}, "d", charged) != before
