"""The complaint's status machine (R-T6): statuses, allowed moves and the event each move writes. Pure.

    move      from    to        event
    file      (none)  open      ticketing.complaint.filed
    resolve   open    resolved  ticketing.complaint.resolved

A complaint is due ``respond_by`` (filed_at + the category's hours, configuration); an open one past it is overdue.
"""

from __future__ import annotations

from datetime import datetime

from .ticket_lifecycle import Move

COMPLAINT_STATUSES = ("open", "resolved")

MOVES: dict[str, Move] = {
    "file": Move((), "open", ("ticketing.complaint.filed",)),
    "resolve": Move(("open",), "resolved", ("ticketing.complaint.resolved",)),
}


def is_overdue(status: str, respond_by: datetime, now: datetime) -> bool:
    """An open complaint past its response deadline (R-T6)."""
    return status == "open" and now > respond_by
