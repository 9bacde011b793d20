"""Issue 13: every value a shared boundary type accepts is one its consumers can book; every value just outside is
refused by the type itself (a 422 at the producer, never a dead letter downstream).

Consumers exercised, by type (their real domain code, not a copy):
- ``BusinessDate`` / ``BusinessDateTime``: settlement's quarters (``quarter_of``, ``business_noon``, ``bounds``,
  ``next`` for late facts, dispute deadlines), dispatch's SLA deadlines (``compute_deadlines`` on a 24x7 and a
  service-hours calendar with the longest durations the SLA policy API allows), parts' ship-by commitment
  (``ship_by``, both calendars, the longest allowed delay) and parts' budget quarter, whose results settlement must
  book in turn; the event envelope (``to_json`` → ``registry.parse``); Postgres ``date`` / ``timestamptz``.
- ``Month``: settlement's monthly report key (``date.fromisoformat(month + "-01")``), its month bounds and quarter.
- ``Quarter``: settlement's ``Quarter.parse`` (bounds, next), parts' budget quarter, the envelope.
- ``Money``: the one rounding rule (``to_fen`` leaves it unchanged), ``NUMERIC(14,2)`` (in Postgres too), the
  exact string on the wire (the envelope and a response model).
- ``Text``: Postgres ``text`` and the envelope, unchanged.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from aftersales_shared.clock import BUSINESS_TZ
from aftersales_shared.events.envelope import registry
from aftersales_shared.events.parts import BudgetExcessCharged
from aftersales_shared.events.ticketing import ExtensionPurchased, TicketOpened, UnitRegistered
from aftersales_shared.money import FEN, MAX_AMOUNT, Money, money_str, to_fen
from aftersales_shared.schemas import (
    BUSINESS_DATE_MAX,
    BUSINESS_DATE_MIN,
    BusinessDate,
    BusinessDateTime,
    Month,
    Quarter,
    Text,
)
from dispatch.domain.calendar import CALENDAR_24X7, BusinessCalendar
from dispatch.domain.sla import JobClocks, SlaPolicy, compute_deadlines
from parts.domain.budget import quarter_of as parts_quarter_of
from parts.domain.commitment import ship_by
from settlement.domain.quarters import Quarter as SettlementQuarter
from settlement.domain.quarters import (
    business_noon,
    dispute_deadline,
    local_date,
    month_bounds,
    quarter_of,
    quarter_of_date,
)

DATE = TypeAdapter(BusinessDate)
DATETIME = TypeAdapter(BusinessDateTime)
MONTH = TypeAdapter(Month)
QUARTER = TypeAdapter(Quarter)
MONEY = TypeAdapter(Money)
TEXT = TypeAdapter(Text)

# the longest durations a producer can configure: dispatch's SLA policy API (sla/schemas.py) and parts' settings
SERVICE_HOURS = BusinessCalendar(code="office")  # 08:00-17:00 on China's statutory working days
LONGEST_SLA = SlaPolicy(contract_code=None, zone_class="remote", calendar_code="office", respond=timedelta(days=30),
                        arrive=timedelta(days=30), resolve=timedelta(days=60), resolve_from="opened")
LONGEST_SHIP_DAYS = 60

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies: the accepted range, dense at its edges ------------------------------------------------

_EDGE_DAYS = [BUSINESS_DATE_MIN + timedelta(days=n) for n in range(3)] + \
             [BUSINESS_DATE_MAX - timedelta(days=n) for n in range(3)]
business_dates = st.one_of(st.sampled_from(_EDGE_DAYS), st.dates(BUSINESS_DATE_MIN, BUSINESS_DATE_MAX))
offsets = st.one_of(st.sampled_from([-14 * 60, -12 * 60, 0, 8 * 60, 14 * 60]),
                    st.integers(-14 * 60 + 1, 14 * 60 - 1)).map(lambda m: timezone(timedelta(minutes=m)))
times = st.times()


@st.composite
def shanghai_instants(draw: Any) -> datetime:
    """An aware instant whose Shanghai business date is in range, written with any UTC offset."""
    local = datetime.combine(draw(business_dates), draw(times), BUSINESS_TZ)
    return local.astimezone(draw(offsets))


@st.composite
def written_instants(draw: Any) -> datetime:
    """An aware instant whose date *in its own offset* is in range (what the type checks today)."""
    return datetime.combine(draw(business_dates), draw(times), draw(offsets))


months = st.builds(lambda y, m: f"{y:04d}-{m:02d}",
                   st.one_of(st.sampled_from([BUSINESS_DATE_MIN.year, BUSINESS_DATE_MAX.year]),
                             st.integers(BUSINESS_DATE_MIN.year, BUSINESS_DATE_MAX.year)), st.integers(1, 12))
quarters = st.builds(lambda y, q: f"{y:04d}Q{q}",
                     st.one_of(st.sampled_from([BUSINESS_DATE_MIN.year, BUSINESS_DATE_MAX.year]),
                               st.integers(BUSINESS_DATE_MIN.year, BUSINESS_DATE_MAX.year)), st.integers(1, 4))
_CENTS = int(MAX_AMOUNT / FEN)
amounts = st.one_of(st.sampled_from([0, 1, 5, _CENTS - 1, _CENTS]), st.integers(0, _CENTS)).map(
    lambda c: Decimal(c).scaleb(-2))
texts = st.text(min_size=1, max_size=200).filter(lambda s: s.strip() and "\x00" not in s)


def _refused(adapter: TypeAdapter[Any], value: Any) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return True
    return False


# --- the consumers' booking of one value ------------------------------------------------------------

def settlement_books(instant: datetime, *, late: bool = True) -> SettlementQuarter:
    """What settlement does with a fact's instant: its quarter and that quarter's bounds, the statement run's
    carry-over into the next quarter, a dispute deadline from it; with ``late``, also the next quarter's run (a fact
    arriving after its quarter closed is booked into the next one)."""
    q = quarter_of(instant)
    start, end = q.bounds()
    assert start <= instant < end
    q.next()  # the statement run carries the balance over
    if late:
        q.next().bounds()
        q.next().next()
    dispute_deadline(instant)
    return q


def dispatch_books(instant: datetime) -> None:
    """Dispatch opens a job at ``instant``: deadlines on both calendars, each booked by settlement when breached."""
    for cal in (CALENDAR_24X7, SERVICE_HOURS):
        deadlines = compute_deadlines(LONGEST_SLA, cal, JobClocks(opened_at=instant), instant)
        for due in deadlines.values():
            assert due is not None and due >= instant
            settlement_books(due, late=False)  # a breach is booked when it happens, never into a closed quarter


def parts_books(instant: datetime) -> None:
    """Parts commits to ship by a date and books its budget quarter; settlement books the shipment's charges."""
    for cal in ("calendar", "business"):
        due = ship_by(instant, days=LONGEST_SHIP_DAYS, calendar=cal, tz=BUSINESS_TZ)
        assert due >= instant
        settlement_books(due, late=False)
    assert SettlementQuarter.parse(parts_quarter_of(instant, BUSINESS_TZ)) == quarter_of(instant)


