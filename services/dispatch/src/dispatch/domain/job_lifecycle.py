"""The job's status machine: its statuses, every allowed move, the status it leads to and the events it emits.

Pure data and one lookup (no I/O, no clock). ``jobs/service.py`` applies a move generically: it checks the move
here, runs the action's own side effect (offer row, GPS fix, service record, ...), ends an open pause when the
job leaves ``paused``, sets the status, frees the engineer's capacity when the job leaves a holding status,
emits the move's events and, when the job is back in the queue, offers it to the next candidate.

Engineer-app actions and system moves (offer, offer expiry, manual assignment, cancellation, parts delivered)
share the one table, so "what can happen to a job in status X" is answered in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aftersales_shared.events import dispatch as ev
from aftersales_shared.events.envelope import IntegrationEvent

QUEUED: Final = "queued"
OFFERED: Final = "offered"
ACCEPTED: Final = "accepted"
EN_ROUTE: Final = "en_route"
ON_SITE: Final = "on_site"
PAUSED: Final = "paused"
COMPLETED: Final = "completed"
REMOTE_RESOLVED: Final = "remote_resolved"
CANCELLED: Final = "cancelled"

OPEN_STATUSES = (QUEUED, OFFERED, ACCEPTED, EN_ROUTE, ON_SITE, PAUSED)
TERMINAL = (COMPLETED, REMOTE_RESOLVED, CANCELLED)
HOLDING = (OFFERED, ACCEPTED, EN_ROUTE, ON_SITE, PAUSED)
"""Statuses in which the job takes one unit of its engineer's capacity; leaving them frees it."""

STAY: Final = "<stay>"
"""Pseudo-status of a move that leaves the status as it is (a spare unit lent or collected)."""
BEFORE_PAUSE: Final = "<before pause>"
"""Pseudo-status of a resume: the status the job had when the pause began (on site when unknown)."""

APP_ACTIONS = ("accept", "decline", "depart", "arrive", "pause", "resume", "remote_resolve", "lend_spare",
               "collect_spare", "complete")
"""What the engineer app may send (``POST /v1/jobs/{id}/actions``)."""
SYSTEM_MOVES = ("offer", "expire", "assign", "cancel", "parts_delivered", "unassign")
"""What dispatch itself does: offer to a candidate, expire an unanswered offer, a dispatcher's manual
assignment, the ticket's cancellation (or a reopen superseding the job), a parts delivery resuming the job, a
job taken back from an absent engineer (a re-plan left it unplanned)."""

Events = tuple[type[IntegrationEvent], ...]


@dataclass(frozen=True)
class Move:
    to: str
    events: Events = ()


_STEPS = (ACCEPTED, EN_ROUTE, ON_SITE)  # the engineer holds the job and is working towards it

TRANSITIONS: dict[tuple[str, str], Move] = {
    # --- engineer app
    (OFFERED, "accept"): Move(ACCEPTED, (ev.JobAccepted,)),
    (OFFERED, "decline"): Move(QUEUED, (ev.JobDeclined,)),
    (ACCEPTED, "depart"): Move(EN_ROUTE, (ev.JobEnRoute,)),
    (ACCEPTED, "arrive"): Move(ON_SITE, (ev.JobArrived,)),
    (EN_ROUTE, "arrive"): Move(ON_SITE, (ev.JobArrived,)),
    **{(s, "pause"): Move(PAUSED, (ev.JobPaused,)) for s in _STEPS},
    (PAUSED, "resume"): Move(BEFORE_PAUSE, (ev.JobResumed,)),
    **{(s, "remote_resolve"): Move(REMOTE_RESOLVED, (ev.JobRemoteResolved, ev.JobCompleted)) for s in _STEPS},
    (ON_SITE, "lend_spare"): Move(STAY, (ev.SpareUnitLent,)),  # R-S6
    (PAUSED, "lend_spare"): Move(STAY, (ev.SpareUnitLent,)),
    **{(s, "collect_spare"): Move(STAY, (ev.SpareUnitCollected,)) for s in _STEPS},
    (ON_SITE, "complete"): Move(COMPLETED, (ev.JobCompleted,)),
    # --- dispatch itself
    (QUEUED, "offer"): Move(OFFERED, (ev.JobOffered, ev.JobAssigned)),
    (OFFERED, "expire"): Move(QUEUED),  # no event: the next offer (or the queue) says it all
    **{(s, "unassign"): Move(QUEUED) for s in (OFFERED, ACCEPTED)},  # as expire; the plan lists it unplanned
    **{(s, "assign"): Move(ACCEPTED, (ev.JobAssigned,)) for s in (QUEUED, OFFERED, ACCEPTED)},
    **{(s, "cancel"): Move(CANCELLED, (ev.JobCancelled,)) for s in OPEN_STATUSES},
    (PAUSED, "parts_delivered"): Move(BEFORE_PAUSE, (ev.JobResumed,)),
}


class IllegalMove(ValueError):
    """The action is not allowed in the job's current status."""

    def __init__(self, status: str, action: str) -> None:
        super().__init__(f"cannot {action} a job that is {status}")
        self.status, self.action = status, action


def allowed(status: str, action: str) -> bool:
    return (status, action) in TRANSITIONS


def move(status: str, action: str) -> Move:
    """The move ``action`` makes from ``status``; IllegalMove when there is none."""
    found = TRANSITIONS.get((status, action))
    if found is None:
        raise IllegalMove(status, action)
    return found


def target(m: Move, current: str, *, before_pause: str | None) -> str:
    """The status a move leads to, its pseudo-statuses resolved (``before_pause``: the ended pause's status)."""
    if m.to == STAY:
        return current
    if m.to == BEFORE_PAUSE:
        return before_pause or ON_SITE
    return m.to


def holds_capacity(status: str) -> bool:
    return status in HOLDING
