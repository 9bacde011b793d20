"""Golden quarters: hand-worked inputs → expected statement to the fen, one per fee model and forfeit rule."""

from datetime import UTC, datetime
from decimal import Decimal as D

from aftersales_shared.money import to_fen
from settlement.domain.fees import (
    Category,
    ContractTerms,
    Facts,
    FeeModel,
    MonthReport,
    QuarterInputs,
    compute_statement,
    pct_of,
)
from settlement.domain.quarters import (
    Quarter,
    dispute_allowed,
    due_on,
    quarter_of,
)

Q3 = Quarter(2026, 3)
A = ContractTerms(FeeModel.PER_REGISTERED_SALE, per_sale_amount=D("35.00"), complaint_penalty=D("200.00"))
FULL_REPORTS = {ym: MonthReport(True, True) for ym in [(2026, 5), (2026, 6), (2026, 7), (2026, 8), (2026, 9)]}


def amounts(st):
    return {(ln.code, ln.late_from): ln.amount for ln in st.lines}


def test_R_D2a_registered_sales_quarter_with_R_D3_deductions():
    facts = Facts(registered_units=120, upheld_complaints=2, return_costs=D("85.50"),
                  parts_not_returned=D("312.34"), urgent_surcharges=D("45.00"))
    st = compute_statement(A, QuarterInputs(Q3, {None: facts}, reports=FULL_REPORTS))
    # 120 × 35.00 = 4200.00; 2 × 200 = 400; 4200 − 400 − 85.50 − 312.34 − 45.00 = 3357.16
    assert amounts(st) == {
        ("fee_registered_sales", None): D("4200.00"), ("complaint_penalties", None): D("-400.00"),
        ("return_costs", None): D("-85.50"), ("parts_not_returned", None): D("-312.34"),
        ("urgent_shipping", None): D("-45.00"),
    }
    assert st.gross_fee == D("4200.00")
    assert st.total(Category.DEDUCTION) == D("-842.84")
    assert st.net == D("3357.16")


def test_R_D2b_sales_percent_with_R_D5_void_and_tenfold_fine():
    terms = ContractTerms(FeeModel.SALES_PERCENT, sales_percent=D("1.00"))
    facts = Facts(sales_value=D("1234567.89"), void_value=D("150.00"), falsified_value=D("20.00"))
    st = compute_statement(terms, QuarterInputs(Q3, {None: facts}, reports=FULL_REPORTS))
    # 1 % of 1,234,567.89 = 12,345.6789 → 12,345.68; void 150 + 20 = 170; fine 10 × 20 = 200
    assert amounts(st) == {
        ("fee_sales_percent", None): D("12345.68"), ("verification_void", None): D("-170.00"),
        ("falsified_fine", None): D("-200.00"),
    }
    assert st.net == D("11975.68")


def test_R_D2c_underspend_carries_over_year_end_then_overspend_repaid():
    terms = ContractTerms(FeeModel.PAYMENT_BUDGET, budget_percent=D("3"), repair_fee=D("120.00"),
                          home_visit_fee=D("50.00"))
    q4 = Quarter(2026, 4)
    rep4 = {ym: MonthReport(True, True) for ym in [(2026, 8), (2026, 9), (2026, 10), (2026, 11), (2026, 12)]}
    st4 = compute_statement(terms, QuarterInputs(q4, {None: Facts(payments=D("200000.00"), repairs=40, home_visits=10)},
                                                 carry_in=D("500.00"), reports=rep4))
    # budget 3 % × 200,000 = 6,000; available 6,500; spend 4,800 + 500 = 5,300; carry 1,200 into 2027
    assert st4.budget == D("6000.00")
    assert st4.net == D("5300.00")
    assert st4.carry_out == D("1200.00")
    assert not any(ln.code == "budget_overspend" for ln in st4.lines)

    q1 = Quarter(2027, 1)
    rep1 = {ym: MonthReport(True, True) for ym in [(2026, 11), (2026, 12), (2027, 1), (2027, 2), (2027, 3)]}
    st1 = compute_statement(terms, QuarterInputs(q1, {None: Facts(payments=D("100000.00"), repairs=40)},
                                                 carry_in=st4.carry_out, reports=rep1))
    # budget 3,000 + carry 1,200 = 4,200; spend 4,800 → overspend 600 repaid by the dealer this quarter
    assert amounts(st1) == {("fee_repairs", None): D("4800.00"), ("budget_overspend", None): D("-600.00")}
    assert st1.net == D("4200.00")
    assert st1.carry_out == D("0.00")


def test_R_D2c_underspend_is_never_paid_out():
    terms = ContractTerms(FeeModel.PAYMENT_BUDGET, budget_percent=D("5"), repair_fee=D("100.00"))
    st = compute_statement(terms, QuarterInputs(Q3, {None: Facts(payments=D("10000.00"), repairs=1)},
                                                reports=FULL_REPORTS))
    assert st.net == D("100.00")  # not the 500 budget
    assert st.carry_out == D("400.00")


