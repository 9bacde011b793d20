"""The spare unit's status machine (R-S6): its statuses, every allowed move, the status it leads to and the events it
emits, plus the two pure rules around a loan (when it is due back, whether a job's resolve deadline is at risk).

Pure data and lookups (no I/O, no clock: ``now`` is passed in). ``spares/service.py`` applies a move: it checks it
here, then changes the row with a conditional UPDATE (``WHERE status = <from>``), so two racing moves of one spare
never both happen.

Lending and collecting are announced by the *job's* moves (``lend_spare`` / ``collect_spare`` in
``job_lifecycle.TRANSITIONS`` emit ``dispatch.job.spare_unit_lent`` / ``spare_unit_collected``, which the customer
is told about); the spare's own table therefore names no event for them, only for what the job does not announce
(the overdue reminder).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from aftersales_shared.events import dispatch as ev
from aftersales_shared.events.envelope import IntegrationEvent

AVAILABLE: Final = "available"
LENT: Final = "lent"
IN_REPAIR: Final = "in_repair"
SOLD: Final = "sold"
WRITTEN_OFF: Final = "written_off"

STATUSES = (AVAILABLE, LENT, IN_REPAIR, SOLD, WRITTEN_OFF)
CONVERTED = (SOLD, WRITTEN_OFF)
"""Final statuses: the spare left the pool (sold to the customer, or written off) with a reason."""
CONDITIONS = ("new", "good", "fair", "faulty")
"""A spare's condition; one collected ``faulty`` goes to repair instead of back into the pool."""

STAY: Final = "<stay>"

Events = tuple[type[IntegrationEvent], ...]


@dataclass(frozen=True)
class Move:
    to: str
    events: Events = ()


TRANSITIONS: dict[tuple[str, str], Move] = {
    (AVAILABLE, "lend"): Move(LENT),  # announced by the job's lend_spare move
    (LENT, "collect"): Move(AVAILABLE),  # announced by the job's collect_spare move
    (LENT, "collect_faulty"): Move(IN_REPAIR),  # idem; the spare comes back broken
    (LENT, "remind"): Move(STAY, (ev.SpareUnitOverdue,)),  # past its due-back time, once per loan
    (IN_REPAIR, "repaired"): Move(AVAILABLE),
    **{(s, "sell"): Move(SOLD) for s in (AVAILABLE, LENT, IN_REPAIR)},
    **{(s, "write_off"): Move(WRITTEN_OFF) for s in (AVAILABLE, LENT, IN_REPAIR)},
}
CONVERT_ACTION = {SOLD: "sell", WRITTEN_OFF: "write_off"}


class IllegalSpareMove(ValueError):
    def __init__(self, status: str, action: str) -> None:
        super().__init__(f"cannot {action} a spare unit that is {status}")
        self.status, self.action = status, action


def move(status: str, action: str) -> Move:
    found = TRANSITIONS.get((status, action))
    if found is None:
        raise IllegalSpareMove(status, action)
    return found


def target(m: Move, current: str) -> str:
    return current if m.to == STAY else m.to


def collect_action(condition: str) -> str:
    """A spare collected faulty goes to repair; any other condition puts it back into the pool."""
    return "collect_faulty" if condition == "faulty" else "collect"


def due_back(lent_at: datetime, term: timedelta) -> datetime:
    """When a spare lent at ``lent_at`` is due back (``term``: the loan term in force)."""
    return lent_at + term


def is_overdue(status: str, due_back_at: datetime | None, now: datetime) -> bool:
    return status == LENT and due_back_at is not None and due_back_at <= now


def resolve_at_risk(warnings_sent: list[Any], pauses: list[dict[str, Any]], resolve_minutes: int | None,
                    now: datetime, *, parts_wait_fraction: float) -> str | None:
    """Why a job's resolve deadline is at risk (None: it is not): the SLA watcher already warned (or breached) on
    ``resolve``, or the job has been waiting for parts (open pause) longer than ``parts_wait_fraction`` of its
    resolve time."""
    if any(str(k).startswith("resolve:") for k in warnings_sent):
        return "resolve_warning"
    open_pause = next((p for p in pauses if p.get("end") is None and p.get("reason") == "waiting_parts"), None)
    if open_pause is not None and resolve_minutes:
        waited = now - datetime.fromisoformat(open_pause["start"])
        if waited >= timedelta(minutes=resolve_minutes * parts_wait_fraction):
            return "waiting_parts"
    return None
