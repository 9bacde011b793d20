"""Quarterly statement arithmetic: fee models (R-D2), deductions (R-D3, R-P4, R-P6, R-P7), forfeits (R-D4),
verification findings (R-D5) and dispute adjustments (R-D6). Pure: inputs in, statement out.

Facts arrive already aggregated per *origin quarter*: ``None`` is the statement's own quarter, a
quarter string marks facts that arrived late for a closed quarter and are settled here, visibly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from aftersales_shared.money import to_fen

from .quarters import Quarter, prev_month

ZERO = Decimal("0.00")


def pct_of(base: Decimal, percent: Decimal) -> Decimal:
    """``percent`` % of ``base``, rounded once (the shared half-up rule, R-D8)."""
    return to_fen(Decimal(base) * Decimal(percent) / Decimal(100))


class FeeModel(StrEnum):
    PER_REGISTERED_SALE = "a"  # amount × registered sales (warranty cards returned)
    SALES_PERCENT = "b"  # % of settled sales value
    PAYMENT_BUDGET = "c"  # % of payments received as a repair budget, carried over
    PER_REPAIR = "d"  # fixed fee per in-warranty repair + home-visit fee


class Category(StrEnum):
    FEE = "fee"
    DEDUCTION = "deduction"
    FORFEIT = "forfeit"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class ContractTerms:
    """One contract version's parameters and penalties (data, never constants in code)."""

    model: FeeModel
    per_sale_amount: Decimal = ZERO  # (a)
    sales_percent: Decimal = ZERO  # (b)
    budget_percent: Decimal = ZERO  # (c)
    repair_fee: Decimal = ZERO  # (c) spend valuation and (d) fee
    home_visit_fee: Decimal = ZERO  # (c) and (d)
    complaint_penalty: Decimal = ZERO  # per upheld complaint against the dealer (R-D3)
    falsified_fine_multiple: Decimal = Decimal(10)  # 假一罚十 (R-D5)
    quality_feedback_percent: Decimal = Decimal(10)  # share of the year's fee (R-D4)
    months_without_records: int = 3  # R-D4
    months_without_feedback: int = 3  # R-D4
    unit_replacement_fee: Decimal = ZERO  # per unit exchanged or replaced under 三包 (R-W4/R-W5, issue 15)


@dataclass(frozen=True)
class Facts:
    """Aggregated ledger facts of one origin quarter for one dealer."""

    registered_units: int = 0
    sales_value: Decimal = ZERO
    payments: Decimal = ZERO
    repairs: int = 0
    home_visits: int = 0
    return_costs: Decimal = ZERO
    upheld_complaints: int = 0
    parts_not_returned: Decimal = ZERO
    urgent_surcharges: Decimal = ZERO
    parts_budget_excess: Decimal = ZERO  # parts drawn beyond the quarterly parts budget, at list price (R-P7)
    void_value: Decimal = ZERO  # incomplete records found on verification
    falsified_value: Decimal = ZERO  # falsified records found on verification
    adjustments: Decimal = ZERO  # accepted disputes carried into this statement
    sla_damages: Decimal = ZERO  # liquidated damages for missed SLA milestones (R-S9, penalties/)
    sla_damages_waived: Decimal = ZERO  # damages finance waived after they were charged (R-S9)
    third_party_costs: Decimal = ZERO  # third-party repair costs the owner recorded on the dealer's jobs (R-S9)
    paid_repairs: int = 0  # repairs that became customer-paid on diagnosis (R-W3/R-T3, issue 15): not reimbursed
    unit_replacements: int = 0  # units exchanged or replaced under 三包 for the dealer's customers (issue 15)
    unregistered_repairs: int = 0  # repairs of units whose warranty card is missing or late (R-W10): not reimbursed
    late_registrations: int = 0  # warranty cards registered after the contract's deadline (R-W10): no sale fee
    reversed_repairs: int = 0  # repair fees booked, then reversed: the repair became paid or its card late (issue 15)
    reversed_home_visits: int = 0  # the home visit fees of those repairs


@dataclass(frozen=True)
class MonthReport:
    """What the dealer submitted for one month (R-D5): repair records and quality feedback."""

    records: bool = False
    quality_feedback: bool = False


@dataclass(frozen=True)
class QuarterInputs:
    quarter: Quarter
    facts: dict[str | None, Facts]
    carry_in: Decimal = ZERO  # model (c) underspend brought forward
    falsified_cards: bool = False
    breach: bool = False
    # months of this quarter and the two before (streaks may cross a quarter boundary)
    reports: dict[tuple[int, int], MonthReport] = field(default_factory=dict)
    year_fee_before: Decimal = ZERO  # gross fees of earlier statements of the same year
    quality_penalty_applied_this_year: bool = False


@dataclass(frozen=True)
class Line:
    code: str
    category: Category
    description: str
    amount: Decimal
    quantity: Decimal = Decimal(1)
    unit_amount: Decimal | None = None
    late_from: str | None = None


