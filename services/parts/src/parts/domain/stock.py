"""The stock ledger's movement kinds and how each changes on-hand / reserved."""

from __future__ import annotations

from enum import StrEnum


class Movement(StrEnum):
    RECEIPT = "receipt"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    RESERVE = "reserve"
    RELEASE = "release"
    ISSUE = "issue"              # a reserved unit leaves stock
    ISSUE_UNRESERVED = "issue_unreserved"  # e.g. taken from an engineer's van on site
    RETURN = "return"            # a reusable old part back to stock (refurbished)
    ADJUST = "adjust"
    SCRAP = "scrap"


def deltas(kind: Movement, quantity: int) -> tuple[int, int]:
    """(on_hand delta, reserved delta) of a movement; ``quantity`` may be negative only for adjust."""
    if kind is not Movement.ADJUST and quantity <= 0:
        raise ValueError("quantity must be positive")
    if kind is Movement.ADJUST and quantity == 0:
        raise ValueError("an adjustment must change the stock")
    return {
        Movement.RECEIPT: (quantity, 0),
        Movement.TRANSFER_IN: (quantity, 0),
        Movement.RETURN: (quantity, 0),
        Movement.TRANSFER_OUT: (-quantity, 0),
        Movement.SCRAP: (-quantity, 0),
        Movement.ISSUE_UNRESERVED: (-quantity, 0),
        Movement.RESERVE: (0, quantity),
        Movement.RELEASE: (0, -quantity),
        Movement.ISSUE: (-quantity, -quantity),
        Movement.ADJUST: (quantity, 0),
    }[kind]


def balance_ok(on_hand: int, reserved: int) -> bool:
    """The invariant the stock_balances CHECK constraints enforce."""
    return on_hand >= 0 and reserved >= 0 and reserved <= on_hand
