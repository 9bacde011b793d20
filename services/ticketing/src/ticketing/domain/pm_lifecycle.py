"""A PM occurrence's status machine (R-S10; issue 16 item 4). Pure data.

    move      from              to         event
    generate  (none)            due        -
    schedule  due               scheduled  -   (a visit/inspection: its maintenance ticket is open)
    record    due/scheduled/    completed  -   (the checklist result, the service record)
              missed
    miss      due/scheduled     missed     ticketing.pm.missed (the window closed without a result: an SLA event)

A call occurrence is a call-center task from ``due``; a result recorded after the window closed still completes
a missed occurrence (``missed_at`` stays on it).
"""

from __future__ import annotations

from .ticket_lifecycle import Move

PM_STATUSES = ("due", "scheduled", "completed", "missed")
PM_MISSED = "ticketing.pm.missed"

MOVES: dict[str, Move] = {
    "generate": Move((), "due"),
    "schedule": Move(("due",), "scheduled"),
    "record": Move(("due", "scheduled", "missed"), "completed"),
    "miss": Move(("due", "scheduled"), "missed", (PM_MISSED,)),
}