@dataclass(frozen=True)
class Statement:
    quarter: Quarter
    lines: tuple[Line, ...]
    budget: Decimal
    carry_in: Decimal
    carry_out: Decimal
    quality_penalty_applied: bool

    def total(self, category: Category | None = None) -> Decimal:
        return sum((ln.amount for ln in self.lines if category is None or ln.category == category), ZERO)

    @property
    def gross_fee(self) -> Decimal:
        return self.total(Category.FEE)

    @property
    def net(self) -> Decimal:
        return self.total()


def _suffix(origin: str | None) -> str:
    return f" (late, from {origin})" if origin else ""


def _fee_lines(terms: ContractTerms, origin: str | None, f: Facts) -> list[Line]:
    late = _suffix(origin)
    out: list[Line] = []
    if terms.model is FeeModel.PER_REGISTERED_SALE and f.registered_units:
        out.append(Line("fee_registered_sales", Category.FEE, f"registered sales × fee{late}",
                        to_fen(terms.per_sale_amount * f.registered_units), Decimal(f.registered_units),
                        terms.per_sale_amount, origin))
    elif terms.model is FeeModel.SALES_PERCENT and f.sales_value:
        out.append(Line("fee_sales_percent", Category.FEE, f"{terms.sales_percent}% of settled sales{late}",
                        pct_of(f.sales_value, terms.sales_percent), Decimal(1), None, origin))
    elif terms.model in (FeeModel.PER_REPAIR, FeeModel.PAYMENT_BUDGET):
        if f.repairs:
            out.append(Line("fee_repairs", Category.FEE, f"in-warranty repairs{late}",
                            to_fen(terms.repair_fee * f.repairs), Decimal(f.repairs), terms.repair_fee, origin))
        if f.home_visits:
            out.append(Line("fee_home_visits", Category.FEE, f"home visits{late}",
                            to_fen(terms.home_visit_fee * f.home_visits), Decimal(f.home_visits),
                            terms.home_visit_fee, origin))
        if f.reversed_repairs or f.reversed_home_visits:  # issue 15: a negative line, so the dealer is not paid
            n = Decimal(f.reversed_repairs)
            amount = to_fen(terms.repair_fee * f.reversed_repairs + terms.home_visit_fee * f.reversed_home_visits)
            out.append(Line("repair_fee_reversed", Category.FEE,
                            f"repair fees reversed: booked, then the repair became customer-paid (R-W3/R-T3) or its "
                            f"warranty card proved missing or late (R-W10), with their home visits{late}", -amount, n,
                            None, origin))
    if f.paid_repairs and terms.model in (FeeModel.PER_REPAIR, FeeModel.PAYMENT_BUDGET):
        # a zero line, so the statement says why these repairs earned the dealer nothing
        out.append(Line("repairs_customer_paid", Category.FEE,
                        f"repairs not reimbursed: paid by the customer (exclusion or customer-side cause found on "
                        f"site, R-W3/R-T3){late}", ZERO, Decimal(f.paid_repairs), ZERO, origin))
    if f.unit_replacements:  # every fee model: the contract's fee per unit (default 0, still a line that says so)
        out.append(Line("fee_unit_replacements", Category.FEE,
                        f"units exchanged or replaced under 三包 (R-W4/R-W5){late}",
                        to_fen(terms.unit_replacement_fee * f.unit_replacements), Decimal(f.unit_replacements),
                        terms.unit_replacement_fee, origin))
    if f.unregistered_repairs and terms.model in (FeeModel.PER_REPAIR, FeeModel.PAYMENT_BUDGET):
        out.append(Line("repairs_unregistered", Category.FEE,
                        f"repairs not reimbursed: the unit's warranty card was not registered within the contract's "
                        f"deadline (R-W10){late}", ZERO, Decimal(f.unregistered_repairs), ZERO, origin))
    if f.late_registrations and terms.model in (FeeModel.PER_REGISTERED_SALE, FeeModel.SALES_PERCENT):
        out.append(Line("registrations_late", Category.FEE,
                        f"warranty cards registered after the contract's deadline: not counted as registered sales "
                        f"(R-W10){late}", ZERO, Decimal(f.late_registrations), ZERO, origin))
    return out


