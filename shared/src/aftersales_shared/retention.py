"""The pieces every service's R-T4 retention job shares (``services/*/src/*/retention/``): the cut-off day of a
retention term, the first instant of a Shanghai business day, the once-per-business-day run (a unique ``run_on``)
carried out batch after batch, each its own transaction, until nothing is left or the run's wall-time budget is
spent (``run_batches``: the next tick resumes it), and the run report's page. What is archived, and how (one
batch: ``Step``), stays each service's own."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as day_time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import clock
from .clock import BUSINESS_TZ
from .db import unit_of_work

MIN_YEARS = 5
"""R-T4: records are kept at least five years."""


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def business_midnight(day: date) -> datetime:
    """The first instant of a Shanghai calendar day."""
    return datetime.combine(day, day_time.min, BUSINESS_TZ)


async def claim_run(session: AsyncSession, runs: sa.Table, *, today: date, values: dict[str, Any]) -> int | None:
    """Insert today's run row (``run_on`` unique); its id, or None when today's run already happened."""
    return (await session.execute(insert(runs).values(run_on=today, **values)
                                  .on_conflict_do_nothing(index_elements=["run_on"]).returning(runs.c.id))).scalar()


async def list_runs(session: AsyncSession, runs: sa.Table, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """The retention job's runs, newest first."""
    q = sa.select(runs).order_by(runs.c.run_on.desc()).offset(offset).limit(limit)
    return [dict(r) for r in (await session.execute(q)).mappings()]


BATCH = 5000
"""The default batch: at most this many records archived (and as many archived ones purged) per transaction."""


@dataclass
class Batch:
    """What one batch did, as a service's step reports it: ``counts`` are added to the run row's columns,
    ``added`` to its details (nested numbers summed), ``facts`` set into its details (nested, last batch wins);
    ``full``: the batch hit its size, so more may be waiting."""

    counts: dict[str, int]
    full: bool
    added: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


Step = Callable[[AsyncSession, int], Awaitable[Batch]]
"""One batch of a service's retention job, in the given transaction, for the run of the given id."""


def add_details(into: dict[str, Any], added: Mapping[str, Any]) -> dict[str, Any]:
    """``into`` with ``added`` summed in: numbers add up, nested mappings merge, anything else replaces."""
    out = dict(into)
    for key, value in added.items():
        old = out.get(key)
        if isinstance(value, Mapping):
            out[key] = add_details(old if isinstance(old, dict) else {}, value)
        elif isinstance(value, int) and not isinstance(value, bool) and isinstance(old, int):
            out[key] = old + value
        else:
            out[key] = value
    return out


def set_details(into: dict[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    """``into`` with ``facts`` set in: nested mappings merge, anything else replaces."""
    out = dict(into)
    for key, value in facts.items():
        old = out.get(key)
        out[key] = set_details(old, value) if isinstance(value, Mapping) and isinstance(old, dict) else value
    return out


async def run_batches(sessions: async_sessionmaker[AsyncSession], runs: sa.Table, *, today: date,
                      values: dict[str, Any], step: Step, max_seconds: float) -> dict[str, Any] | None:
    """Today's run of a retention job, batch after batch until a batch comes back not full, each batch its own
    transaction; the run's row (what it did so far) after this call, or None when today's run had already finished.

    Once per business day across replicas and restarts: the run row (``run_on`` unique) is claimed in its own
    transaction; each batch then locks it (``FOR UPDATE``: one batch at a time whatever the number of replicas; a
    waiting one sees what the first committed), adds what the batch did and commits with it, so a run that crashes
    loses at most its open batch, which rolled back whole. ``details.finished_at`` marks the run done. After
    ``max_seconds`` of wall time (at least one batch is always done) the call yields: ``finished_at`` stays null and
    the next tick carries on with the same row. A run left unfinished at the end of its day stays so; the next day's
    run takes what it left (with the next day's cut-off)."""
    started = time.monotonic()
    async with unit_of_work(sessions) as session:
        await claim_run(session, runs, today=today,
                        values={**values, "details": {**values.get("details", {}), "batches": 0,
                                                      "finished_at": None}})
    row: dict[str, Any] | None = None
    while True:
        async with unit_of_work(sessions) as session:
            current = (await session.execute(sa.select(runs).where(runs.c.run_on == today).with_for_update())
                       ).mappings().one()
            if current["details"].get("finished_at") is not None:
                return row  # finished (by another replica, or an earlier tick): nothing more today
            batch = await step(session, current["id"])
            details = set_details(add_details(current["details"], batch.added), batch.facts)
            details["batches"] = int(current["details"].get("batches", 0)) + 1
            if not batch.full:
                details["finished_at"] = clock.now().isoformat()
            row = dict((await session.execute(sa.update(runs).where(runs.c.id == current["id"]).values(
                details=details, **{c: runs.c[c] + n for c, n in batch.counts.items()})
                .returning(*runs.c))).mappings().one())
        if not batch.full or time.monotonic() - started >= max_seconds:
            return row
