"""R-P8 and R-P9, pure: how long a part stays available after its product lines' end of sale, and which window
of last year a seasonal stock plan reads. No I/O, no clock (``today`` is passed in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .base_stock import months_back


def available_until(end_of_sale: date, years: int) -> date:
    """The last day parts of a product line must be available: ``years`` after its end of sale (29 February
    → 28 February)."""
    return months_back(end_of_sale, -12 * years)


def part_horizon(lines: list[tuple[date | None, int]]) -> date | None:
    """A part serves every product line it fits: it must stay available until the latest of their horizons;
    None while any of them is still on sale (no end of sale yet) or it fits none."""
    if not lines or any(eos is None for eos, _ in lines):
        return None
    return max(available_until(eos, years) for eos, years in lines if eos is not None)


@dataclass(frozen=True)
class SeasonWindow:
    """The plan's window (``start`` … ``end``, exclusive) and last year's same window it is planned from."""

    start: date
    end: date
    last_year_start: date
    last_year_end: date


def season_window(today: date, *, ahead_days: int, days: int) -> SeasonWindow:
    """R-P9: plan ``ahead_days`` ahead a window of ``days`` days, from the same dates one year earlier."""
    start = today + timedelta(days=ahead_days)
    end = start + timedelta(days=days)
    return SeasonWindow(start, end, months_back(start, 12), months_back(end, 12))
