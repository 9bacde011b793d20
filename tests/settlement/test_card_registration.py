"""R-W10 in settlement (issue 15 item 6): a repair on a unit whose warranty card was not registered within the
dealer's ``card_registration_days`` term is not reimbursed (a ``repair_unregistered`` ledger fact and a zero
statement line saying why); a late card does not count as a registered sale."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import given
from hypothesis import strategies as st

from aftersales_shared.events import dispatch as dsp
from aftersales_shared.events import ticketing as tkt
from aftersales_shared.kafka import ensure_topics
from aftersales_shared.terms import TermChange
from aftersales_shared.testing.isolation import uniq
from aftersales_shared.testing.plugin import wait_for
from settlement.domain.fees import ContractTerms, Facts, FeeModel, MonthReport, QuarterInputs, compute_statement
from settlement.domain.quarters import Quarter
from settlement.domain.terms import card_not_reimbursable, resolve

from .conftest import QUARTER, setup_dealer

AT = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)
REPAIR_DAY = date(2026, 5, 10)
FULL_REPORTS = {ym: MonthReport(True, True) for ym in [(2026, 2), (2026, 3), (2026, 4), (2026, 5), (2026, 6)]}


def test_R_W10_missing_late_and_on_time_cards():
    sold = date(2026, 1, 10)
    assert card_not_reimbursable(sold_on=sold, registered_on=sold + timedelta(days=20), on=REPAIR_DAY, days=20) is None
    late = card_not_reimbursable(sold_on=sold, registered_on=sold + timedelta(days=21), on=REPAIR_DAY, days=20)
    assert late and "late" in late and "R-W10" in late
    missing = card_not_reimbursable(sold_on=sold, registered_on=None, on=REPAIR_DAY, days=20)
    assert missing and "not registered" in missing
    # the card deadline is still running at the repair: the dealer has the days the contract gives it
    assert card_not_reimbursable(sold_on=sold, registered_on=None, on=sold + timedelta(days=5), days=20) is None


def test_R_W10_the_deadline_is_a_dealer_term_from_a_date():
    defaults = {"card_registration_days": 20}
    change = TermChange(effective_from=date(2026, 3, 1), version=1, values={"card_registration_days": 31})
    assert resolve(defaults, [change], date(2026, 2, 28))[0].card_registration_days == 20
    assert resolve(defaults, [change], date(2026, 3, 1))[0].card_registration_days == 31


@given(st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 1, 1)), st.integers(0, 400), st.integers(0, 366))
def test_property_R_W10_a_registered_card_is_late_exactly_after_the_deadline(sold, after, days):
    why = card_not_reimbursable(sold_on=sold, registered_on=sold + timedelta(days=after),
                                on=sold + timedelta(days=after), days=days)
    assert (why is not None) == (after > days)


def test_R_W10_unregistered_repairs_and_late_cards_earn_nothing_and_the_lines_say_why():
    q = Quarter(2026, 2)
    per_repair = ContractTerms(FeeModel.PER_REPAIR, repair_fee=D("80.00"), home_visit_fee=D("30.00"))
    st_ = compute_statement(per_repair, QuarterInputs(q, {None: Facts(repairs=1, unregistered_repairs=2)},
                                                      reports=FULL_REPORTS))
    base = compute_statement(per_repair, QuarterInputs(q, {None: Facts(repairs=1)}, reports=FULL_REPORTS))
    assert st_.net == base.net == D("80.00")
    line = next(ln for ln in st_.lines if ln.code == "repairs_unregistered")
    assert (line.quantity, line.amount) == (D(2), D("0")) and "R-W10" in line.description
    per_sale = ContractTerms(FeeModel.PER_REGISTERED_SALE, per_sale_amount=D("35.00"))
    st2 = compute_statement(per_sale, QuarterInputs(q, {None: Facts(registered_units=3, late_registrations=1)},
                                                    reports=FULL_REPORTS))
    assert st2.net == D("105.00")
    assert next(ln for ln in st2.lines if ln.code == "registrations_late").quantity == D(1)


@pytest.mark.integration
async def test_R_W10_unregistered_or_late_units_repair_books_no_reimbursement_line(client, fin, admin_db,
                                                                                   infra_settings):
    """Through Kafka: ticketing reports three units (``ticketing.unit.recorded``); one card never comes, one comes
    late, one on time. Only the on-time unit's repair is a ``repair`` (with its home visit); the others are
    ``repair_unregistered`` with the reason, the late card is ``registered_sale_late``, and the quarter's statement
    carries a zero line saying why."""
    bootstrap = infra_settings("settlement")["kafka"].bootstrap_servers
    dealer = uniq("KW")
    await setup_dealer(client, fin["admin"], dealer)
    sold = date(2026, 3, 1)
    none, late, ok = uniq("SN-NONE"), uniq("SN-LATE"), uniq("SN-OK")
    units = [tkt.UnitRecorded(aggregate_id=s, payload=tkt.UnitRecordedPayload(
        serial=s, product_line="AC", dealer_id=dealer, sold_on=sold)) for s in (none, late, ok)]
    cards = [tkt.UnitRegistered(aggregate_id=s, payload=tkt.UnitRegisteredPayload(
        serial=s, product_line="AC", dealer_id=dealer, sold_on=sold, registered_on=sold + timedelta(days=d),
        sale_amount=D("1000.00"))) for s, d in ((late, 45), (ok, 10))]
    await ensure_topics(bootstrap, {tkt.UNIT_TOPIC, dsp.JOB_TOPIC})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()

    async def send(events):
        for e in events:
            await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())

    try:
        await send(units + cards)

        async def known():
            n = await admin_db.fetchval("SELECT count(*) FROM settlement.unit_sales WHERE dealer_id = $1 "
                                        "AND (registered_on IS NOT NULL OR serial = $2)", dealer, none)
            return n == 3

        assert await wait_for(known, what="the units and cards reached settlement")
        jobs = {s: uniq("J") for s in (none, late, ok)}
        await send([dsp.JobCompleted(aggregate_id=j, payload=dsp.JobCompletedPayload(
            job_id=j, ticket_id=uniq("T"), at=AT, engineer_id="E1", dealer_id=dealer, serial=s, product_line="AC",
            coverage="warranty", home_visit=True, work_done="fan")) for s, j in jobs.items()])
    finally:
        await producer.stop()

    async def ledger():
        rows = await admin_db.fetch("SELECT kind, details FROM settlement.ledger_entries WHERE dealer_id = $1",
                                    dealer)
        return rows if len(rows) == 6 else None

    rows = await wait_for(ledger, what="six ledger entries")
    by_kind: dict[str, list] = {}
    for r in rows:
        by_kind.setdefault(r["kind"], []).append(r["details"])
    assert sorted(by_kind) == ["home_visit", "registered_sale", "registered_sale_late", "repair",
                               "repair_unregistered"]
    assert len(by_kind["repair_unregistered"]) == 2 and len(by_kind["repair"]) == 1
    assert ok in str(by_kind["repair"][0])
    reasons = sorted(str(d) for d in by_kind["repair_unregistered"])
    assert any("not registered" in x and none in x for x in reasons)
    assert any("registered late" in x and late in x for x in reasons)
    run = await client.post("/v1/statement-runs", json={"quarter": QUARTER}, headers=fin["maker"])
    assert run.status_code == 200, run.text
    lines = await admin_db.fetch(
        "SELECT l.code, l.quantity, l.amount FROM settlement.statement_lines l JOIN settlement.statements s "
        "ON s.id = l.statement_id WHERE s.dealer_id = $1", dealer)
    got = {r["code"]: (r["quantity"], r["amount"]) for r in lines}
    assert got["repairs_unregistered"] == (D(2), D("0.00"))
    assert got["fee_repairs"] == (D(1), D("80.00"))
