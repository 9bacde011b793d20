"""Money (R-D8): CNY as ``Decimal``, exact to the fen, with the one rounding rule written down once.

Amounts are computed unrounded and rounded once, where a line is booked: ROUND_HALF_UP to the fen
(0.005 → 0.01), as Chinese invoices do. Stored as ``NUMERIC(14,2)``; on the wire an exact string.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer

FEN = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")
"""The largest amount ``NUMERIC(14,2)`` holds."""


def to_fen(value: Decimal | int | str) -> Decimal:
    """``value`` rounded half-up to the fen."""
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def money_str(value: Decimal) -> str:
    """An amount as the exact string that leaves every service ("110.50", never a float)."""
    return format(to_fen(value), "f")


DecimalText = PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")
"""A ``Decimal`` in JSON as its exact plain string ("12.5000", never a float or "1.25E+1")."""

Money = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, max_digits=14, decimal_places=2), DecimalText]
"""A non-negative amount in CNY as accepted from and returned to clients (an exact string in JSON)."""

SignedMoney = Annotated[Decimal, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, max_digits=14, decimal_places=2), DecimalText]
"""An amount that may be negative (a deduction, a credit)."""

Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4), DecimalText]
"""A contract's percentage term (0-100, four decimals), an exact string in JSON."""
