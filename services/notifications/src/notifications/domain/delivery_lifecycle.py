"""A delivery's status machine: statuses, allowed moves and the metric outcome each move counts.

(This service publishes no integration events: there is no notifications contract yet; each move is
counted in ``notifications_deliveries_total{outcome}`` instead.)
"""

from __future__ import annotations

STATUSES = ("queued", "held", "sent", "delivered", "undelivered", "failed", "suppressed")
TERMINAL = frozenset({"delivered", "undelivered", "failed", "suppressed"})

MOVES: dict[tuple[str, str], str] = {
    ("queued", "sent"): "sent",
    ("held", "sent"): "sent",
    ("queued", "queued"): "retried",  # retry or failover with backoff
    ("held", "queued"): "retried",
    ("queued", "held"): "held",  # quiet hours or rate limit
    ("held", "held"): "held",
    ("queued", "failed"): "failed",
    ("held", "failed"): "failed",
    ("queued", "suppressed"): "opted_out",
    ("held", "suppressed"): "opted_out",
    ("sent", "delivered"): "delivered",
    ("sent", "undelivered"): "undelivered",
    ("failed", "queued"): "replayed",  # the runbook's replay of a failed batch
}
"""(from, to) -> the metric outcome of the move; a pair not listed is not allowed."""


class IllegalMove(ValueError):
    """A delivery was asked to move where its lifecycle does not go."""


def move(current: str, target: str) -> str:
    """The outcome label of an allowed move; raises IllegalMove otherwise."""
    outcome = MOVES.get((current, target))
    if outcome is None:
        raise IllegalMove(f"a delivery cannot go from {current} to {target}")
    return outcome


def is_due(status: str) -> bool:
    """Whether the sender picks up a delivery in this status (when its time has come)."""
    return status in ("queued", "held")
