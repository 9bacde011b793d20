"""Issue 15 item 3: a unit exchanged or replaced under 三包 (R-W4/R-W5) counts in the dealer's statement as its
contract configures it — ``unit_replacement_fee`` per unit, 0 when the contract names none (still a line)."""

from decimal import Decimal as D

import pytest

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
from settlement.statements.service import terms_from

Q = Quarter(2026, 3)
REPORTS = {ym: MonthReport(True, True) for ym in [(2026, 5), (2026, 6), (2026, 7), (2026, 8), (2026, 9)]}


@pytest.mark.parametrize("model", list(FeeModel))
@pytest.mark.parametrize(("fee", "units", "amount"), [(None, 2, D("0.00")), ("150.00", 2, D("300.00")),
                                                      ("33.335", 3, D("100.01"))])
def test_R_W5_unit_replacements_are_a_fee_line_valued_by_the_contract(model, fee, units, amount):
    params = {"per_sale_amount": "1", "sales_percent": "1", "budget_percent": "1", "repair_fee": "10",
              **({"unit_replacement_fee": fee} if fee else {})}
    terms = terms_from(model.value, params)
    st = compute_statement(terms, QuarterInputs(Q, {None: Facts(unit_replacements=units)}, reports=REPORTS))
    line = next(ln for ln in st.lines if ln.code == "fee_unit_replacements")
    assert (line.category, line.amount, line.quantity) == (Category.FEE, amount, D(units))


def test_no_unit_replacement_no_line():
    st = compute_statement(ContractTerms(FeeModel.PER_REPAIR, repair_fee=D("10")),
                           QuarterInputs(Q, {None: Facts(repairs=1)}, reports=REPORTS))
    assert [ln.code for ln in st.lines] == ["fee_repairs"]
