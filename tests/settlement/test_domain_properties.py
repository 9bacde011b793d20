"""Property tests: totals are sums of lines, everything is to the fen, runs are deterministic."""

from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from fractions import Fraction

from hypothesis import example, given, settings
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


def _fen(x) -> D:
    return D(x).quantize(D("0.01"), rounding=ROUND_HALF_UP)


def _budget_rule(t: ContractTerms, i: QuarterInputs, s) -> None:
    """R-D2c, checked from the inputs: budget = X % of the quarter's payments; spend above budget + carry-in is
    repaid by the dealer in the same quarter; underspend only carries forward, never paid out or offset."""
    payments = sum((f.payments for f in i.facts.values()), D(0))
    spend = sum((_fen(t.repair_fee * f.repairs) + _fen(t.home_visit_fee * f.home_visits) for f in i.facts.values()),
                D(0))
    budget = _fen(payments * t.budget_percent / 100)
    available = budget + _fen(i.carry_in)
    assert s.budget == budget and s.carry_in == _fen(i.carry_in)
    overspend = [ln for ln in s.lines if ln.code == "budget_overspend"]
    if spend > available:
        # repaid that quarter: one fee line of exactly the excess, nothing carried
        assert [(ln.category, ln.amount) for ln in overspend] == [(Category.FEE, available - spend)]
        assert s.gross_fee == available and s.carry_out == 0
    else:
        # underspend carries forward in full and is not paid out: the fee is the spend, no more
        assert overspend == [] and s.gross_fee == spend and s.carry_out == available - spend
    # never offset against goods payments: payments only set the budget, no line pays or books them
    fee_codes = {"fee_repairs", "fee_home_visits", "budget_overspend"}
    assert {ln.code for ln in s.lines if ln.category is Category.FEE} <= fee_codes
    assert s.net == s.gross_fee + s.total(Category.DEDUCTION) + s.total(Category.FORFEIT) + s.total(
        Category.ADJUSTMENT)


budget_terms = st.builds(ContractTerms, model=st.just(FeeModel.PAYMENT_BUDGET), budget_percent=pct,
                         repair_fee=money, home_visit_fee=money)


@settings(max_examples=300, deadline=None)
@given(budget_terms, inputs)
def test_R_D2c_budget_is_X_percent_of_payments_overspend_repaid_underspend_carried(t, i):
    _budget_rule(t, i, compute_statement(t, i))


@settings(max_examples=200, deadline=None)
@given(budget_terms, inputs, facts, st.sampled_from([1, 2, 3, 4]))
def test_R_D2c_underspend_carries_to_the_next_quarter_and_into_the_next_year(t, i, later, q):
    """A quarter's carry-out is the next quarter's carry-in (Q4 → Q1 of the next year), where it raises the
    budget available for repairs — and only that: it is never paid out on its own."""
    first = QuarterInputs(Quarter(2026, q), i.facts, carry_in=i.carry_in)
    s1 = compute_statement(t, first)
    nxt = first.quarter.next()
    assert (nxt.year, nxt.q) == ((2027, 1) if q == 4 else (2026, q + 1))
    second = QuarterInputs(nxt, {None: later}, carry_in=s1.carry_out)
    s2 = compute_statement(t, second)
    _budget_rule(t, second, s2)
    assert s2.carry_in == s1.carry_out
    # with nothing spent, nothing is paid and the whole carry (plus the new budget) moves on
    idle = compute_statement(t, QuarterInputs(nxt, {None: Facts(payments=later.payments)}, carry_in=s1.carry_out))
    assert idle.gross_fee == 0 and idle.net == 0
    assert idle.carry_out == s1.carry_out + idle.budget


@settings(max_examples=200, deadline=None)
@given(st.datetimes(timezones=st.just(__import__("datetime").UTC)))
def test_R_D1_instant_lies_within_its_quarter_bounds(dt):
    if not 2000 <= dt.year <= 2199:
        return
    start, end = quarter_of(dt).bounds()
    assert start <= dt < end


@st.composite
def activities(draw):
    """A consistent month: satisfied ≤ scored ≤ reached ≤ callbacks."""
    callbacks = draw(count)
    reached = draw(st.integers(0, callbacks))
    scored = draw(st.integers(0, reached))
    return MonthActivity(repairs=draw(count), callbacks=callbacks, callbacks_reached=reached,
                         scored=scored, satisfied=draw(st.integers(0, scored)),
                         complaints_upheld=draw(st.integers(0, 50)), registered_sales=draw(count),
                         sla_breaches=draw(count), report_submitted=draw(st.booleans()),
                         quality_feedback=draw(st.booleans()))


