"""Customer contract terms, pure (issue 16): a change dated D applies to facts of D and later, never before
(R-S8 routing times, R-S6 loan term, R-S9 damages); the damages to the fen."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from aftersales_shared.terms import TermChange
from dispatch.domain.contract_terms import ContractTerms, breach_credit, resolve, routing_due

DEFAULTS = {"routing_flag_minutes": 120, "routing_escalate_minutes": 240, "spare_due_back_hours": 168}
days = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))


@given(change_on=days, fact_on=days, flag=st.integers(1, 600), hours=st.integers(1, 1000))
def test_R_S8_R_S6_a_change_dated_the_10th_applies_from_the_10th_not_before(change_on, fact_on, flag, hours):
    ch = TermChange(change_on, 1, {"routing_flag_minutes": flag, "spare_due_back_hours": hours})
    terms, found = resolve(DEFAULTS, [ch], fact_on)
    if fact_on >= change_on:
        assert (terms.routing_flag_minutes, terms.spare_due_back_hours, terms.version) == (flag, hours, 1)
        assert found.source["routing_flag_minutes"] == 1
    else:
        assert (terms.routing_flag_minutes, terms.spare_due_back_hours, terms.version) == (120, 168, None)
        assert found.source["routing_flag_minutes"] is None
    assert terms.routing_escalate_minutes == 240  # a term the change did not set keeps its default


@given(first=days, gap=st.integers(0, 60), fact_on=days)
def test_R_S8_a_later_change_wins_from_its_own_date_and_ties_go_to_the_higher_version(first, gap, fact_on):
    second = first + timedelta(days=gap)
    changes = [TermChange(second, 2, {"routing_escalate_minutes": 300}),
               TermChange(first, 1, {"routing_escalate_minutes": 200})]
    got = resolve(DEFAULTS, changes, fact_on)[0].routing_escalate_minutes
    assert got == (300 if fact_on >= second else 200 if fact_on >= first else 240)


@given(value=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2),
       pct=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100"), places=4))
def test_R_S9_percent_damages_are_rounded_half_up_to_the_fen(value, pct):
    terms = ContractTerms(sla_penalty="percent", sla_penalty_percent=pct, sla_service_value=value)
    c = breach_credit(terms, "arrive")
    exact = value * pct / 100
    if exact < Decimal("0.005"):
        assert c is None
    else:
        assert c is not None and c.amount == exact.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert c.amount.as_tuple().exponent == -2


def test_R_S9_no_damages_without_penalty_terms_for_an_uncovered_milestone_or_without_a_value():
    assert breach_credit(ContractTerms(), "arrive") is None
    assert breach_credit(ContractTerms(sla_penalty="fixed", sla_penalty_amount=Decimal("50")), "respond") is None
    assert breach_credit(ContractTerms(sla_penalty="percent"), "arrive") is None  # no service value
    fixed = breach_credit(ContractTerms(sla_penalty="fixed", sla_penalty_amount=Decimal("50.005")), "resolve")
    assert fixed is not None and (fixed.basis, fixed.amount) == ("fixed", Decimal("50.01"))
    ten = breach_credit(ContractTerms(sla_penalty="percent", sla_service_value=Decimal("333.35")), "arrive")
    assert ten is not None and ten.amount == Decimal("33.34")  # 10 % default: 33.335 → 33.34


def test_R_S8_flag_and_escalate_by_the_terms():
    t = ContractTerms(routing_flag_minutes=30, routing_escalate_minutes=60)
    assert routing_due(t, timedelta(minutes=29)) == (False, False)
    assert routing_due(t, timedelta(minutes=30)) == (True, False)
    assert routing_due(t, timedelta(minutes=60)) == (True, True)


def test_R_S10_R_S9_a_missed_pm_visit_costs_the_pm_missed_terms_to_the_fen_default_nothing():
    from dispatch.domain.contract_terms import pm_missed_credit

    assert pm_missed_credit(ContractTerms()) is None  # the default: none
    assert pm_missed_credit(ContractTerms(sla_penalty="fixed", sla_penalty_amount=Decimal("80"))) is None  # not PM
    fixed = pm_missed_credit(ContractTerms(pm_missed_penalty="fixed", pm_missed_amount=Decimal("12.305")))
    assert fixed is not None and (fixed.basis, fixed.amount) == ("fixed", Decimal("12.31"))
    pct = pm_missed_credit(ContractTerms(pm_missed_penalty="percent", pm_missed_percent=Decimal("10"),
                                         sla_service_value=Decimal("333.35")))
    assert pct is not None and (pct.basis, pct.amount, pct.service_value) == ("percent", Decimal("33.34"),
                                                                              Decimal("333.35"))
    assert pm_missed_credit(ContractTerms(pm_missed_penalty="percent", pm_missed_percent=Decimal("10"))) is None
    assert resolve({}, [TermChange(date(2026, 11, 10), 1, {"retention_years": 10})],
                   date(2026, 11, 9))[0].retention_years == 5  # R-T4: from its date, not before
