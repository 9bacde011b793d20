"""The one rounding rule (R-D8): ROUND_HALF_UP to the fen, applied exactly once per statement line.

Every line amount is computed with full Decimal precision from its inputs and rounded once; totals are
plain sums of the rounded lines, so a total always equals the sum of the lines shown to the dealer.
"""

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def to_fen(value: Decimal | int | str) -> Decimal:
    """Round a money value to the fen, half up (the only rounding in settlement)."""
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def pct_of(base: Decimal, percent: Decimal) -> Decimal:
    """``percent`` % of ``base``, rounded once."""
    return to_fen(Decimal(base) * Decimal(percent) / Decimal(100))
