"""Issue 15 in settlement: a repair that became customer-paid on diagnosis (R-W3/R-T3) earns the dealer no fee,
and the statement says why (a zero line counting those repairs)."""

from decimal import Decimal as D

from settlement.domain.fees import (
    Category,
    ContractTerms,
    Facts,
    FeeModel,
    MonthReport,
    QuarterInputs,
    compute_statement,
)
from settlement.domain.quarters import Quarter

Q3 = Quarter(2026, 3)
FULL_REPORTS = {ym: MonthReport(True, True) for ym in [(2026, 5), (2026, 6), (2026, 7), (2026, 8), (2026, 9)]}


def test_R_W3_customer_paid_repairs_earn_nothing_and_the_line_says_why():
    terms = ContractTerms(FeeModel.PER_REPAIR, repair_fee=D("80.00"), home_visit_fee=D("30.00"))
    with_paid = compute_statement(terms, QuarterInputs(Q3, {None: Facts(repairs=3, home_visits=3, paid_repairs=2)},
                                                       reports=FULL_REPORTS))
    without = compute_statement(terms, QuarterInputs(Q3, {None: Facts(repairs=3, home_visits=3)},
                                                     reports=FULL_REPORTS))
    assert with_paid.net == without.net == D("330.00")
    paid = [ln for ln in with_paid.lines if ln.code == "repairs_customer_paid"]
    assert [(ln.quantity, ln.amount, ln.category) for ln in paid] == [(D(2), D("0"), Category.FEE)]
    assert "not reimbursed" in paid[0].description and "R-W3" in paid[0].description
    assert not [ln for ln in without.lines if ln.code == "repairs_customer_paid"]


def test_R_D2c_a_customer_paid_repair_spends_no_repair_budget():
    terms = ContractTerms(FeeModel.PAYMENT_BUDGET, budget_percent=D("5"), repair_fee=D("100.00"))
    st = compute_statement(terms, QuarterInputs(Q3, {None: Facts(payments=D("10000.00"), repairs=1, paid_repairs=4)},
                                                reports=FULL_REPORTS))
    base = compute_statement(terms, QuarterInputs(Q3, {None: Facts(payments=D("10000.00"), repairs=1)},
                                                  reports=FULL_REPORTS))
    assert (st.net, st.carry_out) == (base.net, base.carry_out)
