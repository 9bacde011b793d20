"""R-P5: base stock (铺底) per dealer from the last N months of registered sales."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from decimal import Decimal


def months_back(today: date, months: int) -> date:
    """The same day ``months`` months earlier (clamped to the month's last day)."""
    y, m = divmod(today.year * 12 + (today.month - 1) - months, 12)
    m += 1
    for day in (today.day, 30, 29, 28):
        try:
            return date(y, m, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def window_sales(registered_on: Iterable[date], *, today: date, months: int = 3) -> int:
    """Sales registered in (today - months, today]."""
    start = months_back(today, months)
    return sum(1 for d in registered_on if start < d <= today)


def suggested_quantity(sales: int, *, percent: Decimal) -> int:
    """Units of base stock: ``percent`` % of the sales, rounded up (any sale earns at least one)."""
    if sales < 0 or percent < 0:
        raise ValueError("sales and percent must be >= 0")
    return math.ceil(Decimal(sales) * percent / Decimal(100))
