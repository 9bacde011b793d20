"""Money rules for parts: urgent surcharge (R-P6), chargeback at cost (R-P4).

Rounding is the platform's one rule, ``aftersales_shared.money.to_fen`` (half-up to the fen)."""

from __future__ import annotations

from decimal import Decimal

from aftersales_shared.money import to_fen


def urgent_surcharge(
    *, urgent: bool, standard_freight: Decimal | None, urgent_freight: Decimal | None, default: Decimal
) -> Decimal:
    """The price difference of urgent shipping paid by the dealer (R-P6); zero when not urgent.

    With both freights known the dealer pays their difference (never negative); otherwise the
    configured default surcharge applies.
    """
    if not urgent:
        return Decimal("0.00")
    if standard_freight is not None and urgent_freight is not None:
        return to_fen(max(urgent_freight - standard_freight, Decimal("0")))
    return to_fen(default)


def chargeback(*, cost_price: Decimal, quantity: int) -> Decimal:
    """An old part not returned is charged to the dealer at cost price (R-P4)."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    return to_fen(cost_price * quantity)
