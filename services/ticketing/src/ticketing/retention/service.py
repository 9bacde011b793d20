"""Records kept as the contract says (R-T4, issue 16 item 6): once a business day the retention job moves the
finished tickets (``closed``/``cancelled``) closed before their contract's cut-off — today minus the contract's
``retention_years`` (a contract term in force today, at least 5; a ticket without a contract, or a contract that
never changed it: ``TICKETING_RETENTION_YEARS``) — from the live tables into ``archived_records``: the ticket with
its transitions, coverage changes, repairs (``unit_repairs``), complaints and callbacks as one document; then it
purges the archived tickets archived before their contract's purge cut-off (today minus ``purge_after_years``, a
contract term too; default ``TICKETING_PURGE_AFTER_YEARS``) through ``purge_archived`` — the one delete the
archive allows (migration ticketing_0012); and writes one ``retention_runs`` row of what it did (archived, purged,
per contract). An open ticket never moves, whatever its age. A ticket is held back (kept live, counted in the
report) while a 三包 remedy or a PM occurrence names it, or a complaint of it is still open: those records outlive
it.

The database refuses to delete a finished ticket, its transitions or its repairs that have not been archived first
(migration ticketing_0010), so this module is the only way out. Once per day, and caught up:
``aftersales_shared.retention.run_batches`` runs batch after batch (``TICKETING_RETENTION_BATCH_SIZE`` tickets, and
as many archived ones purged, each batch its own transaction) until nothing is past retention or purge, within
``TICKETING_RETENTION_MAX_SECONDS`` of wall time a tick (the next tick resumes the same run); ``run_on`` is unique
and each batch locks the run's row, so replicas and restarts never archive anything twice.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aftersales_shared.retention import BATCH, Batch, business_midnight, run_batches, years_before
from aftersales_shared.retention import list_runs as shared_list_runs

from ..domain.terms import MIN_RETENTION_YEARS
from ..domain.ticket_lifecycle import FINISHED_STATUSES
from ..models import retention_runs
from ..terms.service import record_terms_by_contract

NO_CONTRACT = "(no contract)"

# the cut-off of the ticket's contract (contracts whose terms set it), else the default's
_PAST = """
FROM tickets t
WHERE t.status = ANY(CAST(:finished AS text[])) AND t.closed_at < :cutoff
  AND t.closed_at < coalesce((SELECT c.cutoff FROM unnest(CAST(:codes AS text[]), CAST(:cutoffs AS timestamptz[]))
                              AS c(code, cutoff) WHERE c.code = t.contract_code), :default_cutoff)
