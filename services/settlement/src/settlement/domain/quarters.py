"""Settlement quarters (R-D1) on the Asia/Shanghai business calendar.

Statements are run for 2000Q1–2199Q4, the quarters of the shared business range
(``aftersales_shared.schemas.BUSINESS_DATE_MIN/MAX``). A ``Quarter`` value reaches one quarter further on
each side: an instant a producer accepts as 2000-01-01 in a timezone east of Shanghai is still 1999-12-31
here, one dated 2199-12-31 west of Shanghai is already 2200-01-01, and a late fact for a closed 2199Q4 is
booked into 2200Q1. Such facts are booked, never refused (see ``domain/ledger.py``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from aftersales_shared.clock import BUSINESS_TZ
from aftersales_shared.schemas import BUSINESS_DATE_MAX, BUSINESS_DATE_MIN

_QRE = re.compile(r"^(\d{4})Q([1-4])$")
MIN_YEAR = BUSINESS_DATE_MIN.year - 1
MAX_YEAR = BUSINESS_DATE_MAX.year + 1
"""The years a ``Quarter`` may name: the business range seen on the Shanghai calendar, plus the late quarter."""


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter such as 2026Q3."""

    year: int
    q: int

    def __post_init__(self) -> None:
        if not 1 <= self.q <= 4 or not MIN_YEAR <= self.year <= MAX_YEAR:
            raise ValueError(f"invalid quarter {self.year}Q{self.q}")

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """Parse '2026Q3'."""
        m = _QRE.match(text.strip())
        if not m:
            raise ValueError(f"quarter must look like 2026Q3, got {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @property
    def first_month(self) -> int:
        return 3 * (self.q - 1) + 1

    def months(self) -> list[tuple[int, int]]:
        """The three (year, month) pairs of the quarter."""
        return [(self.year, self.first_month + i) for i in range(3)]

    def start_date(self) -> date:
        return date(self.year, self.first_month, 1)

    def end_date(self) -> date:
        """Last calendar day of the quarter."""
        m = self.first_month + 2
        return date(self.year, m, calendar.monthrange(self.year, m)[1])

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) of the quarter as UTC instants (Shanghai midnight boundaries)."""
        start = datetime.combine(self.start_date(), datetime.min.time(), BUSINESS_TZ)
        end = datetime.combine(self.next().start_date(), datetime.min.time(), BUSINESS_TZ)
        return start.astimezone(UTC), end.astimezone(UTC)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.q == 4 else Quarter(self.year, self.q + 1)

    def prev(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.q == 1 else Quarter(self.year, self.q - 1)


FIRST_QUARTER = Quarter(BUSINESS_DATE_MIN.year, 1)
LAST_QUARTER = Quarter(BUSINESS_DATE_MAX.year, 4)
"""The quarters a statement may be run for (2000Q1–2199Q4, the shared ``Quarter`` type)."""


def settled_in(quarter: Quarter) -> Quarter:
    """The runnable quarter a fact of ``quarter`` is settled in: its own, or the nearest edge of the range
    (a 1999Q4 instant is settled in 2000Q1, a 2200Q1 one in 2199Q4, visibly, as a late line)."""
    return min(max(quarter, FIRST_QUARTER), LAST_QUARTER)


def quarter_of(instant: datetime) -> Quarter:
    """The quarter an instant falls in, on the Shanghai calendar (naive datetimes are refused)."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    local = instant.astimezone(BUSINESS_TZ)
    return Quarter(local.year, (local.month - 1) // 3 + 1)


def quarter_of_date(day: date) -> Quarter:
    """The quarter a (Shanghai) calendar date falls in."""
    return Quarter(day.year, (day.month - 1) // 3 + 1)


def local_date(instant: datetime) -> date:
    """The Shanghai calendar date of an instant."""
    return instant.astimezone(BUSINESS_TZ).date()


def business_noon(day: date) -> datetime:
    """Noon of a Shanghai calendar day, as a UTC instant: where a fact known only by its date is booked."""
    return datetime.combine(day, time(12, 0), BUSINESS_TZ).astimezone(UTC)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of the Shanghai calendar month that ``month`` falls in, as aware instants."""
    first = month.replace(day=1)
    return (datetime.combine(first, time.min, BUSINESS_TZ),
            datetime.combine(add_months(first, 1), time.min, BUSINESS_TZ))


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's last day."""
    total = day.year * 12 + (day.month - 1) + months
    y, m = divmod(total, 12)
    return date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def prev_month(ym: tuple[int, int]) -> tuple[int, int]:
    y, m = ym
    return (y - 1, 12) if m == 1 else (y, m - 1)


def due_on(approved_at: datetime, days: int = 20) -> date:
    """Payment due date (R-D5): ``days`` after approval, on the Shanghai calendar."""
    return local_date(approved_at) + timedelta(days=days)


def dispute_deadline(issued_at: datetime, months: int = 3) -> date:
    """Last Shanghai day on which a statement may be disputed (R-D6)."""
    return add_months(local_date(issued_at), months)


def dispute_allowed(issued_at: datetime, now: datetime, months: int = 3) -> bool:
    """A dispute is accepted within ``months`` of the statement (R-D6)."""
    return local_date(now) <= dispute_deadline(issued_at, months)
