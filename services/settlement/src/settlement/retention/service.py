"""Records kept as the contract says (R-T4): once a business day the retention job moves what is past each
dealer's retention term (``retention_years``, a dealer term; default ``SETTLEMENT_TERMS_RETENTION_YEARS``, at
least 5) from the live tables into ``archived_records`` — a closed or superseded statement with its lines,
disputes and carry-overs as one document, a service record (``repair_records``) as another — and writes one
``retention_runs`` row of what it did. Then it purges the archive: an archived row is deleted once it has been
archived longer than its dealer's ``purge_after_years`` (a dealer term too; default
``SETTLEMENT_TERMS_PURGE_AFTER_YEARS``), through ``purge_archived`` — the one delete the archive allows (migration
settlement_0009); the run reports what it archived and what it purged, per dealer.

Past retention: a statement whose quarter ended before the cut-off (today minus the dealer's retention years,
the terms in force today), a service record completed before it. Nothing else moves: an open (draft, reviewed)
statement stays live whatever its age. The database refuses to delete a closed statement or a service record
that has not been archived first (migration settlement_0006), so this module is the only way out.

Once per day: the run's ``run_on`` is unique, so a second instance (or a second tick) of the same day waits on
the first one's row and then does nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aftersales_shared.retention import BATCH, Batch, business_midnight, run_batches
from aftersales_shared.retention import list_runs as shared_list_runs

from ..domain.quarters import add_months, quarter_of_date
from ..models import dealers, repair_records, retention_runs
from ..terms.service import terms_on

_ARCHIVE_STATEMENTS = sa.text("""
INSERT INTO archived_records (kind, record_id, dealer_id, period, run_id, archived_at, document)
SELECT 'statement', s.id::text, s.dealer_id, s.quarter, :run, :now,
       to_jsonb(s) || jsonb_build_object(
         'lines', (SELECT coalesce(jsonb_agg(to_jsonb(l) - 'id' ORDER BY l.line_no), '[]'::jsonb)
                   FROM statement_lines l WHERE l.statement_id = s.id),
         'disputes', (SELECT coalesce(jsonb_agg(to_jsonb(d) ORDER BY d.opened_at), '[]'::jsonb)
                      FROM disputes d WHERE d.statement_id = s.id),
         'carry_over', (SELECT coalesce(jsonb_agg(to_jsonb(c)), '[]'::jsonb)
                        FROM carry_over_balances c WHERE c.statement_id = s.id))
