"""One range for producers and consumers (issue 13): whatever a producer's shared boundary types accept, the
settlement consumer's booking path accepts too — so nothing a producer stored is dead-lettered here.

The pure parts are property-tested (quarter of a date or instant, rounding, the ledger line); an integration
test sends warranty cards and completed jobs dated at the edges of the range through the real broker and finds
them booked, not dead-lettered.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from aftersales_shared.consumer import dead_letter_topic
from aftersales_shared.events import dispatch as dsp
from aftersales_shared.events import ticketing as tkt
from aftersales_shared.kafka import ensure_topics
from aftersales_shared.money import MAX_AMOUNT, Money, to_fen
from aftersales_shared.schemas import BUSINESS_DATE_MAX, BUSINESS_DATE_MIN, BusinessDate, BusinessDateTime, Month
from aftersales_shared.schemas import Quarter as SharedQuarter
from aftersales_shared.testing.isolation import uniq
from aftersales_shared.testing.plugin import wait_for
from settlement.domain.ledger import ledger_line
from settlement.domain.quarters import (
    FIRST_QUARTER,
    LAST_QUARTER,
    Quarter,
    add_months,
    month_bounds,
    quarter_of,
    quarter_of_date,
)
from settlement.ledger.service import ALL_KINDS

from .conftest import setup_dealer

PRODUCER_DATE = TypeAdapter(BusinessDate)
PRODUCER_INSTANT = TypeAdapter(BusinessDateTime)
PRODUCER_MONEY = TypeAdapter(Money)
PRODUCER_QUARTER = TypeAdapter(SharedQuarter)
PRODUCER_MONTH = TypeAdapter(Month)

days = st.dates(min_value=BUSINESS_DATE_MIN, max_value=BUSINESS_DATE_MAX)
# any fixed offset Python allows (±23:59), not only the real zones' ±14:00
offsets = st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-(24 * 60 - 1), 24 * 60 - 1))
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2199, 12, 31, 23, 59, 59, 999999),
                        timezones=st.one_of(offsets, st.timezones()))
amounts = st.decimals(min_value=0, max_value=MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False)
kinds = st.sampled_from(ALL_KINDS)


def _booked_like_a_consumer(moment, amount, kind) -> None:
    line = ledger_line(dealer_id="D1", kind=kind, kinds=ALL_KINDS, occurred_at=moment, amount=amount)
    assert line.amount == to_fen(amount) and abs(line.amount) <= MAX_AMOUNT
    assert len(str(line.quarter)) == 6 and Quarter.parse(str(line.quarter)) == line.quarter  # ledger column
    assert FIRST_QUARTER <= line.settle_from <= LAST_QUARTER
    assert PRODUCER_QUARTER.validate_python(str(line.settle_from))  # a statement run can be asked for it
    line.settle_from.next()  # a closed quarter's late facts have somewhere to go
    start, end = line.settle_from.bounds()
    assert start < end


@settings(max_examples=400, deadline=None)
@given(day=days, amount=amounts, kind=kinds)
@example(day=BUSINESS_DATE_MIN, amount=D(0), kind="registered_sale")
@example(day=BUSINESS_DATE_MAX, amount=MAX_AMOUNT, kind="registered_sale")
def test_every_business_date_and_money_a_producer_accepts_is_bookable(day, amount, kind):
    day = PRODUCER_DATE.validate_python(day)
    amount = PRODUCER_MONEY.validate_python(amount)
    _booked_like_a_consumer(day, amount, kind)
    assert quarter_of_date(day) == ledger_line(dealer_id="D1", kind=kind, kinds=ALL_KINDS, occurred_at=day).quarter


@settings(max_examples=400, deadline=None)
@given(moment=instants, amount=amounts, kind=kinds)
@example(moment=datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59))), amount=MAX_AMOUNT,
         kind="repair")
@example(moment=datetime(2199, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59))),
         amount=D("0.01"), kind="urgent_surcharge")
def test_every_business_instant_a_producer_accepts_is_bookable(moment, amount, kind):
    try:
        moment = PRODUCER_INSTANT.validate_python(moment)
    except ValueError:
        return  # a producer refuses it (its local date is outside the range): nothing to book
    _booked_like_a_consumer(moment, PRODUCER_MONEY.validate_python(amount), kind)
    assert ledger_line(dealer_id="D1", kind=kind, kinds=ALL_KINDS, occurred_at=moment).quarter == quarter_of(moment)


def test_the_edges_of_the_range_are_settled_inside_it():
    east = ledger_line(dealer_id="D1", kind="repair", kinds=ALL_KINDS,
                       occurred_at=datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=14))))
    assert str(east.quarter) == "1999Q4" and str(east.settle_from) == "2000Q1"
    west = ledger_line(dealer_id="D1", kind="repair", kinds=ALL_KINDS,
                       occurred_at=datetime(2199, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-12))))
    assert str(west.quarter) == "2200Q1" and str(west.settle_from) == "2199Q4"


@given(year=st.integers(BUSINESS_DATE_MIN.year, BUSINESS_DATE_MAX.year), q=st.integers(1, 4))
def test_every_quarter_the_shared_type_accepts_is_a_settlement_quarter(year, q):
    text = PRODUCER_QUARTER.validate_python(f"{year}Q{q}")
    quarter = Quarter.parse(text)
    assert FIRST_QUARTER <= quarter <= LAST_QUARTER
    start, end = quarter.bounds()
    assert start < end and quarter.next() > quarter


@given(year=st.integers(BUSINESS_DATE_MIN.year, BUSINESS_DATE_MAX.year), m=st.integers(1, 12))
def test_every_month_the_shared_type_accepts_has_bounds_and_a_results_day(year, m):
    first = date.fromisoformat(PRODUCER_MONTH.validate_python(f"{year}-{m:02d}") + "-01")
    start, end = month_bounds(first)
    assert start < end and add_months(first, 1).replace(day=5) > first


def test_values_no_producer_accepts_are_refused_by_the_shared_types():
    for bad in ("0000-01", "9999-12", "1999-12", "2200-01"):
        with pytest.raises(ValueError):
            PRODUCER_MONTH.validate_python(bad)
    for bad in ("1999Q4", "2200Q1", "9999Q4"):
        with pytest.raises(ValueError):
            PRODUCER_QUARTER.validate_python(bad)


# --- through the real broker ---------------------------------------------------------------------------

async def _dead_letters(bootstrap: str, marker: str) -> list[bytes]:
    """Dead letters of settlement that mention ``marker`` (read from the start of the topic)."""
    topic = dead_letter_topic("settlement")
    await ensure_topics(bootstrap, [topic])
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=3000)
        return [m.value for msgs in batches.values() for m in msgs if marker.encode() in (m.value or b"")]
    finally:
        await consumer.stop()


@pytest.mark.integration
async def test_warranty_cards_and_jobs_at_the_range_edges_are_booked_not_dead_lettered(client, fin, admin_db,
                                                                                         infra_settings):
    bootstrap = infra_settings("settlement")["kafka"].bootstrap_servers
    dealer = uniq("EDGE")  # every id in these events is this test's own: the topics keep earlier runs' events
    await setup_dealer(client, fin["admin"], dealer)
    cards = [tkt.UnitRegistered(aggregate_id=f"{dealer}-{d}", payload=tkt.UnitRegisteredPayload(
        serial=f"{dealer}-{d}", product_line="AC", dealer_id=dealer, registered_on=d, sale_amount=amount))
        for d, amount in ((BUSINESS_DATE_MIN, D("0.00")), (BUSINESS_DATE_MAX, MAX_AMOUNT))]
    east = datetime(2000, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14)))
    west = datetime(2199, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-12)))
    jobs = [dsp.JobCompleted(aggregate_id=f"{dealer}-J{i}", payload=dsp.JobCompletedPayload(
        job_id=f"{dealer}-J{i}", ticket_id=f"{dealer}-T1", at=at, engineer_id=f"{dealer}-E1", dealer_id=dealer,
        serial=f"{dealer}-S1",
        product_line="AC", coverage="warranty", home_visit=False, work_done="edge"))
        for i, at in enumerate((east, west))]
    await ensure_topics(bootstrap, {e.TOPIC for e in cards + jobs})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for e in cards + jobs:
            await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())
    finally:
        await producer.stop()

    async def booked():
        rows = await admin_db.fetch("SELECT kind, quarter, booked_quarter, amount FROM settlement.ledger_entries "
                                    "WHERE dealer_id = $1 ORDER BY quarter", dealer)
        return rows if len(rows) == 4 else None

    rows = await wait_for(booked, what="the edge-dated events booked")
    assert rows, "edge-dated events were not booked"
    got = [(r["kind"], r["quarter"], r["booked_quarter"], r["amount"]) for r in rows]
    assert got == [("repair", "1999Q4", "2000Q1", D("0.00")), ("registered_sale", "2000Q1", "2000Q1", D("0.00")),
                   ("registered_sale", "2199Q4", "2199Q4", MAX_AMOUNT), ("repair", "2200Q1", "2199Q4", D("0.00"))]
    assert await _dead_letters(bootstrap, dealer) == []
    # and each edge quarter's ledger answers (2000Q1 and 2199Q4, the first and last a statement is run for)
    for q in ("2000Q1", "2199Q4"):
        r = await client.get(f"/v1/dealers/{dealer}/ledger", params={"quarter": q}, headers=fin["ops"])
        assert r.status_code == 200 and len(r.json()) == 2, r.text