def envelope_round_trip(event: Any) -> Any:
    parsed = registry.parse(event.to_json().encode())
    assert parsed == event
    return parsed


# --- accepted values are bookable ------------------------------------------------------------------

@PROPERTY
@given(business_dates)
def test_every_business_date_is_bookable_by_every_consumer(day: date) -> None:
    assert DATE.validate_python(day) == day == DATE.validate_json(json.dumps(day.isoformat()))
    noon = business_noon(day)  # where settlement books a fact known by its date
    assert local_date(noon) == day
    q = settlement_books(noon)
    assert q == quarter_of_date(day) and q.start_date() <= day <= q.end_date()
    midnight = datetime.combine(day, time.min, BUSINESS_TZ)
    for instant in (midnight, noon, datetime.combine(day, time.max, BUSINESS_TZ)):
        dispatch_books(instant)
        parts_books(instant)
    envelope_round_trip(UnitRegistered(aggregate_id="SN-1", payload={
        "serial": "SN-1", "product_line": "AC", "sold_on": day, "registered_on": day, "sale_amount": "1.00"}))
    envelope_round_trip(ExtensionPurchased(aggregate_id="SN-1", payload={
        "serial": "SN-1", "paid_on": day, "months": 12, "price": "99.00"}))


@PROPERTY
@given(shanghai_instants())
def test_every_instant_on_a_business_day_is_bookable_by_every_consumer(instant: datetime) -> None:
    # every instant on a Shanghai business day in range is accepted (the next test proves it exactly)
    assert not _refused(DATETIME, instant)
    assert DATETIME.validate_python(instant) == instant
    settlement_books(instant)
    dispatch_books(instant)
    parts_books(instant)
    event = envelope_round_trip(TicketOpened(aggregate_id="t", occurred_at=instant, payload={
        "ticket_id": "t", "ticket_no": "T1", "serial": "SN", "product_line": "AC", "required_skill": "hvac",
        "coverage": "warranty", "customer_name": "c", "phone": "p", "address": "a", "region_code": "310101",
        "channel": "phone", "fault_description": "f", "opened_at": instant}))
    assert event.payload.opened_at == instant


