"""One ledger line (R-D1, R-D8): the pure part of booking a fact — its quarter on the Shanghai calendar, the
quarter it is settled in, its amount rounded once to the fen. No I/O: ``ledger/service.py`` adds the one thing
that needs the database (moving a fact whose quarter is closed into the next open one) and writes the row.

Every value a producer's shared boundary types accept (``BusinessDate``/``BusinessDateTime`` in
2000-01-01…2199-12-31, ``Money``) gives a line here; ``tests/settlement/test_booking_range.py`` proves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from aftersales_shared.money import MAX_AMOUNT, to_fen

from .quarters import Quarter, business_noon, quarter_of, settled_in

MAX_QUANTITY = 2**31 - 1
"""The largest quantity the ledger's INTEGER column holds."""


@dataclass(frozen=True)
class LedgerLine:
    """A fact ready to book: ``quarter`` is its own, ``settle_from`` the first quarter it may be settled in."""

    dealer_id: str
    kind: str
    occurred_at: datetime
    quarter: Quarter
    settle_from: Quarter
    amount: Decimal
    quantity: int


def instant_of(moment: datetime | date) -> datetime:
    """Where a fact is placed in time: an instant as given (a naive one read as UTC), a bare date at its
    Shanghai noon."""
    if isinstance(moment, datetime):
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return business_noon(moment)


def ledger_line(*, dealer_id: str, kind: str, kinds: tuple[str, ...], occurred_at: datetime | date,
                amount: Decimal | int | str = 0, quantity: int = 1) -> LedgerLine:
    """The line for one fact; ``ValueError`` only for what no producer may send (an unknown kind, an amount
    or quantity the ledger's columns cannot hold)."""
    if kind not in kinds:
        raise ValueError(f"unknown ledger kind {kind!r}")
    value = Decimal(amount)
    fen = to_fen(value) if value.is_finite() and abs(value) <= MAX_AMOUNT + 1 else None
    if fen is None or abs(fen) > MAX_AMOUNT:
        raise ValueError(f"amount {value} does not fit NUMERIC(14,2)")
    if not 0 <= quantity <= MAX_QUANTITY:
        raise ValueError(f"quantity {quantity} out of range")
    at = instant_of(occurred_at)
    own = quarter_of(at)
    return LedgerLine(dealer_id=dealer_id, kind=kind, occurred_at=at, quarter=own, settle_from=settled_in(own),
                      amount=fen, quantity=quantity)
