"""The zone-day plan's status machine (issue 14): statuses, allowed moves, the events each move emits.

Pure data and one lookup (no I/O, no clock). ``plans/service.py`` applies the moves.

requested --start--> running --finish--> done --publish--> published
                     running --fail----> failed   (the solver raised, or the day is already over)
requested --fail---> failed   (a request left behind by a lost planner worker)
running --start--> running    (a worker re-takes a plan whose worker was lost: started too long ago)

At most one plan per zone-day is requested or running (``ACTIVE``; a partial unique index): a second request
for that zone-day gets the active one. Each new request is the zone-day's next ``version``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aftersales_shared.events import dispatch as ev
from aftersales_shared.events.envelope import IntegrationEvent

REQUESTED: Final = "requested"
RUNNING: Final = "running"
DONE: Final = "done"
PUBLISHED: Final = "published"
FAILED: Final = "failed"

STATUSES = (REQUESTED, RUNNING, DONE, PUBLISHED, FAILED)
ACTIVE = (REQUESTED, RUNNING)
"""A zone-day has at most one plan in these (``uq_plans_one_active_per_zone_day``)."""


@dataclass(frozen=True)
class Move:
    to: str
    events: tuple[type[IntegrationEvent], ...] = ()


TRANSITIONS: dict[tuple[str, str], Move] = {
    (REQUESTED, "start"): Move(RUNNING),
    (RUNNING, "start"): Move(RUNNING),  # re-taken after its worker was lost
    (RUNNING, "finish"): Move(DONE),
    (RUNNING, "fail"): Move(FAILED),
    (REQUESTED, "fail"): Move(FAILED),
    (DONE, "publish"): Move(PUBLISHED, (ev.PlanPublished,)),
}


def allowed(status: str, action: str) -> bool:
    return (status, action) in TRANSITIONS


def move(status: str, action: str) -> Move:
    found = TRANSITIONS.get((status, action))
    if found is None:
        raise ValueError(f"cannot {action} a plan that is {status}")
    return found
