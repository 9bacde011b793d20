"""The dealer service agreement's terms (issue 16): R-T5 callback target, R-D5 payment term, R-D6 dispute
window, R-D7 excellence thresholds, R-S9 liquidated damages, R-T4 retention. Pure: the configured defaults and
the recorded changes in, the typed terms in force on a date out (``aftersales_shared.terms.in_force``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from aftersales_shared.terms import InForce, TermChange, in_force


@dataclass(frozen=True)
class DealerTerms:
    """One dealer's terms in force on a date (``version``: the latest change that set any of them, or None)."""

    callback_target_percent: Decimal = Decimal("25")
    payment_days: int = 20
    dispute_window_months: int = 3
    excellence_complaints_per_mille: Decimal = Decimal("1")
    excellence_satisfaction_percent: Decimal = Decimal("98")
    excellence_feedback_percent: Decimal = Decimal("90")
    sla_penalty: str = "none"  # none | percent | fixed
    sla_penalty_percent: Decimal = Decimal("10")
    sla_penalty_amount: Decimal = Decimal("0")
    sla_penalty_milestones: tuple[str, ...] = ("arrive", "resolve")
    sla_service_value: Decimal | None = None  # None: the contract's repair fee + home-visit fee
    retention_years: int = 5  # R-T4: records kept at least this long after their period (retention/)
    purge_after_years: int = 10  # R-T4: archived records purged this long after they were archived (retention/)
    card_registration_days: int = 20  # R-W10: days after the sale to return the warranty card
    assessment_issue_by_day: int = 5  # R-D7: the month's assessment is issued by this day of the next month
    assessment_grade_a: Decimal = Decimal("90")  # R-D7: score at least this is grade A
    assessment_grade_b: Decimal = Decimal("75")
    assessment_grade_c: Decimal = Decimal("60")  # below: D
    version: int | None = None


TERM_NAMES: tuple[str, ...] = tuple(f.name for f in fields(DealerTerms) if f.name != "version")
_DECIMALS = frozenset({"callback_target_percent", "excellence_complaints_per_mille",
                       "excellence_satisfaction_percent", "excellence_feedback_percent", "sla_penalty_percent",
                       "sla_penalty_amount", "sla_service_value", "assessment_grade_a", "assessment_grade_b",
                       "assessment_grade_c"})
_INTS = frozenset({"payment_days", "dispute_window_months", "retention_years", "card_registration_days",
                   "assessment_issue_by_day", "purge_after_years"})


def _typed(name: str, value: Any) -> Any:
    """A term's value as stored (JSON: amounts as strings) → its Python type."""
    if value is None:
        return None
    if name in _DECIMALS:
        return Decimal(str(value))
    if name in _INTS:
        return int(value)
    if name == "sla_penalty_milestones":
        return tuple(value)
    return str(value)


def resolve(defaults: Mapping[str, Any], changes: Iterable[TermChange], on: date) -> tuple[DealerTerms, InForce]:
    """The dealer's terms in force on ``on`` (and where each came from): a change dated D applies to facts of
    D and later, never to earlier ones."""
    found = in_force({k: defaults.get(k, getattr(DealerTerms, k)) for k in TERM_NAMES}, changes, on)
    versions = [v for v in found.source.values() if v is not None]
    terms = DealerTerms(**{k: _typed(k, v) for k, v in found.values.items()},
                        version=max(versions) if versions else None)
    return terms, found


def callback_target(terms: DealerTerms) -> Decimal:
    """R-T5: the share of a month's repairs that must be called back, as a fraction."""
    return terms.callback_target_percent / Decimal(100)


def grade_floors(terms: DealerTerms) -> tuple[tuple[Decimal, str], ...]:
    """R-D7: the issued assessment's grade floors (A, B, C; below the last: D) of the dealer's terms."""
    return ((terms.assessment_grade_a, "A"), (terms.assessment_grade_b, "B"), (terms.assessment_grade_c, "C"))


def grade_floors_problem(terms: DealerTerms) -> str | None:
    """Why the grade floors cannot stand together (None: they can): A ≥ B ≥ C."""
    if not terms.assessment_grade_a >= terms.assessment_grade_b >= terms.assessment_grade_c:
        return (f"grade floors must not rise from A to C: A {terms.assessment_grade_a}, B "
                f"{terms.assessment_grade_b}, C {terms.assessment_grade_c} (R-D7)")
    return None


def card_not_reimbursable(*, sold_on: date | None, registered_on: date | None, on: date, days: int) -> str | None:
    """R-W10: why a repair on ``on`` of a unit is not reimbursed to the dealer (None: it is). The card is due
    within ``days`` of the sale (the day of sale is day 0): a card registered later is late; a card not registered
    when the repair is done is missing unless its deadline is still running (a sale date not on record has no
    deadline to run, and cannot make a registered card late)."""
    if registered_on is None:
        if sold_on is not None and (on - sold_on).days <= days:
            return None
        return f"warranty card not registered (R-W10: due within {days} days of the sale)"
    if sold_on is not None and (registered_on - sold_on).days > days:
        return (f"warranty card registered late: {(registered_on - sold_on).days} days after the sale, the "
                f"contract allows {days} (R-W10)")
    return None