def test_R_D2d_per_repair_and_home_visit_with_late_line():
    terms = ContractTerms(FeeModel.PER_REPAIR, repair_fee=D("80.00"), home_visit_fee=D("30.00"))
    facts = {None: Facts(repairs=25, home_visits=18, urgent_surcharges=D("66.60")),
             "2026Q2": Facts(repairs=2)}
    st = compute_statement(terms, QuarterInputs(Q3, facts, reports=FULL_REPORTS))
    assert amounts(st) == {
        ("fee_repairs", None): D("2000.00"), ("fee_home_visits", None): D("540.00"),
        ("fee_repairs", "2026Q2"): D("160.00"), ("urgent_shipping", None): D("-66.60"),
    }
    late = [ln for ln in st.lines if ln.late_from]
    assert late and "late, from 2026Q2" in late[0].description
    assert st.net == D("2633.40")


def test_R_D4_falsified_cards_forfeit_quarter_fee_but_deductions_stand():
    facts = Facts(registered_units=120, upheld_complaints=2)
    st = compute_statement(A, QuarterInputs(Q3, {None: facts}, falsified_cards=True, reports=FULL_REPORTS))
    assert amounts(st)[("forfeit_quarter_fee", None)] == D("-4200.00")
    assert st.net == D("-400.00")


def test_R_D4_breach_forfeits_quarter_fee():
    st = compute_statement(A, QuarterInputs(Q3, {None: Facts(registered_units=10)}, breach=True, reports=FULL_REPORTS))
    assert st.net == D("0.00")
    assert any("breach" in ln.description for ln in st.lines)


def test_R_D4_three_months_without_records_forfeits_across_quarter_boundary():
    reports = {(2026, 5): MonthReport(True, True), (2026, 6): MonthReport(False, True),
               (2026, 7): MonthReport(False, True), (2026, 8): MonthReport(False, True),
               (2026, 9): MonthReport(True, True)}
    st = compute_statement(A, QuarterInputs(Q3, {None: Facts(registered_units=10)}, reports=reports))
    assert amounts(st)[("forfeit_quarter_fee", None)] == D("-350.00")
    assert st.net == D("0.00")


def test_R_D4_two_months_without_records_is_not_a_forfeit():
    reports = dict(FULL_REPORTS)
    reports[(2026, 6)] = MonthReport(False, True)
    reports[(2026, 7)] = MonthReport(False, True)
    st = compute_statement(A, QuarterInputs(Q3, {None: Facts(registered_units=10)}, reports=reports))
    assert st.net == D("350.00")


def test_R_D4_three_months_without_quality_feedback_costs_ten_percent_of_year_fee_once():
    reports = {ym: MonthReport(True, ym < (2026, 7)) for ym in FULL_REPORTS}
    inputs = QuarterInputs(Q3, {None: Facts(registered_units=120)}, reports=reports, year_fee_before=D("8000.00"))
    st = compute_statement(A, inputs)
    # year's fee 8,000 + 4,200 = 12,200 → 10 % = 1,220.00
    assert amounts(st)[("quality_feedback_penalty", None)] == D("-1220.00")
    assert st.net == D("2980.00")
    assert st.quality_penalty_applied
    again = compute_statement(A, QuarterInputs(Q3, {None: Facts(registered_units=120)}, reports=reports,
                                               year_fee_before=D("8000.00"), quality_penalty_applied_this_year=True))
    assert again.net == D("4200.00")


def test_R_D6_dispute_adjustment_line():
    st = compute_statement(A, QuarterInputs(Q3, {None: Facts(registered_units=1, adjustments=D("12.50"))},
                                            reports=FULL_REPORTS))
    assert amounts(st)[("dispute_adjustment", None)] == D("12.50")
    assert st.total(Category.ADJUSTMENT) == D("12.50")


def test_R_D8_round_half_up_once_per_line():
    assert to_fen(D("0.005")) == D("0.01")
    assert to_fen(D("-0.005")) == D("-0.01")
    assert pct_of(D("50.50"), D("1")) == D("0.51")
    assert pct_of(D("0.10"), D("2.5")) == D("0.00")
    # rounding once per line, not per unit: 3 × 0.335 = 1.005 → 1.01 (per-unit would give 1.02)
    terms = ContractTerms(FeeModel.PER_REGISTERED_SALE, per_sale_amount=D("0.335"))
    st = compute_statement(terms, QuarterInputs(Q3, {None: Facts(registered_units=3)}, reports=FULL_REPORTS))
    assert st.net == D("1.01")


def test_R_D1_quarter_of_instant_uses_shanghai_calendar():
    assert str(quarter_of(datetime(2026, 3, 31, 16, 30, tzinfo=UTC))) == "2026Q2"  # 00:30 on 1 April in Shanghai
    assert str(quarter_of(datetime(2026, 3, 31, 15, 59, tzinfo=UTC))) == "2026Q1"
    start, end = Quarter(2026, 1).bounds()
    assert start == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert Quarter.parse("2026Q4").next() == Quarter(2027, 1)
    assert Quarter(2027, 1).prev() == Quarter(2026, 4)


def test_R_D5_payment_due_twenty_days_after_approval():
    assert str(due_on(datetime(2026, 12, 20, 17, 0, tzinfo=UTC))) == "2027-01-10"  # 21 Dec in Shanghai + 20


def test_R_D6_dispute_window_three_months():
    issued = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)
    assert dispute_allowed(issued, datetime(2026, 4, 30, 15, 0, tzinfo=UTC))  # 23:00 30 April Shanghai
    assert not dispute_allowed(issued, datetime(2026, 4, 30, 16, 30, tzinfo=UTC))  # 00:30 1 May Shanghai
