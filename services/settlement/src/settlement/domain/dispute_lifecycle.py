"""The dispute's status machine (R-D6): a dealer opens it within the dispute window of its terms
(``domain/terms.py``, 3 months by default) after the statement; finance accepts
(an adjustment is booked into a later statement) or rejects it, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aftersales_shared.events.envelope import IntegrationEvent
from aftersales_shared.events.settlement import DisputeOpened, DisputeResolved


class DisputeStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class DisputeAction(StrEnum):
    OPEN = "open"
    ACCEPT = "accept"
    REJECT = "reject"


@dataclass(frozen=True)
class Move:
    source: DisputeStatus | None  # None: the dispute does not exist yet
    target: DisputeStatus
    event: type[IntegrationEvent]
    books_adjustment: bool = False


MOVES: dict[DisputeAction, Move] = {
    DisputeAction.OPEN: Move(None, DisputeStatus.OPEN, DisputeOpened),
    DisputeAction.ACCEPT: Move(DisputeStatus.OPEN, DisputeStatus.ACCEPTED, DisputeResolved, books_adjustment=True),
    DisputeAction.REJECT: Move(DisputeStatus.OPEN, DisputeStatus.REJECTED, DisputeResolved),
}


def resolution(accept: bool) -> DisputeAction:
    """The move a resolve request asks for."""
    return DisputeAction.ACCEPT if accept else DisputeAction.REJECT
