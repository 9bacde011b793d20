"""Issue 15 (fix): a repair fee booked before the facts that deny it arrive is reversed, once — through Kafka.

- ``ticketing.ticket.coverage_changed`` making a completed warranty job's ticket paid (R-W3/R-T3, or a call-center
  override) books ``repair_fee_reversed`` (+ ``home_visit_fee_reversed``): a negative line on the statement; the
  opposite (paid → warranty after completion) books the fee; a decision that reached settlement before the
  completion settles it;
- R-W10: a ``ticketing.unit.recorded`` arriving after the repair and showing no card in time reverses the fee.
Redelivered events and a second copy of the same decision book nothing more."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from aiokafka import AIOKafkaProducer

from aftersales_shared.events import dispatch as dsp
from aftersales_shared.events import ticketing as tkt
from aftersales_shared.kafka import ensure_topics
from aftersales_shared.testing.isolation import uniq
from aftersales_shared.testing.plugin import wait_for

from .conftest import QUARTER, setup_dealer

pytestmark = pytest.mark.integration

AT = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)


def _completed(dealer: str, job: str, ticket: str, serial: str, coverage: str = "warranty") -> dsp.JobCompleted:
    return dsp.JobCompleted(aggregate_id=job, payload=dsp.JobCompletedPayload(
        job_id=job, ticket_id=ticket, at=AT, engineer_id="E1", dealer_id=dealer, serial=serial, product_line="AC",
        coverage=coverage, home_visit=True, work_done="fan"))


def _changed(ticket: str, serial: str, frm: str, to: str, at: datetime, source: str = "diagnosis",
             reason: str = "liquid spill found on site (R-W3)") -> tkt.TicketCoverageChanged:
    return tkt.TicketCoverageChanged(aggregate_id=ticket, payload=tkt.TicketCoverageChangedPayload(
        ticket_id=ticket, ticket_no=ticket, serial=serial, from_coverage=frm, to_coverage=to, source=source,
        reason=reason, actor="agent-1", changed_at=at))


async def _producer(infra_settings):
    bootstrap = infra_settings("settlement")["kafka"].bootstrap_servers
    await ensure_topics(bootstrap, {tkt.UNIT_TOPIC, tkt.TICKET_TOPIC, dsp.JOB_TOPIC})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()

    async def send(*events):
        for e in events:
            await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())

    return producer, send


async def _kinds(admin_db, dealer, n):
    async def ledger():
        rows = await admin_db.fetch("SELECT kind, source_type, details FROM settlement.ledger_entries "
                                    "WHERE dealer_id = $1 ORDER BY id", dealer)
        return rows if len(rows) >= n else None

    return await wait_for(ledger, what=f"{n} ledger entries")


async def _statement(client, fin, admin_db, dealer):
    run = await client.post("/v1/statement-runs", json={"quarter": QUARTER, "dealer_ids": [dealer]},
                            headers=fin["maker"])
    assert run.status_code == 200, run.text
    lines = await admin_db.fetch(
        "SELECT l.code, l.quantity, l.amount, l.description FROM settlement.statement_lines l JOIN "
        "settlement.statements s ON s.id = l.statement_id WHERE s.dealer_id = $1", dealer)
    return {r["code"]: (r["quantity"], r["amount"], r["description"]) for r in lines}


async def test_R_W3_R_T3_a_fee_booked_before_the_coverage_became_paid_is_reversed_once(
        client, fin, admin_db, infra_settings):
    """Job A completes as warranty (fee + home visit booked), then its ticket becomes paid (diagnosis): the fee is
    reversed once, however often the decision is delivered or copied. Job B completes as paid, then the call
    center overrides to warranty: its fee is booked. Job C's paid decision reaches settlement before its
    (stale, warranty) completion: no fee. The statement nets it out with a negative ``repair_fee_reversed`` line."""
    dealer = uniq("KR")
    await setup_dealer(client, fin["admin"], dealer)
    a, b, c = (uniq(x) for x in ("JA", "JB", "JC"))
    ta, tb, tc = (uniq(x) for x in ("TA", "TB", "TC"))
    now = datetime.now(UTC)
    producer, send = await _producer(infra_settings)
    try:
        await send(_completed(dealer, a, ta, "SN-A"), _completed(dealer, b, tb, "SN-B", coverage="paid"))
        await _kinds(admin_db, dealer, 2)  # A's repair + home visit (B: paid at intake, nothing)
        await wait_for(lambda: _done(admin_db, b), what="job B settled")
        to_paid = _changed(ta, "SN-A", "warranty", "paid", now)
        copy = _changed(ta, "SN-A", "warranty", "paid", now)  # the same decision under another event id
        await send(to_paid, to_paid, copy,
                   _changed(tb, "SN-B", "paid", "warranty", now, source="override", reason="agent: under warranty"),
                   _changed(tc, "SN-C", "warranty", "paid", now - timedelta(minutes=1)))
        await _kinds(admin_db, dealer, 6)
        await send(_completed(dealer, c, tc, "SN-C"), to_paid)
        await wait_for(lambda: _done(admin_db, c), what="job C settled")
    finally:
        await producer.stop()
    rows = await admin_db.fetch("SELECT kind, source_type, details FROM settlement.ledger_entries "
                                "WHERE dealer_id = $1 ORDER BY id", dealer)
    got = sorted((r["kind"], r["source_type"]) for r in rows)
    assert got == sorted([
        ("repair", "dispatch.job.completed"), ("home_visit", "dispatch.job.completed#home_visit"),
        ("repair_fee_reversed", "settlement.repair_fee_reversed"),
        ("home_visit_fee_reversed", "settlement.repair_fee_reversed#home_visit"),
        ("repair", "settlement.repair_rebooked"), ("home_visit", "settlement.repair_rebooked#home_visit"),
        ("repair_customer_paid", "dispatch.job.completed")]), got
    reversed_ = next(r for r in rows if r["kind"] == "repair_fee_reversed")
    assert a in reversed_["details"] and "liquid spill" in reversed_["details"]
    state = {r["job_id"]: (r["coverage"], r["fee_booked"]) for r in await admin_db.fetch(
        "SELECT job_id, coverage, fee_booked FROM settlement.repair_fees WHERE dealer_id = $1", dealer)}
    assert state == {a: ("paid", False), b: ("warranty", True), c: ("paid", False)}
    lines = await _statement(client, fin, admin_db, dealer)
    assert lines["fee_repairs"][:2] == (D(2), D("160.00"))
    assert lines["fee_home_visits"][:2] == (D(2), D("60.00"))
    assert lines["repair_fee_reversed"][:2] == (D(1), D("-110.00"))
    assert "customer-paid" in lines["repair_fee_reversed"][2]


async def _done(admin_db, job):
    return await admin_db.fetchval("SELECT count(*) FROM settlement.repair_fees WHERE job_id = $1", job) == 1


async def test_R_W10_a_repair_settled_before_the_units_first_record_is_reversed_when_the_card_is_missing(
        client, fin, admin_db, infra_settings):
    """R-W10, events out of order: the repair arrives before the unit's first ``ticketing.unit.recorded`` and is
    reimbursed (settlement knows nothing against it); the unit fact then shows a sale long before with no card in
    time: the fee is reversed once (the same fact again, under a new event id, books nothing more)."""
    dealer = uniq("KU")
    await setup_dealer(client, fin["admin"], dealer)
    serial, job = uniq("SN-LATE"), uniq("J")
    unit = tkt.UnitRecordedPayload(serial=serial, product_line="AC", dealer_id=dealer, sold_on=date(2026, 1, 5))
    producer, send = await _producer(infra_settings)
    try:
        await send(_completed(dealer, job, uniq("T"), serial))
        await _kinds(admin_db, dealer, 2)
        await send(tkt.UnitRecorded(aggregate_id=serial, payload=unit))
        await _kinds(admin_db, dealer, 4)
        await send(tkt.UnitRecorded(aggregate_id=serial, payload=unit))
        marker = uniq("SN-MARK")  # a later event on the same partition: once it is applied, so is the copy above
        await send(tkt.UnitRecorded(aggregate_id=serial, payload=unit.model_copy(update={"product_line": "AC2"})),
                   tkt.UnitRecorded(aggregate_id=serial, payload=tkt.UnitRecordedPayload(
                       serial=marker, product_line="AC", dealer_id=dealer, sold_on=date(2026, 1, 5))))
    finally:
        await producer.stop()

    async def marked():
        return await admin_db.fetchval("SELECT count(*) FROM settlement.unit_sales WHERE serial = $1", marker) == 1

    assert await wait_for(marked, what="the marker unit reached settlement")
    rows = await admin_db.fetch("SELECT kind, details FROM settlement.ledger_entries WHERE dealer_id = $1", dealer)
    assert sorted(r["kind"] for r in rows) == ["home_visit", "home_visit_fee_reversed", "repair",
                                               "repair_fee_reversed"]
    assert "not registered" in next(r["details"] for r in rows if r["kind"] == "repair_fee_reversed")
    lines = await _statement(client, fin, admin_db, dealer)
    assert lines["fee_repairs"][:2] == (D(1), D("80.00"))
    assert lines["repair_fee_reversed"][:2] == (D(1), D("-110.00"))
