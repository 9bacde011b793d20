"""Backfill of ``jobs.next_due_at`` (migration ``dispatch_0006``): each open job's exact instant, set-based.

The instant needs the domain's calendar arithmetic (R-S7, pauses), which SQL does not have, so it is computed here
with the one function the watcher uses (``domain.sla.next_due``) and written back in batches with one
``UPDATE .. FROM unnest(ids, instants)`` per batch. Jobs with an alert already overdue (what the old 500-row scan
never reached) get that past instant, so the watcher's first pass emits exactly those, once; every other job waits
for its own instant, and the first pass reads only the jobs really due, not all open jobs.

Sync (Alembic's connection); raw SQL only, so a later change of the ORM models cannot break the migration.
"""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from ..domain.sla import JobClocks, Pause, next_due, select_policy

OPEN_SQL = "status IN ('queued', 'offered', 'accepted', 'en_route', 'on_site', 'paused')"
BATCH = 5000
_CAL_JSON = {"intervals", "weekdays", "overrides"}


def _dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def _row(ns: Any) -> Any:
    """A plain namespace where the converters take a row (they only read attributes)."""
    return ns if not isinstance(ns, dict) else SimpleNamespace(**ns)


def _j(v: Any) -> Any:
    """JSONB through a plain text query may come back as its text."""
    return json.loads(v) if isinstance(v, str) else v


def backfill_next_due(conn: sa.Connection, now: datetime, schema: str = "dispatch", batch: int = BATCH) -> int:
    """Set ``next_due_at`` of every open job to ``domain.sla.next_due`` at ``now``; the number of jobs written."""
    from .service import calendar_of, policy_of  # row -> domain converters (attribute access only)

    policies = [SimpleNamespace(**{**r, "warn_fractions": _j(r["warn_fractions"])}) for r in conn.execute(sa.text(
        f"SELECT id, contract_code, zone_class, calendar_code, respond_minutes, arrive_minutes, resolve_minutes,"
        f" resolve_from, warn_fractions FROM {schema}.sla_policies")).mappings()]
    cal_rows = conn.execute(sa.text(f"SELECT code, tz, always_open, intervals, use_statutory, weekdays, overrides"
                                    f" FROM {schema}.sla_calendars")).mappings()
    calendars = {r["code"]: calendar_of(_row({k: _j(v) if k in _CAL_JSON else v
                                                             for k, v in r.items()})) for r in cal_rows}
    chosen: dict[tuple[str | None, str], Any] = {}

    def policy_for(contract: str | None, zone_class: str) -> Any:
        key = contract, zone_class
        if key not in chosen:
            rows = [p for p in policies if p.zone_class == zone_class and p.contract_code in ("", contract or "")]
            if not rows:
                chosen[key] = None
            else:
                pol = select_policy([policy_of(_row(p)) for p in rows], contract, zone_class)
                row = next(p for p in rows if (p.contract_code or None) == pol.contract_code)
                chosen[key] = (pol, calendars[row.calendar_code])
        return chosen[key]

    written = 0
    after = ""
    while True:
        rows = conn.execute(sa.text(
            f"SELECT id, contract_code, zone_class, opened_at, responded_at, arrived_at, resolved_at, pauses,"
            f" warnings_sent FROM {schema}.jobs WHERE {OPEN_SQL} AND id > :after ORDER BY id LIMIT :n"),
            {"after": after, "n": batch}).mappings().all()
        if not rows:
            return written
        ids: list[str] = []
        instants: list[datetime | None] = []
        for r in rows:
            pc = policy_for(r["contract_code"], r["zone_class"])
            if pc is None:  # no policy for its zone class: the watcher reports it at once, as before
                ids.append(r["id"])
                instants.append(now)
                continue
            pol, cal = pc
            clocks = JobClocks(
                opened_at=r["opened_at"], responded_at=r["responded_at"], arrived_at=r["arrived_at"],
                resolved_at=r["resolved_at"],
                pauses=tuple(Pause(_dt(p["start"]), _dt(p.get("end")), p["reason"])  # type: ignore[arg-type]
                             for p in _j(r["pauses"]) or []))
            ids.append(r["id"])
            instants.append(next_due(pol, cal, clocks, _j(r["warnings_sent"]) or [], now))
        conn.execute(sa.text(
            f"UPDATE {schema}.jobs j SET next_due_at = v.t FROM unnest(CAST(:ids AS text[]),"
            f" CAST(:ts AS timestamptz[])) AS v(id, t) WHERE j.id = v.id"), {"ids": ids, "ts": instants})
        written += len(ids)
        after = rows[-1]["id"]
