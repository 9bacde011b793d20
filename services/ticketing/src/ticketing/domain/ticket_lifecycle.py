"""The ticket's status machine (R-T1, R-T4): statuses, the allowed moves and the events each move writes.

Pure: no I/O, no clock. ``tickets/service.py`` runs a move (row lock, conditional UPDATE, one
``ticket_transitions`` row, the events below in the same unit of work); ``tickets/hotpath.py`` writes the
first move (intake) in batches. Every move except intake writes ``TicketStatusChanged`` as well.

    move      from                  to          events (besides status_changed)
    open      (none: intake)        open        ticketing.ticket.opened (and no status_changed)
    assign    any OPEN_STATUSES     assigned    -
    set_out   any OPEN_STATUSES     en_route    -
    arrive    any OPEN_STATUSES     on_site     -
    pause     any OPEN_STATUSES     paused      -
    resume    any OPEN_STATUSES     on_site     -
    release   any OPEN_STATUSES     open        -   (job declined or cancelled: the ticket waits again)
    close     any OPEN_STATUSES     closed      ticketing.ticket.closed
    cancel    any OPEN_STATUSES     cancelled   ticketing.ticket.cancelled
    reopen    closed, cancelled     open        ticketing.ticket.reopened

A move to the status the ticket already has is no move (nothing is written). One open ticket per serial is a
partial unique index (``uq_tickets_open_serial``); a forced second ticket carries its reason outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN_STATUSES = ("open", "assigned", "en_route", "on_site", "paused")
"""A ticket in one of these is being worked on (and blocks a second ticket for its serial)."""
FINISHED_STATUSES = ("closed", "cancelled")
TICKET_STATUSES = (*OPEN_STATUSES, *FINISHED_STATUSES)
REOPENABLE = FINISHED_STATUSES

STATUS_CHANGED = "ticketing.ticket.status_changed"


@dataclass(frozen=True)
class Move:
    """One allowed move: from which statuses, to which, and the events it writes besides ``status_changed``."""

    allowed_from: tuple[str, ...]
    to: str
    emits: tuple[str, ...] = ()


MOVES: dict[str, Move] = {
    "open": Move((), "open", ("ticketing.ticket.opened",)),
    "assign": Move(OPEN_STATUSES, "assigned"),
    "set_out": Move(OPEN_STATUSES, "en_route"),
    "arrive": Move(OPEN_STATUSES, "on_site"),
    "pause": Move(OPEN_STATUSES, "paused"),
    "resume": Move(OPEN_STATUSES, "on_site"),
    "release": Move(OPEN_STATUSES, "open"),
    "close": Move(OPEN_STATUSES, "closed", ("ticketing.ticket.closed",)),
    "cancel": Move(OPEN_STATUSES, "cancelled", ("ticketing.ticket.cancelled",)),
    "reopen": Move(REOPENABLE, "open", ("ticketing.ticket.reopened",)),
}

JOB_STEP_MOVES: dict[str, str] = {
    "dispatch.job.assigned": "assign",
    "dispatch.job.accepted": "assign",
    "dispatch.job.declined": "release",
    "dispatch.job.en_route": "set_out",
    "dispatch.job.arrived": "arrive",
    "dispatch.job.paused": "pause",
    "dispatch.job.resumed": "resume",
    "dispatch.job.cancelled": "release",
}
"""Which move a dispatch job step makes (events of one job arrive in order per partition)."""


def can_move(current: str | None, move: str) -> bool:
    """Whether ``move`` applies to a ticket in ``current`` (a move to the status it has is no move)."""
    m = MOVES[move]
    return current is not None and current in m.allowed_from and current != m.to


def visit_number(reopens: int) -> int:
    """The ticket's dispatch number: 1, plus one per reopen (a reopen is the only move out of a finished status)."""
    return 1 + reopens
