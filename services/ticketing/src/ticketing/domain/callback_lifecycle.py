"""The callback task's status machine (R-T5): statuses, allowed moves and the event each move writes. Pure.

    move      from     to       event
    create    (none)   pending  -    (one per completed repair, from dispatch's JobCompleted)
    record    pending  done     ticketing.callback.recorded
"""

from __future__ import annotations

from .ticket_lifecycle import Move

CALLBACK_STATUSES = ("pending", "done")
CALLBACK_TARGET = 0.25
"""R-T5: at least 25 % of a month's repairs are called back."""

MOVES: dict[str, Move] = {
    "create": Move((), "pending"),
    "record": Move(("pending",), "done", ("ticketing.callback.recorded",)),
}
