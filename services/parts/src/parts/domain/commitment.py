"""R-P1: the ship-by commitment and its at-risk / breached classification."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class CommitmentState(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"


def ship_by(
    shippable_at: datetime, *, days: int = 3, calendar: str = "calendar", tz: ZoneInfo | str = "Asia/Shanghai"
) -> datetime:
    """The latest ship time: ``days`` after the request became shippable (R-P1).

    ``calendar`` counts every day; ``business`` skips Saturdays and Sundays in the business time zone
    (a request arriving on a weekend starts counting on the next working day).
    """
    if shippable_at.tzinfo is None:
        raise ValueError("shippable_at must be timezone-aware")
    if days < 0:
        raise ValueError("days must be >= 0")
    if calendar == "calendar":
        return shippable_at + timedelta(days=days)
    if calendar != "business":
        raise ValueError(f"unknown calendar {calendar!r}")
    local = shippable_at.astimezone(tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz))
    if local.weekday() >= 5:  # weekend: the clock starts at the next Monday 00:00
        local = (local + timedelta(days=7 - local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    left = days
    while left > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            left -= 1
    return local.astimezone(shippable_at.tzinfo)


def classify(due: datetime, now: datetime, *, at_risk_window: timedelta = timedelta(hours=24)) -> CommitmentState:
    """Breached once ``now`` is past ``due``; at risk when less than the window is left."""
    if now > due:
        return CommitmentState.BREACHED
    if due - now < at_risk_window:
        return CommitmentState.AT_RISK
    return CommitmentState.ON_TRACK
