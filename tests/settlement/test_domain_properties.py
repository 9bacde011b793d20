"""Property tests: totals are sums of lines, everything is to the fen, runs are deterministic."""

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.domain.assessment import MonthActivity, assess_month, yearly_excellence
from settlement.domain.fees import (
    Category,
    ContractTerms,
    Facts,
    FeeModel,
    MonthReport,
    QuarterInputs,
    compute_statement,
)
from settlement.domain.quarters import Quarter, quarter_of

money = st.decimals(min_value=0, max_value=D("999999.99"), places=2, allow_nan=False, allow_infinity=False)
pct = st.decimals(min_value=0, max_value=D("100"), places=3, allow_nan=False, allow_infinity=False)
count = st.integers(min_value=0, max_value=5000)
facts = st.builds(Facts, registered_units=count, sales_value=money, payments=money, repairs=count,
                  home_visits=count, return_costs=money, upheld_complaints=st.integers(0, 50),
                  parts_not_returned=money, urgent_surcharges=money, void_value=money, falsified_value=money,
                  adjustments=st.decimals(min_value=D("-9999.99"), max_value=D("9999.99"), places=2))
terms = st.builds(ContractTerms, model=st.sampled_from(list(FeeModel)), per_sale_amount=money, sales_percent=pct,
                  budget_percent=pct, repair_fee=money, home_visit_fee=money, complaint_penalty=money)
quarters = st.builds(Quarter, st.integers(2020, 2030), st.integers(1, 4))
reports = st.dictionaries(st.tuples(st.integers(2019, 2030), st.integers(1, 12)),
                          st.builds(MonthReport, st.booleans(), st.booleans()), max_size=8)
inputs = st.builds(QuarterInputs, quarter=quarters,
                   facts=st.dictionaries(st.sampled_from([None, "2019Q4", "2020Q1"]), facts, min_size=1, max_size=3),
                   carry_in=money, falsified_cards=st.booleans(), breach=st.booleans(), reports=reports,
                   year_fee_before=money, quality_penalty_applied_this_year=st.booleans())


@settings(max_examples=300, deadline=None)
@given(terms, inputs)
def test_R_D8_totals_are_sums_of_fen_lines(t, i):
    s = compute_statement(t, i)
    assert s.net == sum((ln.amount for ln in s.lines), D(0))
    assert s.net == sum((s.total(c) for c in Category), D(0))
    for ln in s.lines:
        assert ln.amount == ln.amount.quantize(D("0.01"))
    assert s.carry_out >= 0


@settings(max_examples=200, deadline=None)
@given(terms, inputs)
def test_R_D2_statement_is_deterministic(t, i):
    assert compute_statement(t, i) == compute_statement(t, i)


@settings(max_examples=200, deadline=None)
@given(inputs)
def test_R_D2c_fee_never_exceeds_budget_plus_carry(i):
    t = ContractTerms(FeeModel.PAYMENT_BUDGET, budget_percent=D("3"), repair_fee=D("99.99"), home_visit_fee=D("10"))
    s = compute_statement(t, i)
    assert s.gross_fee <= s.budget + s.carry_in
    assert s.gross_fee + s.carry_out == max(s.budget + s.carry_in, s.gross_fee) or s.carry_out == 0


@settings(max_examples=200, deadline=None)
@given(st.datetimes(timezones=st.just(__import__("datetime").UTC)))
def test_R_D1_instant_lies_within_its_quarter_bounds(dt):
    if not 2000 <= dt.year <= 2199:
        return
    start, end = quarter_of(dt).bounds()
    assert start <= dt < end


@given(st.lists(st.builds(MonthActivity, repairs=count, callbacks=count, registered_sales=count,
                          complaints_upheld=count, sla_breaches=count), max_size=12))
def test_R_D7_assessment_rates_are_bounded_or_absent(months):
    for m in months:
        a = assess_month(m)
        if a.sla_attainment is not None:
            assert 0 <= a.sla_attainment <= 1
    yearly_excellence(months)


def test_R_D7_yearly_excellence_flags():
    good = [MonthActivity(registered_sales=1000, complaints_upheld=0, scored=50, satisfied=50,
                          quality_feedback=True)] * 12
    assert yearly_excellence(good).excellent
    bad = good[:10] + [MonthActivity(registered_sales=1000)] * 2
    assert not yearly_excellence(bad).quality_feedback_ok
    assert assess_month(MonthActivity(repairs=8, callbacks=2)).callback_target_met
    assert not assess_month(MonthActivity(repairs=8, callbacks=1)).callback_target_met
