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
(migration ticketing_0010), so this module is the only way out. Once per day: ``run_on`` is unique, so a second
instance (or a second tick) of the same day waits on the first one's row and then does nothing.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.retention import business_midnight, claim_run, years_before
from aftersales_shared.retention import list_runs as shared_list_runs

from ..domain.terms import MIN_RETENTION_YEARS
from ..domain.ticket_lifecycle import FINISHED_STATUSES
from ..models import retention_runs
from ..terms.service import record_terms_by_contract

BATCH = 5000
"""At most this many tickets a run, and as many archived ones purged (the next day's run takes the rest)."""
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
LIMIT {BATCH}
ON CONFLICT DO NOTHING
RETURNING record_id, contract_code
""")
_PURGE = sa.text("SELECT out_contract, out_purged FROM purge_archived(CAST(:codes AS text[]), "
                 "CAST(:befores AS timestamptz[]), :default_before, :limit)")
# one statement each (not CTEs of one statement: the guards must see the archive rows written before them)
_CHILDREN = ("ticket_transitions", "coverage_changes", "unit_repairs", "complaints", "callbacks")
_DELETES = [(t, sa.text(f"DELETE FROM {t} WHERE ticket_id = ANY(CAST(:ids AS uuid[]))")) for t in _CHILDREN]
_DELETE_TICKETS = sa.text("DELETE FROM tickets WHERE id = ANY(CAST(:ids AS uuid[]))")


async def run_day(session: AsyncSession, *, today: date, now: datetime,
                  defaults: Mapping[str, int]) -> dict[str, Any] | None:
    """Archive what is past retention and purge what is past the archive's term on ``today`` (a business date);
    None when today's run already happened. ``defaults``: the configured record terms."""
    years = max(MIN_RETENTION_YEARS, int(defaults["retention_years"]))
    cutoff = years_before(today, years)
    run_id = await claim_run(session, retention_runs, today=today, values={
        "started_at": now, "retention_years": years, "cutoff": cutoff, "tickets_archived": 0, "details": {}})
    if run_id is None:
        return None
    terms = await record_terms_by_contract(session, on=today, defaults=defaults)
    codes = sorted(terms)
    cutoffs = {code: years_before(today, terms[code].retention_years) for code in codes}
    params = {"finished": list(FINISHED_STATUSES), "codes": codes,
              "cutoffs": [business_midnight(cutoffs[c]) for c in codes], "default_cutoff": business_midnight(cutoff),
              # no ticket closed after the latest cut-off of any contract is past retention
              "cutoff": business_midnight(max([cutoff, *cutoffs.values()]))}
    held = (await session.execute(_COUNT_HELD, params)).scalar_one()
    archived = (await session.execute(_ARCHIVE, {**params, "run": run_id, "now": now})).all()
    ids = [r[0] for r in archived]
    moved: dict[str, int] = {}
    if ids:
        for table, delete in _DELETES:
            moved[table] = (await session.execute(delete, {"ids": ids})).rowcount  # type: ignore[attr-defined]
        await session.execute(_DELETE_TICKETS, {"ids": ids})
    purge_years = int(defaults["purge_after_years"])
    purged = {(r[0] or NO_CONTRACT): int(r[1]) for r in await session.execute(_PURGE, {
        "codes": codes, "befores": [business_midnight(years_before(today, terms[c].purge_after_years)) for c in codes],
        "default_before": business_midnight(years_before(today, purge_years)), "limit": BATCH})}
    contracts = {c: {"retention_years": terms[c].retention_years, "cutoff": cutoffs[c].isoformat(),
                     "purge_after_years": terms[c].purge_after_years} for c in codes}
    for code, n in Counter(r[1] or NO_CONTRACT for r in archived).items():
        if code in contracts:
            contracts[code]["archived"] = n
    details = {"rows_archived": moved, "tickets_held_back": held,
               "held_back_because": "a remedy or PM occurrence names it, or a complaint of it is open",
               "purge_after_years": purge_years, "purged_by_contract": purged, "contracts": contracts}
    row = (await session.execute(sa.update(retention_runs).where(retention_runs.c.id == run_id).values(
        tickets_archived=len(ids), records_purged=sum(purged.values()), details=details)
        .returning(*retention_runs.c))).mappings().one()
    return dict(row)


async def list_runs(session: AsyncSession, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """The retention job's runs, newest first."""
    return await shared_list_runs(session, retention_runs, limit=limit, offset=offset)
