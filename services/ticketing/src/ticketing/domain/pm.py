"""Preventive maintenance schedules (R-S10: visits twice a year, quarterly inspections, monthly calls — contract
terms, so a plan's numbers are data). Pure: no I/O, no clock.

A plan's periods start at ``effective_from`` and every ``every_months`` after it (a day past the month's end is
the month's last day, and the grid is counted from ``effective_from`` each time, so 31 Jan → 28 Feb → 31 Mar).
Period ``k``'s window is ``[start, start + window_days)``; it is generated ``lead_days`` before its start and not
after its window has closed (a plan set up late does not create a backlog of visits nobody can make).
A plan is a contract term, so it is versioned (``PlanVersion``): a version governs the periods that start on or
after its ``effective_from`` and before the next version's (its grid counts from its own ``effective_from``; of two
versions of one day the later one counts); an inactive version stops the plan from its date. A change never
reaches into the past: periods before it keep the version they were generated under (``due_by_version``).
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


@dataclass(frozen=True)
class PlanVersion:
    """One recorded change of a plan: from ``terms.effective_from`` on, these terms (or none: ``active`` false)."""

    version: int
    terms: PlanTerms
    active: bool = True


def spans(versions: list[PlanVersion]) -> list[tuple[PlanVersion, date | None]]:
    """Each version that governs some days, with the day the next one takes over (None: open-ended)."""
    by_day: dict[date, PlanVersion] = {}
    for v in sorted(versions, key=lambda v: (v.terms.effective_from, v.version)):
        by_day[v.terms.effective_from] = v  # of one day's versions the latest counts
    days = sorted(by_day)
    return [(by_day[d], days[i + 1] if i + 1 < len(days) else None) for i, d in enumerate(days)]


def due_by_version(versions: list[PlanVersion], today: date) -> list[tuple[int, Period]]:
    """The periods to have generated on ``today`` across a plan's versions, each with the version it falls under."""
    out: list[tuple[int, Period]] = []
    for v, until in spans(versions):
        if v.active:
            out.extend((v.version, p) for p in due_periods(v.terms, today) if until is None or p.start < until)
    return out