def _rate_is(value, num, den) -> None:
    """``value`` is num/den to 4 places (half a unit of the 4th place at most), or None without a denominator."""
    if den == 0:
        assert value is None
        return
    assert value == value.quantize(D("0.0001"))
    assert abs(Fraction(value) - Fraction(num, den)) <= Fraction(1, 20000)


@settings(max_examples=300, deadline=None)
@given(st.lists(activities(), max_size=12))
@example([MonthActivity(registered_sales=1000, complaints_upheld=1, callbacks=100, callbacks_reached=100, scored=100,
                        satisfied=96, quality_feedback=True)] * 11)  # exactly 1/1000; 96 %; 11 of 12 months
@example([MonthActivity(registered_sales=1001, complaints_upheld=1, callbacks=50, callbacks_reached=50, scored=50,
                        satisfied=49, repairs=4, sla_breaches=5)] * 10)  # just below 1/1000; exactly 98 %; 10 months
def test_R_D7_monthly_assessment_and_yearly_excellence_thresholds(months):
    for m in months:
        a = assess_month(m)
        _rate_is(a.callback_rate, m.callbacks, m.repairs)
        _rate_is(a.satisfaction, m.satisfied, m.scored)
        _rate_is(a.complaint_rate, m.complaints_upheld, m.registered_sales)
        _rate_is(a.sla_attainment, max(m.repairs - m.sla_breaches, 0), m.repairs)
        if a.sla_attainment is not None:
            assert 0 <= a.sla_attainment <= 1
        # callback target: 25 % of repairs called back (R-T5); a month without repairs meets it
        assert a.callback_target_met == (m.repairs == 0 or Fraction(m.callbacks, m.repairs) >= Fraction(1, 4))
        assert a.report_submitted == m.report_submitted
    ex = yearly_excellence(months)
    sales = sum(m.registered_sales for m in months)
    complaints = sum(m.complaints_upheld for m in months)
    scored = sum(m.scored for m in months)
    satisfied = sum(m.satisfied for m in months)
    fed = sum(m.quality_feedback for m in months)
    # R-D7: complaints < 1/1000 of sales, satisfaction ≥ 98 %, quality feedback in ≥ 90 % of the 12 months
    assert ex.complaints_ok == (sales > 0 and Fraction(complaints, sales) < Fraction(1, 1000))
    assert ex.satisfaction_ok == (scored > 0 and Fraction(satisfied, scored) >= Fraction(98, 100))
    assert ex.quality_feedback_ok == (Fraction(fed, 12) >= Fraction(90, 100))
    assert ex.excellent == (ex.complaints_ok and ex.satisfaction_ok and ex.quality_feedback_ok)


def test_R_D7_yearly_excellence_flags():
    good = [MonthActivity(registered_sales=1000, complaints_upheld=0, scored=50, satisfied=50,
                          quality_feedback=True)] * 12
    assert yearly_excellence(good).excellent
    bad = good[:10] + [MonthActivity(registered_sales=1000)] * 2
    assert not yearly_excellence(bad).quality_feedback_ok
    assert assess_month(MonthActivity(repairs=8, callbacks=2)).callback_target_met
    assert not assess_month(MonthActivity(repairs=8, callbacks=1)).callback_target_met
    # the thresholds themselves, at their edges
    year = [MonthActivity(registered_sales=1000, quality_feedback=True)] * 12
    assert not yearly_excellence(year[:11] + [MonthActivity(registered_sales=1000, complaints_upheld=12)]
                                 ).complaints_ok  # 12 / 12000 = exactly 1/1000: not below it
    assert yearly_excellence(year[:11] + [MonthActivity(registered_sales=1000, complaints_upheld=11)]).complaints_ok
    assert yearly_excellence(year[:11] + [MonthActivity(scored=100, satisfied=98)]).satisfaction_ok  # exactly 98 %
    assert not yearly_excellence(year[:11] + [MonthActivity(scored=100, satisfied=97)]).satisfaction_ok
    assert yearly_excellence(year[:11] + [MonthActivity()]).quality_feedback_ok  # 11 of 12 months ≥ 90 %
    assert not yearly_excellence(year[:10] + [MonthActivity()] * 2).quality_feedback_ok  # 10 of 12 < 90 %
