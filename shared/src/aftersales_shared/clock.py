"""The one clock every service reads (DESIGN.md §6), and the business time zone.

Code reads the time through :func:`now` (never ``datetime.now()``); pure domain code takes ``now`` as an argument.
In the ``development`` and ``test`` environments the clock can be moved forward (``POST /v1/admin/clock``,
``make simulate``) so that multi-day journeys — a 3-day ship clock, a 30-day old-part deadline, a quarter's
settlement — play in minutes. The offset belongs to the process: every service process is moved on its own
(``make simulate --days`` moves them all). In production the clock cannot be moved.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
"""Where business days, months and quarters are counted unless a calendar says otherwise."""

MOVABLE_ENVIRONMENTS = frozenset({"development", "test"})
MAX_ADVANCE = timedelta(days=400)
"""One move at most: enough for a quarter and its dispute window, small enough to stay inside every range."""

_offset = timedelta(0)


class ClockNotMovable(RuntimeError):
    """The clock was asked to move where it must not (production, or backwards)."""


def now() -> datetime:
    """The current instant, UTC, aware — moved forward by the development offset, if any."""
    return datetime.now(UTC) + _offset


def business_now() -> datetime:
    """The current instant on the business (Asia/Shanghai) wall clock."""
    return now().astimezone(BUSINESS_TZ)


def business_today() -> date:
    """Today's date in Shanghai: what "today" means for ship-by days, months and quarters."""
    return business_now().date()


def business_date(instant: datetime) -> date:
    """The Shanghai calendar date of an aware instant."""
    return instant.astimezone(BUSINESS_TZ).date()


def offset() -> timedelta:
    """How far the clock has been moved forward (zero in production)."""
    return _offset


def can_move(environment: str) -> bool:
    """Whether the clock may be moved in this environment."""
    return environment in MOVABLE_ENVIRONMENTS


def advance(delta: timedelta, *, environment: str) -> datetime:
    """Move the clock forward by ``delta``; refused in production and for a negative or huge step."""
    global _offset
    if not can_move(environment):
        raise ClockNotMovable(f"the clock cannot be moved in the {environment!r} environment")
    if delta < timedelta(0):
        raise ClockNotMovable("the clock only moves forward")
    if delta > MAX_ADVANCE:
        raise ClockNotMovable(f"one move is at most {MAX_ADVANCE.days} days")
    _offset += delta
    return now()


def reset(*, environment: str) -> None:
    """Back to real time (tests use it between cases)."""
    global _offset
    if not can_move(environment):
        raise ClockNotMovable(f"the clock cannot be moved in the {environment!r} environment")
    _offset = timedelta(0)
