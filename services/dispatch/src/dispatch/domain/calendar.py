"""Business calendars (R-S7): 24x7 or service hours, China statutory holidays and swapped workdays."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

DEFAULT_TZ = "Asia/Shanghai"
# A calendar with no working time at all would loop forever; no real calendar closes for 10 years.
MAX_SCAN_DAYS = 3660


def require_aware(value: datetime, name: str = "instant") -> datetime:
    """Reject naive datetimes: an instant without an offset is ambiguous across time zones."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone offset")
    return value.astimezone(UTC)


@lru_cache(maxsize=8192)
def _statutory_workday(day: date) -> bool | None:
    """China's statutory answer (holidays and 调休 weekends), or None if the library lacks that year."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


@dataclass(frozen=True)
class BusinessCalendar:
    """When the SLA clock runs. Intervals are minutes after local midnight, [start, end), end <= 1440."""

    code: str
    tz: str = DEFAULT_TZ
    always_open: bool = False
    intervals: tuple[tuple[int, int], ...] = ((8 * 60, 17 * 60),)
    use_statutory: bool = True
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    overrides: Mapping[date, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ZoneInfo(self.tz)  # raises for an unknown zone
        if not self.always_open:
            if not self.intervals:
                raise ValueError("a service-hours calendar needs at least one interval")
            prev_end = -1
            for start, end in self.intervals:
                if not (0 <= start < end <= 1440):
                    raise ValueError(f"bad interval {start}-{end}: need 0 <= start < end <= 1440")
                if start < prev_end:
                    raise ValueError("intervals must be sorted and must not overlap")
                prev_end = end

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def is_working_day(self, day: date) -> bool:
        """Overrides first, then the statutory calendar, then the plain weekday set."""
        if day in self.overrides:
            return self.overrides[day]
        if self.use_statutory:
            statutory = _statutory_workday(day)
            if statutory is not None:
                return statutory
        return day.weekday() in self.weekdays

    def _day_windows(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        zone = self.zone
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        out = []
        for start, end in self.intervals:
            # wall-clock minutes, each converted on its own so DST-observing zones stay right
            s = (midnight + timedelta(minutes=start)).astimezone(UTC)
            e = (midnight + timedelta(minutes=end)).astimezone(UTC)
            out.append((s, e))
        return out

    def windows_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open windows (UTC) that end after ``instant``, clipped to start no earlier than it."""
        instant = require_aware(instant)
        day = instant.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(MAX_SCAN_DAYS):
            for s, e in self._day_windows(day):
                if e > instant:
                    yield max(s, instant), e
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.code} has no working time within {MAX_SCAN_DAYS} days")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when ``duration`` of business time has elapsed after ``start``.

        A zero duration gives the next opening (a report outside hours starts at the next opening).
        """
        start = require_aware(start, "start")
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        if self.always_open:
            return start + duration
        remaining = duration
        for s, e in self.windows_from(start):
            span = e - s
            if remaining <= span:
                return s + remaining
            remaining -= span
        raise AssertionError("unreachable: windows_from raises first")

    def business_between(self, a: datetime, b: datetime) -> timedelta:
        """Business time in [a, b); zero when b <= a."""
        a, b = require_aware(a, "a"), require_aware(b, "b")
        if b <= a:
            return timedelta(0)
        if self.always_open:
            return b - a
        total = timedelta(0)
        for s, e in self.windows_from(a):
            if s >= b:
                break
            total += min(e, b) - s
        return total

    def is_open(self, instant: datetime) -> bool:
        """True when the clock runs at ``instant``."""
        instant = require_aware(instant)
        if self.always_open:
            return True
        s, _e = next(self.windows_from(instant))
        return s == instant


CALENDAR_24X7 = BusinessCalendar(code="24x7", always_open=True)
