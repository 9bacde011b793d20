"""What the customer's status page says: the status each event moves the ticket to, and its wording."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

STATUS_AFTER: dict[str, str] = {
    "ticketing.ticket.opened": "received",
    "ticketing.ticket.reopened": "received",
    "dispatch.job.assigned": "assigned",
    "dispatch.job.en_route": "en_route",
    "dispatch.job.arrived": "arrived",
    "dispatch.job.completed": "completed",
    "dispatch.job.remote_resolved": "completed",
    "ticketing.ticket.closed": "closed",
    "ticketing.ticket.cancelled": "cancelled",
}
"""Event type -> the ticket's status as the customer sees it (events not listed leave it as it is)."""

ORDER = ("received", "assigned", "en_route", "arrived", "completed", "closed", "cancelled")
"""Later statuses win, so an event that arrives late (another topic) never moves the page backwards;
a reopened ticket (a new visit) starts again at "received"."""

LABELS = {
    "zh-CN": {"received": "已受理", "assigned": "已指派工程师", "en_route": "工程师已出发", "arrived": "工程师已到达",
              "completed": "维修完成", "closed": "已结单", "cancelled": "已取消"},
    "en": {"received": "Received", "assigned": "Engineer assigned", "en_route": "Engineer on the way",
           "arrived": "Engineer arrived", "completed": "Repair completed", "closed": "Closed",
           "cancelled": "Cancelled"},
}


def next_status(current: str | None, event_type: str, *, new_visit: bool = False) -> str | None:
    """The status after an event, never moving backwards within a visit."""
    target = STATUS_AFTER.get(event_type)
    if target is None:
        return current
    if current is None or new_visit:
        return target
    return target if ORDER.index(target) >= ORDER.index(current) else current


def window_text(start: datetime | None, end: datetime | None, tz: ZoneInfo) -> str | None:
    """"06-01 09:00–11:00" in local time (the end's date when it differs)."""
    if end is None:
        return None
    e = end.astimezone(tz)
    if start is None:
        return f"{e:%m-%d %H:%M} 前"
    s = start.astimezone(tz)
    if s.date() == e.date():
        return f"{s:%m-%d %H:%M}–{e:%H:%M}"
    return f"{s:%m-%d %H:%M}–{e:%m-%d %H:%M}"
