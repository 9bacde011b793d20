"""A part request's status machine: statuses, allowed moves, and the event each move emits.

``NEW`` is the state before the request exists. The first move (``NEW`` → allocated / backordered) is made by
the database function ``parts.allocate_request`` (migration parts_0003, ``requests/hotpath.py``), which writes
RequestCreated plus the event of this table; every later move goes through :func:`move` in ``requests/service.py``.
Ship-by at-risk / breached are warnings about a deadline, not moves (``background.py``).
"""

from __future__ import annotations

from enum import StrEnum

from aftersales_shared.events.envelope import IntegrationEvent
from aftersales_shared.events.parts import RequestAllocated, RequestBackordered, RequestDelivered, RequestShipped


class RequestStatus(StrEnum):
    NEW = "new"
    ALLOCATED = "allocated"
    BACKORDERED = "backordered"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


S = RequestStatus

MOVES: dict[tuple[RequestStatus, RequestStatus], type[IntegrationEvent] | None] = {
    (S.NEW, S.ALLOCATED): RequestAllocated,         # every line reserved at creation
    (S.NEW, S.BACKORDERED): RequestBackordered,     # a line waits for stock
    (S.BACKORDERED, S.ALLOCATED): RequestAllocated,  # stock arrived: backorders refilled in ship-by order
    (S.ALLOCATED, S.SHIPPED): RequestShipped,       # gates open (R-P2/R-P3), reserved stock issued
    (S.SHIPPED, S.DELIVERED): RequestDelivered,
    (S.ALLOCATED, S.CANCELLED): None,               # requester cancels, or the job completes/cancels
    (S.BACKORDERED, S.CANCELLED): None,
}
"""(from, to) → the event the move emits (None: the move is silent)."""

OPEN = frozenset({S.ALLOCATED, S.BACKORDERED})
"""Unshipped: payment and documents may still be attached, the request may be cancelled."""


class IllegalMove(ValueError):
    """The status machine has no such move."""


def can_move(current: str, target: RequestStatus) -> bool:
    return (RequestStatus(current), target) in MOVES


def move(current: str, target: RequestStatus) -> type[IntegrationEvent] | None:
    """The event class ``current`` → ``target`` emits (None: silent); IllegalMove when not allowed."""
    key = (RequestStatus(current), target)
    if key not in MOVES:
        raise IllegalMove(f"a part request cannot go from {current} to {target}")
    return MOVES[key]
