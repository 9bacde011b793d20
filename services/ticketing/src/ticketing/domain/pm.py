"""Preventive maintenance schedules (R-S10: visits twice a year, quarterly inspections, monthly calls — contract
terms, so a plan's numbers are data). Pure: no I/O, no clock.

A plan's periods start at ``effective_from`` and every ``every_months`` after it (a day past the month's end is
the month's last day, and the grid is counted from ``effective_from`` each time, so 31 Jan → 28 Feb → 31 Mar).
Period ``k``'s window is ``[start, start + window_days)``; it is generated ``lead_days`` before its start and not
after its window has closed (a plan set up late does not create a backlog of visits nobody can make).
Tests: ``tests/ticketing/test_pm.py`` (hypothesis)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Kind = Literal["visit", "inspection", "call"]
KINDS: tuple[Kind, ...] = ("visit", "inspection", "call")
ON_SITE: frozenset[str] = frozenset({"visit", "inspection"})  # these open a maintenance ticket; a call does not


@dataclass(frozen=True)
class PlanTerms:
    every_months: int
    window_days: int
    lead_days: int
    effective_from: date


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive: the first day after the window


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def period(terms: PlanTerms, k: int) -> Period:
    start = add_months(terms.effective_from, k * terms.every_months)
    return Period(start, start + timedelta(days=terms.window_days))


def due_periods(terms: PlanTerms, today: date) -> list[Period]:
    """The periods to have generated on ``today``: generation day (start - lead) reached, window not yet closed."""
    out: list[Period] = []
    k = 0
    while True:
        p = period(terms, k)
        if p.start - timedelta(days=terms.lead_days) > today:
            return out
        if p.end > today:
            out.append(p)
        k += 1
