"""Records kept as the contract says (R-T4, issue 16): once a business day the retention job moves the closed jobs
(completed, remotely resolved, cancelled) that closed before their cut-off — today minus the retention years of the
job's contract (the term ``retention_years`` in force today, at least 5; a job without a contract, or naming an
unregistered one: the default ``DISPATCH_RETENTION_YEARS``) — into ``archived_records`` as one document each: the
job with its service record, app actions and offers. The service record, actions and offers then leave the live
tables (the database lets a service record go only once it is archived: migration dispatch_0019), and the job row
stays as a tombstone (``archived_at`` set, the customer's name, phone and address cleared: the archive keeps them)
because credits, payments, quotes, plans and spare loans keep referring to it. One ``retention_runs`` row says what
the run did. An open job never moves, whatever its age; a closed job whose spare unit is still out is held back.

Once per day across replicas and restarts, and caught up: ``aftersales_shared.retention.run_batches`` runs batch
after batch (``DISPATCH_RETENTION_BATCH_SIZE`` jobs, each batch its own transaction) until nothing is past
retention, within ``DISPATCH_RETENTION_MAX_SECONDS`` of wall time a tick (the next tick resumes the same run);
``run_on`` is unique and each batch locks the run's row, so nothing is archived twice."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aftersales_shared.retention import (
    BATCH,
    MIN_YEARS,
    Batch,
    business_midnight,
    list_runs,
    run_batches,
    years_before,
)

from .. import metrics
from ..contracts import service as contracts
from ..domain.job_lifecycle import TERMINAL
from ..models import RetentionRun

RUNS = cast(sa.Table, RetentionRun.__table__)

_CLOSED = "j.status = ANY(CAST(:closed AS text[])) AND j.archived_at IS NULL"
_CODES = sa.text(f"SELECT DISTINCT coalesce(j.contract_code, '') FROM jobs j WHERE {_CLOSED}")
_PAST = f"""
FROM jobs j
JOIN unnest(CAST(:codes AS text[]), CAST(:cutoffs AS timestamptz[])) AS c(code, cutoff)
  ON coalesce(j.contract_code, '') = c.code
WHERE {_CLOSED} AND coalesce(j.resolved_at, j.updated_at) < c.cutoff"""
_HELD = "EXISTS (SELECT 1 FROM spare_units s WHERE s.job_id = j.id AND s.status = 'lent')"
_COUNT_HELD = sa.text(f"SELECT count(*) {_PAST} AND {_HELD}")
_ARCHIVE = sa.text(f"""
INSERT INTO archived_records (kind, record_id, contract_code, closed_on, run_id, archived_at, document)
SELECT 'job', j.id, j.contract_code, (coalesce(j.resolved_at, j.updated_at) AT TIME ZONE 'Asia/Shanghai')::date,
       :run, :now,
       to_jsonb(j) || jsonb_build_object(
         'service_record', (SELECT to_jsonb(r) FROM service_records r WHERE r.job_id = j.id),
         'actions', (SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.received_at, a.id), '[]'::jsonb)
                     FROM job_actions a WHERE a.job_id = j.id),
         'offers', (SELECT coalesce(jsonb_agg(to_jsonb(o) ORDER BY o.offered_at, o.id), '[]'::jsonb)
                    FROM offers o WHERE o.job_id = j.id))
{_PAST} AND NOT {_HELD}
ORDER BY coalesce(j.resolved_at, j.updated_at), j.id
LIMIT :limit
ON CONFLICT DO NOTHING
RETURNING record_id
""")
# one statement each: the service record's guard must see the archive rows written before it
_DELETES = [(t, sa.text(f"DELETE FROM {t} WHERE job_id = ANY(CAST(:ids AS text[]))"))
            for t in ("service_records", "job_actions", "offers")]
_TOMBSTONE = sa.text("UPDATE jobs SET archived_at = :now, customer_name = '', phone = '', address = '' "
                     "WHERE id = ANY(CAST(:ids AS text[]))")


async def _years(session: AsyncSession, codes: list[str], *, today: date, defaults: dict[str, Any]) -> dict[str, int]:
    """Each contract's retention years in force today (never below 5)."""
    terms = await contracts.terms_for(session, {c or None for c in codes}, {c or None: [today] for c in codes},
                                      defaults)
    return {c: max(MIN_YEARS, terms[(c or None, today)].retention_years) for c in codes}


async def run_day(sessions: async_sessionmaker[AsyncSession], *, today: date, now: datetime,
                  defaults: dict[str, Any], batch_size: int = BATCH,
                  max_seconds: float = 300) -> dict[str, Any] | None:
    """Archive what is past retention on ``today`` (a business date), ``batch_size`` jobs per transaction until
    none is left or ``max_seconds`` are spent (the next tick resumes); the run's row, or None when today's run had
    already finished."""
    closed = list(TERMINAL)

    async def step(session: AsyncSession, run_id: int) -> Batch:
        codes = sorted(r[0] for r in await session.execute(_CODES, {"closed": closed}))
        years = await _years(session, codes, today=today, defaults=defaults)
        cutoffs = {c: years_before(today, y) for c, y in years.items()}
        params = {"closed": closed, "codes": codes, "cutoffs": [business_midnight(cutoffs[c]) for c in codes]}
        ids = [r[0] for r in await session.execute(_ARCHIVE, {**params, "run": run_id, "now": now,
                                                              "limit": batch_size})] if codes else []
        moved: dict[str, int] = {}
        if ids:
            for table, delete in _DELETES:
                moved[table] = (await session.execute(delete, {"ids": ids})).rowcount  # type: ignore[attr-defined]
            await session.execute(_TOMBSTONE, {"ids": ids, "now": now})
            metrics.RETENTION_ARCHIVED.inc(len(ids))
        full = len(ids) >= batch_size
        facts: dict[str, Any] = {
            "retention": {c or "(none)": {"years": years[c], "cutoff": cutoffs[c].isoformat()} for c in codes}}
        if not full:  # the last batch: what stays behind
            facts["jobs_held_back"] = (await session.execute(_COUNT_HELD, params)).scalar_one() if codes else 0
            facts["held_back_because"] = "its spare unit is still out"
        return Batch(counts={"jobs_archived": len(ids), "service_records_archived": moved.get("service_records", 0)},
                     full=full, added={"rows_archived": moved}, facts=facts)

    return await run_batches(sessions, RUNS, today=today, step=step, max_seconds=max_seconds,
                             values={"started_at": now, "jobs_archived": 0, "service_records_archived": 0,
                                     "details": {}})


async def runs(session: AsyncSession, *, limit: int, offset: int) -> list[dict[str, Any]]:
    return await list_runs(session, RUNS, limit=limit, offset=offset)