def _deduction_lines(terms: ContractTerms, origin: str | None, f: Facts, fee_forfeited: bool) -> list[Line]:
    late = _suffix(origin)
    d: list[Line] = []
    if f.return_costs:
        d.append(Line("return_costs", Category.DEDUCTION, f"return costs{late}", -to_fen(f.return_costs),
                      late_from=origin))
    if f.upheld_complaints and terms.complaint_penalty:
        d.append(Line("complaint_penalties", Category.DEDUCTION, f"upheld complaints{late}",
                      -to_fen(terms.complaint_penalty * f.upheld_complaints), Decimal(f.upheld_complaints),
                      terms.complaint_penalty, origin))
    if f.parts_not_returned:
        d.append(Line("parts_not_returned", Category.DEDUCTION, f"old parts not returned, at cost (R-P4){late}",
                      -to_fen(f.parts_not_returned), late_from=origin))
    if f.urgent_surcharges:
        d.append(Line("urgent_shipping", Category.DEDUCTION, f"urgent shipping surcharges (R-P6){late}",
                      -to_fen(f.urgent_surcharges), late_from=origin))
    if f.parts_budget_excess:
        d.append(Line("parts_budget_excess", Category.DEDUCTION,
                      f"parts beyond the quarterly parts budget, at list price (R-P7){late}",
                      -to_fen(f.parts_budget_excess), late_from=origin))
    # A forfeited fee is already gone: voiding its records again would charge the dealer twice.
    voided = f.void_value + f.falsified_value
    if voided and not fee_forfeited:
        d.append(Line("verification_void", Category.DEDUCTION, f"records void on verification (R-D5){late}",
                      -to_fen(voided), late_from=origin))
    if f.falsified_value:
        d.append(Line("falsified_fine", Category.DEDUCTION,
                      f"falsified records fined {terms.falsified_fine_multiple}× (R-D5){late}",
                      -to_fen(f.falsified_value * terms.falsified_fine_multiple),
                      terms.falsified_fine_multiple, f.falsified_value, origin))
    if f.sla_damages:
        d.append(Line("sla_liquidated_damages", Category.DEDUCTION,
                      f"liquidated damages for missed SLA milestones (R-S9){late}", -to_fen(f.sla_damages),
                      late_from=origin))
    if f.third_party_costs:
        d.append(Line("third_party_repair_cost", Category.DEDUCTION,
                      f"third-party repair costs of the dealer's jobs (R-S9){late}", -to_fen(f.third_party_costs),
                      late_from=origin))
    if f.sla_damages_waived:
        d.append(Line("sla_damages_waived", Category.ADJUSTMENT, f"liquidated damages waived (R-S9){late}",
                      to_fen(f.sla_damages_waived), late_from=origin))
    if f.adjustments:
        d.append(Line("dispute_adjustment", Category.ADJUSTMENT, f"accepted dispute adjustment{late}",
                      to_fen(f.adjustments), late_from=origin))
    return d


def _streak_without(reports: dict[tuple[int, int], MonthReport], quarter: Quarter, attr: str, n: int) -> bool:
    """True when some run of ``n`` consecutive months without ``attr`` ends inside ``quarter``."""
    for end in quarter.months():
        ym, missing = end, 0
        for _ in range(n):
            if getattr(reports.get(ym, MonthReport()), attr):
                break
            missing += 1
            ym = prev_month(ym)
        if missing == n:
            return True
    return False


def compute_statement(terms: ContractTerms, inputs: QuarterInputs) -> Statement:
    """The dealer's statement for a quarter: every line rounded once, totals are sums of lines."""
    origins = sorted(inputs.facts, key=lambda o: (o is not None, o or ""))
    fee_lines: list[Line] = []
    for o in origins:
        fee_lines += _fee_lines(terms, o, inputs.facts[o])

    budget = ZERO
    carry_out = ZERO
    carry_in = to_fen(inputs.carry_in)
    if terms.model is FeeModel.PAYMENT_BUDGET:
        payments = sum((f.payments for f in inputs.facts.values()), ZERO)
        budget = pct_of(payments, terms.budget_percent)
        available = budget + carry_in
        spend = sum((ln.amount for ln in fee_lines), ZERO)
        if spend > available:
            fee_lines.append(Line("budget_overspend", Category.FEE,
                                  "spend above the repair budget, repaid by the dealer (R-D2c)",
                                  -(spend - available)))
        # underspend is never paid out nor offset against goods payments: it only carries forward
        carry_out = max(available - spend, ZERO)

    gross = sum((ln.amount for ln in fee_lines), ZERO)
    lines = list(fee_lines)
    forfeit_reason = None
    if inputs.falsified_cards:
        forfeit_reason = "falsified warranty cards"
    elif inputs.breach:
        forfeit_reason = "unilateral breach of contract"
    elif _streak_without(inputs.reports, inputs.quarter, "records", terms.months_without_records):
        forfeit_reason = f"no repair records for {terms.months_without_records} consecutive months"
    forfeited = forfeit_reason is not None and gross > ZERO
    if forfeited:
        lines.append(Line("forfeit_quarter_fee", Category.FORFEIT, f"quarter fee forfeited: {forfeit_reason} (R-D4)",
                          -gross))

    for o in origins:
        lines += _deduction_lines(terms, o, inputs.facts[o], forfeited)

    quality_applied = False
    if not inputs.quality_penalty_applied_this_year and _streak_without(
        inputs.reports, inputs.quarter, "quality_feedback", terms.months_without_feedback
    ):
        year_fee = inputs.year_fee_before + gross
        quality_applied = True
        if year_fee > ZERO:
            lines.append(Line("quality_feedback_penalty", Category.FORFEIT,
                              f"no quality feedback for {terms.months_without_feedback} months: "
                              f"{terms.quality_feedback_percent}% of the year's fee (R-D4)",
                              -pct_of(year_fee, terms.quality_feedback_percent),
                              unit_amount=year_fee))
    return Statement(inputs.quarter, tuple(lines), budget, carry_in, carry_out, quality_applied)