FROM statements s
WHERE s.dealer_id = :dealer AND s.quarter < :before AND (s.status IN ('approved', 'paid') OR s.superseded)
ORDER BY s.quarter, s.id
LIMIT :limit
ON CONFLICT DO NOTHING
RETURNING record_id
""")
# one statement each (not CTEs of one statement: the guards must see the archive rows written before them)
_DELETE_STATEMENT_ROWS = [sa.text(f"DELETE FROM {t} WHERE statement_id = ANY(CAST(:ids AS uuid[]))")
                          for t in ("statement_lines", "disputes", "carry_over_balances")]
_DELETE_STATEMENTS = sa.text("DELETE FROM statements WHERE id = ANY(CAST(:ids AS uuid[]))")
_ARCHIVE_RECORDS = sa.text("""
INSERT INTO archived_records (kind, record_id, dealer_id, period, run_id, archived_at, document)
SELECT 'repair_record', r.job_id, r.dealer_id, to_char(r.month, 'YYYY-MM'), :run, :now, to_jsonb(r)
FROM repair_records r WHERE r.dealer_id = :dealer AND r.completed_at < :cutoff
ORDER BY r.completed_at, r.job_id
LIMIT :limit
ON CONFLICT DO NOTHING
RETURNING record_id
""")
_DELETE_RECORDS = sa.text("DELETE FROM repair_records WHERE job_id = ANY(CAST(:ids AS text[]))")
_ARCHIVED_DEALERS = sa.text("SELECT DISTINCT dealer_id FROM archived_records ORDER BY dealer_id")
_PURGE = sa.text("SELECT out_dealer, out_kind, out_purged FROM purge_archived(CAST(:dealers AS text[]), "
                 "CAST(:befores AS timestamptz[]), :limit)")


async def _dealers(session: AsyncSession) -> list[str]:
    """Every dealer with records here (one with service records but no agreement yet included)."""
    rows = await session.execute(sa.select(dealers.c.id).union(sa.select(repair_records.c.dealer_id).distinct()))
    return sorted(r[0] for r in rows)


async def run_day(sessions: async_sessionmaker[AsyncSession], *, today: date, now: datetime,
                  defaults: dict[str, Any], batch_size: int = BATCH,
                  max_seconds: float = 300) -> dict[str, Any] | None:
    """Archive what is past retention on ``today`` (a business date) and purge what is past the archive's term,
    ``batch_size`` records (and as many archived ones purged) per transaction until none is left or ``max_seconds``
    are spent (the next tick resumes); the run's row, or None when today's run had already finished."""

    async def step(session: AsyncSession, run_id: int) -> Batch:
        added: dict[str, Any] = {}
        facts: dict[str, Any] = {}
        left = batch_size  # what this batch may still archive, statements and service records together
        statements_n = records_n = 0
        for dealer_id in await _dealers(session):
            if left <= 0:
                break
            years = (await terms_on(session, dealer_id=dealer_id, on=today, defaults=defaults)).retention_years
            cutoff = add_months(today, -12 * years)
            before = str(quarter_of_date(cutoff))  # quarters before the cut-off's have ended before it
            ids = [r[0] for r in await session.execute(_ARCHIVE_STATEMENTS, {
                "run": run_id, "now": now, "dealer": dealer_id, "before": before, "limit": left})]
            if ids:
                for delete in (*_DELETE_STATEMENT_ROWS, _DELETE_STATEMENTS):
                    await session.execute(delete, {"ids": ids})
            left -= len(ids)
            jobs = [r[0] for r in await session.execute(_ARCHIVE_RECORDS, {
                "run": run_id, "now": now, "dealer": dealer_id, "cutoff": business_midnight(cutoff),
                "limit": left})] if left > 0 else []
            if jobs:
                await session.execute(_DELETE_RECORDS, {"ids": jobs})
            left -= len(jobs)
            if ids or jobs:
                facts[dealer_id] = {"retention_years": years, "cutoff": cutoff.isoformat(),
                                    "statements_before": before}
                added[dealer_id] = {"statements": len(ids), "repair_records": len(jobs)}
            statements_n += len(ids)
            records_n += len(jobs)
        purged = await _purge(session, today=today, defaults=defaults, limit=batch_size)
        for dealer_id, counts in purged.items():
            added.setdefault(dealer_id, {})["purged"] = counts
        purged_n = sum(n for counts in purged.values() for n in counts.values())
        return Batch(counts={"statements_archived": statements_n, "repair_records_archived": records_n,
                             "records_purged": purged_n},
                     full=left <= 0 or purged_n >= batch_size, added=added, facts=facts)

    return await run_batches(sessions, retention_runs, today=today, step=step, max_seconds=max_seconds,
                             values={"started_at": now, "statements_archived": 0, "repair_records_archived": 0,
                                     "details": {}})


async def _purge(session: AsyncSession, *, today: date, defaults: dict[str, Any],
                 limit: int) -> dict[str, dict[str, int]]:
    """Purge the archived rows archived before their dealer's purge cut-off (today minus ``purge_after_years`` in
    force today); per dealer, how many of each kind."""
    dealer_ids = [r[0] for r in await session.execute(_ARCHIVED_DEALERS)]
    befores = [business_midnight(add_months(today, -12 * (await terms_on(
        session, dealer_id=d, on=today, defaults=defaults)).purge_after_years)) for d in dealer_ids]
    out: dict[str, dict[str, int]] = {}
    for dealer_id, kind, n in await session.execute(_PURGE, {"dealers": dealer_ids, "befores": befores,
                                                             "limit": limit}):
        out.setdefault(dealer_id, {})[kind] = int(n)
    return out


async def list_runs(session: AsyncSession, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """The retention job's runs, newest first."""
    return await shared_list_runs(session, retention_runs, limit=limit, offset=offset)