@PROPERTY
@given(st.one_of(written_instants(), shanghai_instants()))
@example(datetime(2000, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14))))
@example(datetime(1999, 12, 31, 20, 0, tzinfo=timezone(timedelta(hours=-6))))
def test_an_instant_is_accepted_exactly_when_its_business_day_is_in_range(instant: datetime) -> None:
    on_a_business_day = BUSINESS_DATE_MIN <= local_date(instant) <= BUSINESS_DATE_MAX
    assert (not _refused(DATETIME, instant)) == on_a_business_day, f"{instant} ({local_date(instant)} in Shanghai)"
    if on_a_business_day:
        settlement_books(instant)


@PROPERTY
@given(months)
def test_every_month_is_bookable_by_settlement(month: str) -> None:
    assert MONTH.validate_python(month) == month
    first = date.fromisoformat(month + "-01")  # settlement's monthly report key
    start, end = month_bounds(first)
    assert start < end and end.date() == (first + timedelta(days=32)).replace(day=1)
    q = quarter_of_date(first)
    settlement_books(start)
    assert q.start_date() <= first <= q.end_date()


@PROPERTY
@given(quarters)
def test_every_quarter_is_bookable_by_settlement_and_parts(quarter: str) -> None:
    assert QUARTER.validate_python(quarter) == quarter
    q = SettlementQuarter.parse(quarter)
    start, _end = q.bounds()
    assert str(q) == quarter and settlement_books(start) == q
    assert parts_quarter_of(start, BUSINESS_TZ) == quarter
    envelope_round_trip(BudgetExcessCharged(aggregate_id="D1", payload={
        "dealer_id": "D1", "request_id": "r", "quarter": quarter, "value": "1.00", "excess_amount": "0.50",
        "at": start}))


class _Priced(BaseModel):
    amount: Money


@PROPERTY
@given(amounts)
def test_every_amount_is_bookable_unchanged(amount: Decimal) -> None:
    assert MONEY.validate_python(amount) == amount == MONEY.validate_json(json.dumps(str(amount)))
    assert to_fen(amount) == amount  # the one rounding rule changes nothing an API accepted
    assert Decimal(money_str(amount)) == amount and len(money_str(amount).replace(".", "")) <= 14
    wire = _Priced(amount=amount).model_dump_json()
    assert json.loads(wire)["amount"] == format(amount, "f")  # an exact string, never a float
    assert _Priced.model_validate_json(wire).amount == amount
    event = envelope_round_trip(ExtensionPurchased(aggregate_id="SN", payload={
        "serial": "SN", "paid_on": BUSINESS_DATE_MAX, "months": 12, "price": amount}))
    assert event.payload.price == amount


@PROPERTY
@given(texts)
def test_every_text_travels_unchanged(value: str) -> None:
    accepted = TEXT.validate_python(value)
    assert accepted in value and accepted.strip() and 1 <= len(accepted) <= 200 and "\x00" not in accepted
    event = envelope_round_trip(TicketOpened(aggregate_id="t", payload={
        "ticket_id": "t", "ticket_no": "T1", "serial": "SN", "product_line": "AC", "required_skill": "hvac",
        "coverage": "warranty", "customer_name": accepted, "phone": "p", "address": accepted,
        "region_code": "310101", "channel": "phone", "fault_description": accepted,
        "opened_at": datetime(2026, 1, 1, tzinfo=UTC)}))
    assert event.payload.customer_name == accepted


# --- and Postgres stores what the types accept, unchanged (a sample, each edge included) -----------------

_ROUND_TRIP = """
SELECT d, t, m, q, a, x FROM unnest($1::date[], $2::timestamptz[], $3::date[], $4::text[], $5::numeric(14,2)[],
                                     $6::text[]) AS v(d, t, m, q, a, x)
"""


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(business_dates, shanghai_instants(), months, quarters, amounts, texts),
                min_size=40, max_size=40))
