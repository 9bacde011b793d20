"""An expected old-part return's status machine (R-P4): statuses, allowed moves, the event each move emits.

``NEW`` is the state before the row exists: the return becomes due when a dealer's warranty request ships or a
warranty job completes (``returns/service.py create_expected``). It is received (appraised reusable or scrap) or,
past its due date, missed — which charges the dealer the cost price (``background.py`` → ``mark_missed``).
"""

from __future__ import annotations

from enum import StrEnum

from aftersales_shared.events.envelope import IntegrationEvent
from aftersales_shared.events.parts import ReturnDue, ReturnMissed, ReturnReceived


class ReturnStatus(StrEnum):
    NEW = "new"
    DUE = "due"
    RECEIVED = "received"
    MISSED = "missed"


S = ReturnStatus

MOVES: dict[tuple[ReturnStatus, ReturnStatus], type[IntegrationEvent]] = {
    (S.NEW, S.DUE): ReturnDue,
    (S.DUE, S.RECEIVED): ReturnReceived,
    (S.DUE, S.MISSED): ReturnMissed,  # with the chargeback at cost price
}
"""(from, to) → the event the move emits."""


class IllegalMove(ValueError):
    """The status machine has no such move."""


def can_move(current: str, target: ReturnStatus) -> bool:
    return (ReturnStatus(current), target) in MOVES


def move(current: str, target: ReturnStatus) -> type[IntegrationEvent]:
    """The event class ``current`` → ``target`` emits; IllegalMove when not allowed."""
    key = (ReturnStatus(current), target)
    if key not in MOVES:
        raise IllegalMove(f"an old-part return cannot go from {current} to {target}")
    return MOVES[key]
