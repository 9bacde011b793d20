"""Liquidated damages for a missed SLA milestone (R-S9): a % of the service value or a fixed amount, as the
dealer's terms in force on the breach date say. Pure: terms and the service value in, the amount (or None) out.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from aftersales_shared.money import to_fen

from .terms import DealerTerms


@dataclass(frozen=True)
class Damages:
    basis: str  # percent | fixed
    amount: Decimal
    percent: Decimal | None = None
    service_value: Decimal | None = None


def service_value_of(terms: DealerTerms, *, repair_fee: Decimal | None, home_visit_fee: Decimal | None) -> Decimal:
    """The value of one service call the percentage is taken of: the terms' own figure, else the dealer's
    contract fees for a repair and its home visit."""
    if terms.sla_service_value is not None:
        return terms.sla_service_value
    return (repair_fee or Decimal(0)) + (home_visit_fee or Decimal(0))


def liquidated_damages(terms: DealerTerms, *, milestone: str, service_value: Decimal) -> Damages | None:
    """The damages one breached milestone costs the dealer, to the fen; None when the terms charge nothing
    (no penalty terms, a milestone they do not cover, or a zero amount)."""
    if milestone not in terms.sla_penalty_milestones:
        return None
    if terms.sla_penalty == "fixed":
        amount = to_fen(terms.sla_penalty_amount)
        return Damages("fixed", amount) if amount > 0 else None
    if terms.sla_penalty == "percent":
        amount = to_fen(service_value * terms.sla_penalty_percent / Decimal(100))
        return Damages("percent", amount, terms.sla_penalty_percent, to_fen(service_value)) if amount > 0 else None
    return None
