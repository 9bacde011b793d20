"""Pure parts rules, named after DOMAIN.md rule ids, with hypothesis properties."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales_shared.money import to_fen
from parts.domain.allocation import Candidate, choose, haversine_km
from parts.domain.base_stock import months_back, suggested_quantity, window_sales
from parts.domain.commitment import CommitmentState, classify, ship_by
from parts.domain.gates import GatePolicy, is_shippable, missing_gates
from parts.domain.pricing import chargeback, urgent_surcharge
from parts.domain.returns import is_missed, return_due
from parts.domain.stock import Movement, balance_ok, deltas

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai


# --- R-P1 ship-by ------------------------------------------------------------------------------
def test_R_P1_ship_within_3_calendar_days_by_default():
    assert ship_by(T0) == T0 + timedelta(days=3)


def test_R_P1_days_are_configurable():
    assert ship_by(T0, days=5) == T0 + timedelta(days=5)


def test_R_P1_business_days_skip_the_weekend():
    # Friday + 3 business days = Wednesday, same time of day
    assert ship_by(T0, calendar="business") == T0 + timedelta(days=5)


def test_R_P1_business_clock_starts_monday_for_weekend_requests():
    saturday = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
    due = ship_by(saturday, days=1, calendar="business")
    # Monday 00:00 Shanghai + 1 business day = Tuesday 00:00 Shanghai = Monday 16:00 UTC
    assert due == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)


def test_R_P1_rejects_naive_and_unknown_calendar():
    with pytest.raises(ValueError):
        ship_by(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        ship_by(T0, calendar="lunar")
    with pytest.raises(ValueError):
        ship_by(T0, days=-1)


def test_R_P1_at_risk_when_less_than_a_day_left_and_breached_after():
    due = T0 + timedelta(days=3)
    assert classify(due, T0) is CommitmentState.ON_TRACK
    assert classify(due, due - timedelta(hours=24)) is CommitmentState.ON_TRACK
    assert classify(due, due - timedelta(hours=23)) is CommitmentState.AT_RISK
    assert classify(due, due) is CommitmentState.AT_RISK
    assert classify(due, due + timedelta(seconds=1)) is CommitmentState.BREACHED


@given(st.integers(0, 30), st.integers(0, 10_000_000), st.sampled_from(["calendar", "business"]))
def test_R_P1_property_ship_by_never_before_shippable(days, secs, cal):
    start = T0 + timedelta(seconds=secs)
    due = ship_by(start, days=days, calendar=cal)
    assert due >= start
    assert due - start >= timedelta(days=days)


# --- R-P2 / R-P3 gates -------------------------------------------------------------------------
def test_R_P2_paid_ships_only_after_payment():
    p = GatePolicy()
    assert missing_gates(coverage="paid", payment_recorded=False, documents=set(), policy=p) == ["payment"]
    assert is_shippable(coverage="paid", payment_recorded=True, documents=set(), policy=p)


def test_R_P3_warranty_needs_replacement_list_and_waybill_when_policy_requires():
    p = GatePolicy(warranty_requires_documents=True)
    assert missing_gates(coverage="warranty", payment_recorded=False, documents=set(), policy=p) == [
        "replacement_list", "old_part_waybill"]
    assert missing_gates(coverage="warranty", payment_recorded=False, documents={"replacement_list"},
                         policy=p) == ["old_part_waybill"]
    assert is_shippable(coverage="warranty", payment_recorded=False,
                        documents={"replacement_list", "old_part_waybill"}, policy=p)


def test_R_P3_no_documents_needed_when_policy_waives_them():
    p = GatePolicy(warranty_requires_documents=False)
    assert is_shippable(coverage="warranty", payment_recorded=False, documents=set(), policy=p)


def test_gates_reject_unknown_coverage():
    with pytest.raises(ValueError):
        missing_gates(coverage="free", payment_recorded=True, documents=set(), policy=GatePolicy())


# --- R-P6 urgent surcharge ---------------------------------------------------------------------
def test_R_P6_urgent_surcharge_is_the_freight_difference():
    assert urgent_surcharge(urgent=True, standard_freight=Decimal("12.00"), urgent_freight=Decimal("45.50"),
                            default=Decimal("30")) == Decimal("33.50")


def test_R_P6_default_surcharge_when_freights_unknown_and_zero_when_not_urgent():
    assert urgent_surcharge(urgent=True, standard_freight=None, urgent_freight=None,
                            default=Decimal("30")) == Decimal("30.00")
    assert urgent_surcharge(urgent=False, standard_freight=Decimal("1"), urgent_freight=Decimal("9"),
                            default=Decimal("30")) == Decimal("0.00")


@given(st.decimals(0, 10_000, places=2), st.decimals(0, 10_000, places=2))
def test_R_P6_property_surcharge_never_negative(a, b):
    assert urgent_surcharge(urgent=True, standard_freight=a, urgent_freight=b, default=Decimal(0)) >= 0


# --- R-P4 returns and chargeback ---------------------------------------------------------------
def test_R_P4_return_due_and_missed():
    due = return_due(T0, days=30)
    assert due == T0 + timedelta(days=30)
    assert not is_missed(due_on=due, now=due, received=False)
    assert is_missed(due_on=due, now=due + timedelta(seconds=1), received=False)
    assert not is_missed(due_on=due, now=due + timedelta(days=9), received=True)
    with pytest.raises(ValueError):
        return_due(T0, days=0)


def test_R_P4_chargeback_at_cost_price():
    assert chargeback(cost_price=Decimal("123.45"), quantity=2) == Decimal("246.90")
    with pytest.raises(ValueError):
        chargeback(cost_price=Decimal("1"), quantity=0)


def test_money_rounds_half_up_to_the_fen():
    assert to_fen(Decimal("0.005")) == Decimal("0.01")
    assert to_fen(Decimal("0.0049")) == Decimal("0.00")


# --- R-P5 base stock ---------------------------------------------------------------------------
def test_R_P5_one_percent_of_three_months_sales_rounded_up():
    today = date(2026, 11, 21)
    sales = [date(2026, 9, 1)] * 150 + [date(2026, 8, 21)] * 50 + [date(2026, 8, 22)] * 1
    n = window_sales(sales, today=today, months=3)
    assert n == 151  # 2026-08-21 is outside the window
    assert suggested_quantity(n, percent=Decimal("1")) == 2
    assert suggested_quantity(0, percent=Decimal("1")) == 0
    assert suggested_quantity(100, percent=Decimal("2.5")) == 3


def test_R_P5_months_back_clamps_month_end():
    assert months_back(date(2026, 5, 31), 3) == date(2026, 2, 28)
    assert months_back(date(2026, 2, 15), 3) == date(2025, 11, 15)


@given(st.integers(0, 100_000), st.decimals(0, 100, places=2))
def test_R_P5_property_suggestion_covers_the_percentage(sales, pct):
    q = suggested_quantity(sales, percent=pct)
    assert q >= sales * pct / 100
    assert q - 1 < sales * pct / 100 or q == 0


# --- allocation --------------------------------------------------------------------------------
SHANGHAI = (31.23, 121.47)
WH = [Candidate("bj", 39.90, 116.40, 5), Candidate("sh", 31.20, 121.50, 2), Candidate("gz", 23.13, 113.26, 9)]


def test_haversine_beijing_shanghai():
    assert 1050 < haversine_km(39.90, 116.40, 31.23, 121.47) < 1090


def test_allocation_nearest_warehouse_that_can_fill_the_line():
    assert choose(quantity=2, candidates=WH, ship_to=SHANGHAI) == [("sh", 2)]
    assert choose(quantity=3, candidates=WH, ship_to=SHANGHAI) == [("bj", 3)]  # sh too small, bj nearer than gz


def test_allocation_backorders_without_split_policy():
    assert choose(quantity=10, candidates=WH, ship_to=SHANGHAI) == []


def test_allocation_splits_nearest_first_only_when_allowed():
    assert choose(quantity=10, candidates=WH, ship_to=SHANGHAI, allow_split=True) == [("sh", 2), ("bj", 5), ("gz", 3)]
    assert choose(quantity=17, candidates=WH, ship_to=SHANGHAI, allow_split=True) == []


cands = st.lists(
    st.builds(Candidate, st.text("abcdef", min_size=1, max_size=3), st.floats(-80, 80), st.floats(-179, 179),
              st.integers(0, 20)),
    max_size=8, unique_by=lambda c: c.warehouse_id)


@given(st.integers(1, 60), cands, st.booleans())
def test_allocation_property_never_more_than_available_and_split_totals_equal_request(q, cs, split):
    picks = choose(quantity=q, candidates=cs, ship_to=(30.0, 120.0), allow_split=split)
    avail = {c.warehouse_id: c.available for c in cs}
    for wid, n in picks:
        assert 0 < n <= avail[wid]
    if picks:
        assert sum(n for _, n in picks) == q
        assert len({w for w, _ in picks}) == len(picks)
    if not split:
        assert len(picks) <= 1
    if sum(avail.values()) >= q and split:
        assert picks


# --- stock ledger ------------------------------------------------------------------------------
def test_movement_deltas():
    assert deltas(Movement.RECEIPT, 3) == (3, 0)
    assert deltas(Movement.RESERVE, 3) == (0, 3)
    assert deltas(Movement.ISSUE, 3) == (-3, -3)
    assert deltas(Movement.ADJUST, -2) == (-2, 0)
    with pytest.raises(ValueError):
        deltas(Movement.RECEIPT, 0)
    with pytest.raises(ValueError):
        deltas(Movement.ADJUST, 0)


@given(st.lists(st.tuples(st.sampled_from(list(Movement)), st.integers(1, 5)), max_size=40))
def test_property_applying_only_valid_movements_keeps_the_balance_invariant(moves):
    on_hand = reserved = 0
    for kind, q in moves:
        dh, dr = deltas(kind, q)
        if balance_ok(on_hand + dh, reserved + dr):
            on_hand, reserved = on_hand + dh, reserved + dr
        assert balance_ok(on_hand, reserved)


# --- R-P7 quarterly parts budget --------------------------------------------------------------
from parts.domain.budget import budget_amount, draw_value, excess, quarter_of  # noqa: E402


def test_R_P7_budget_is_percent_of_remittance_rounded_half_up_to_the_fen():
    assert budget_amount(Decimal("123456.78"), Decimal("5")) == Decimal("6172.84")
    assert budget_amount(Decimal("0.10"), Decimal("5")) == Decimal("0.01")  # 0.005 → 0.01
    assert budget_amount(Decimal("0"), Decimal("100")) == Decimal("0.00")
    with pytest.raises(ValueError):
        budget_amount(Decimal("-1"), Decimal("5"))
    with pytest.raises(ValueError):
        budget_amount(Decimal("1"), Decimal("100.01"))


def test_R_P7_draw_value_is_list_price_times_quantity():
    assert draw_value([(Decimal("33.33"), 3), (Decimal("120.01"), 2)]) == Decimal("340.01")
    assert draw_value([]) == Decimal("0.00")


def test_R_P7_excess_is_what_goes_beyond_the_remaining_budget():
    assert excess(value=Decimal("99.99"), used_before=Decimal("0"), budget=Decimal("150")) == Decimal("0.00")
    assert excess(value=Decimal("273.35"), used_before=Decimal("99.99"), budget=Decimal("150")) == Decimal("223.34")
    assert excess(value=Decimal("10"), used_before=Decimal("200"), budget=Decimal("150")) == Decimal("10.00")


def test_R_P7_quarter_on_the_shanghai_calendar():
    assert quarter_of(datetime(2026, 9, 30, 16, 0, tzinfo=UTC), "Asia/Shanghai") == "2026Q4"  # Oct 1, 00:00
    assert quarter_of(datetime(2026, 9, 30, 15, 59, tzinfo=UTC), "Asia/Shanghai") == "2026Q3"
    with pytest.raises(ValueError):
        quarter_of(datetime(2026, 1, 1), "Asia/Shanghai")


_money = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)


@given(st.lists(_money, min_size=1, max_size=20), _money)
def test_R_P7_property_sequential_draws_charge_exactly_the_overspend(values, budget):
    used, charged = Decimal("0.00"), Decimal("0.00")
    for v in values:
        x = excess(value=v, used_before=used, budget=budget)
        assert Decimal(0) <= x <= v
        used += v
        charged += x
    assert charged == max(used - budget, Decimal(0))