def test_postgres_stores_every_accepted_value_unchanged(stack: Any, rows: list[tuple[Any, ...]]) -> None:
    edges = [(BUSINESS_DATE_MIN, datetime.combine(BUSINESS_DATE_MIN, time.min, BUSINESS_TZ), "2000-01", "2000Q1",
              Decimal("0.00"), "a"),
             (BUSINESS_DATE_MAX, datetime.combine(BUSINESS_DATE_MAX, time.max, BUSINESS_TZ), "2199-12", "2199Q4",
              MAX_AMOUNT, "z" * 200)]
    rows = edges + rows
    cols = [list(c) for c in zip(*rows, strict=True)]
    months_as_dates = [date.fromisoformat(m + "-01") for m in cols[2]]
    accepted_texts = [TEXT.validate_python(x) for x in cols[5]]

    async def round_trip() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(stack.admin_dsn())
        try:
            return await conn.fetch(_ROUND_TRIP, cols[0], cols[1], months_as_dates, cols[3], cols[4], accepted_texts)
        finally:
            await conn.close()

    back = asyncio.run(round_trip())
    assert [r["d"] for r in back] == cols[0]
    assert [r["t"] for r in back] == cols[1]  # the same instant (asyncpg gives it back in UTC)
    assert [f"{r['m']:%Y-%m}" for r in back] == cols[2]
    assert [r["q"] for r in back] == cols[3]
    assert [r["a"] for r in back] == cols[4]
    assert [r["x"] for r in back] == accepted_texts


# --- just outside: refused by the type ----------------------------------------------------------------

@PROPERTY
@given(st.one_of(st.integers(1, 3), st.integers(4, 700_000)))
def test_dates_and_instants_outside_the_range_are_refused(days: int) -> None:
    for day in (BUSINESS_DATE_MIN - timedelta(days=days), BUSINESS_DATE_MAX + timedelta(days=days)):
        assert _refused(DATE, day), day
        assert _refused(DATE, day.isoformat()), day
        instant = datetime.combine(day, time(12), BUSINESS_TZ)
        assert _refused(DATETIME, instant), instant
    for text in ("0001-01-01", "9999-12-31", "1999-12-31", "2200-01-01", "2199-02-30"):
        assert _refused(DATE, text), text
    assert _refused(DATETIME, datetime(2026, 1, 1, 12))  # naive: no offset, no instant


@PROPERTY
@given(st.one_of(st.integers(0, BUSINESS_DATE_MIN.year - 1), st.integers(BUSINESS_DATE_MAX.year + 1, 9999)),
       st.integers(1, 12))
def test_months_and_quarters_outside_the_range_are_refused(year: int, month: int) -> None:
    assert _refused(MONTH, f"{year:04d}-{month:02d}")
    assert _refused(QUARTER, f"{year:04d}Q{(month - 1) // 3 + 1}")


@pytest.mark.parametrize("value", ["2026-00", "2026-13", "2026-1", "26-01", "2026-01-01", "2026/01", " 2026-01", ""])
def test_malformed_months_are_refused(value: str) -> None:
    assert _refused(MONTH, value)


@pytest.mark.parametrize("value", ["2026Q0", "2026Q5", "2026q1", "2026-Q1", "26Q1", "2026Q1 ", ""])
def test_malformed_quarters_are_refused(value: str) -> None:
    assert _refused(QUARTER, value)


@PROPERTY
@given(st.one_of(
    st.integers(1, 10**6).map(lambda c: -Decimal(c).scaleb(-2)),  # below zero
    st.integers(1, 10**6).map(lambda c: MAX_AMOUNT + Decimal(c).scaleb(-2)),  # beyond NUMERIC(14,2)
    st.integers(0, _CENTS - 1).map(lambda c: Decimal(c).scaleb(-2) + Decimal("0.001")),  # finer than a fen
))
def test_amounts_outside_the_range_are_refused(amount: Decimal) -> None:
    assert _refused(MONEY, amount), amount
    assert _refused(MONEY, str(amount)), amount


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e20", "-0.01", 1e-3, "abc"])
def test_non_amounts_are_refused(value: Any) -> None:
    assert _refused(MONEY, value)


@PROPERTY
@given(st.one_of(
    st.text(alphabet=" \t\n\r\u3000", max_size=5),  # nothing left once trimmed
    st.text(min_size=201, max_size=400).filter(lambda s: len(s.strip()) > 200),  # too long
    st.tuples(st.text(max_size=50), st.text(max_size=50)).map(lambda p: f"{p[0]}x\x00{p[1]}"),  # NUL
))
def test_texts_outside_the_limits_are_refused(value: str) -> None:
    assert _refused(TEXT, value), repr(value)