"""
_HELD = """(EXISTS (SELECT 1 FROM unit_remedies r WHERE r.ticket_id = t.id)
  OR EXISTS (SELECT 1 FROM pm_occurrences o WHERE o.ticket_id = t.id)
  OR EXISTS (SELECT 1 FROM complaints c WHERE c.ticket_id = t.id AND c.status = 'open'))"""
_COUNT_HELD = sa.text(f"SELECT count(*) {_PAST} AND {_HELD}")
_ARCHIVE = sa.text(f"""
INSERT INTO archived_records (kind, record_id, dealer_id, contract_code, closed_on, run_id, archived_at, document)
SELECT 'ticket', t.id::text, t.dealer_id, t.contract_code, (t.closed_at AT TIME ZONE 'Asia/Shanghai')::date, :run,
       :now,
       to_jsonb(t) || jsonb_build_object(
         'transitions', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.id), '[]'::jsonb)
                         FROM ticket_transitions x WHERE x.ticket_id = t.id),
         'coverage_changes', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.id), '[]'::jsonb)
                              FROM coverage_changes x WHERE x.ticket_id = t.id),
         'repairs', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.completed_on, x.job_id), '[]'::jsonb)
                     FROM unit_repairs x WHERE x.ticket_id = t.id),
         'complaints', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.filed_at), '[]'::jsonb)
                        FROM complaints x WHERE x.ticket_id = t.id),
         'callbacks', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.repair_completed_at), '[]'::jsonb)
                       FROM callbacks x WHERE x.ticket_id = t.id),
         'reported_time_audit', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.id), '[]'::jsonb)
                                 FROM reported_time_audit x WHERE x.ticket_id = t.id))
{_PAST} AND NOT {_HELD}
ORDER BY t.closed_at, t.id
LIMIT :limit
ON CONFLICT DO NOTHING
RETURNING record_id, contract_code
""")
_PURGE = sa.text("SELECT out_contract, out_purged FROM purge_archived(CAST(:codes AS text[]), "
                 "CAST(:befores AS timestamptz[]), :default_before, :limit)")
# one statement each (not CTEs of one statement: the guards must see the archive rows written before them)
_CHILDREN = ("ticket_transitions", "coverage_changes", "unit_repairs", "complaints", "callbacks")
_DELETES = [(t, sa.text(f"DELETE FROM {t} WHERE ticket_id = ANY(CAST(:ids AS uuid[]))")) for t in _CHILDREN]
_DELETE_TICKETS = sa.text("DELETE FROM tickets WHERE id = ANY(CAST(:ids AS uuid[]))")


async def run_day(sessions: async_sessionmaker[AsyncSession], *, today: date, now: datetime,
                  defaults: Mapping[str, int], batch_size: int = BATCH,
                  max_seconds: float = 300) -> dict[str, Any] | None:
    """Archive what is past retention and purge what is past the archive's term on ``today`` (a business date),
    ``batch_size`` tickets (and as many archived ones purged) per transaction until none is left or ``max_seconds``
    are spent (the next tick resumes); the run's row, or None when today's run had already finished.
    ``defaults``: the configured record terms."""
    years = max(MIN_RETENTION_YEARS, int(defaults["retention_years"]))
    cutoff = years_before(today, years)
    purge_years = int(defaults["purge_after_years"])

    async def step(session: AsyncSession, run_id: int) -> Batch:
        terms = await record_terms_by_contract(session, on=today, defaults=defaults)
        codes = sorted(terms)
        cutoffs = {code: years_before(today, terms[code].retention_years) for code in codes}
        params = {"finished": list(FINISHED_STATUSES), "codes": codes,
                  "cutoffs": [business_midnight(cutoffs[c]) for c in codes],
                  "default_cutoff": business_midnight(cutoff),
                  # no ticket closed after the latest cut-off of any contract is past retention
                  "cutoff": business_midnight(max([cutoff, *cutoffs.values()]))}
        archived = (await session.execute(_ARCHIVE, {**params, "run": run_id, "now": now,
                                                     "limit": batch_size})).all()
        ids = [r[0] for r in archived]
        moved: dict[str, int] = {}
        if ids:
            for table, delete in _DELETES:
                moved[table] = (await session.execute(delete, {"ids": ids})).rowcount  # type: ignore[attr-defined]
            await session.execute(_DELETE_TICKETS, {"ids": ids})
        purged = {(r[0] or NO_CONTRACT): int(r[1]) for r in await session.execute(_PURGE, {
            "codes": codes, "default_before": business_midnight(years_before(today, purge_years)),
            "befores": [business_midnight(years_before(today, terms[c].purge_after_years)) for c in codes],
            "limit": batch_size})}
        full = len(ids) >= batch_size or sum(purged.values()) >= batch_size
        facts: dict[str, Any] = {
            "purge_after_years": purge_years,
            "contracts": {c: {"retention_years": terms[c].retention_years, "cutoff": cutoffs[c].isoformat(),
                              "purge_after_years": terms[c].purge_after_years} for c in codes}}
        if not full:  # the last batch: what stays behind
            facts["tickets_held_back"] = (await session.execute(_COUNT_HELD, params)).scalar_one()
            facts["held_back_because"] = "a remedy or PM occurrence names it, or a complaint of it is open"
        per_contract = Counter(r[1] or NO_CONTRACT for r in archived)
        added = {"rows_archived": moved, "purged_by_contract": purged,
                 "contracts": {c: {"archived": n} for c, n in per_contract.items() if c in terms}}
        return Batch(counts={"tickets_archived": len(ids), "records_purged": sum(purged.values())},
                     full=full, added=added, facts=facts)

    return await run_batches(sessions, retention_runs, today=today, step=step, max_seconds=max_seconds,
                             values={"started_at": now, "retention_years": years, "cutoff": cutoff,
                                     "tickets_archived": 0, "details": {}})


async def list_runs(session: AsyncSession, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """The retention job's runs, newest first."""
    return await shared_list_runs(session, retention_runs, limit=limit, offset=offset)
