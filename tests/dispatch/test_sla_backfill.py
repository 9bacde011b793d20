"""The ``dispatch_0006`` backfill of ``jobs.next_due_at`` (``dispatch.sla.backfill``), against the real database.

From 2,000 open jobs without an instant (the state before the migration), the backfill writes each job's exact
instant, the one ``domain.sla.next_due`` gives (R-S1, R-S2; paused before the alert: nothing until the resume), so
the watcher's first pass reads only the 800 jobs really due (not all 2,000) and emits every due warning and breach
exactly once; the next tick emits nothing.
"""

from __future__ import annotations

import pytest

from aftersales_shared import clock
from aftersales_shared.testing.plugin import running
from dispatch import background
from dispatch.domain.sla import next_due
from dispatch.main import create_app
from dispatch.sla import service as sla
from dispatch.sla.backfill import backfill_next_due

from .test_sla_watcher import _alerts, _expected, _seed

pytestmark = pytest.mark.integration


async def test_R_S1_R_S2_backfill_sets_each_exact_instant_so_the_first_pass_reads_only_due_jobs_once(
        clean, dispatch_settings, admin_db):
    async with running(create_app(dispatch_settings())) as client:
        sessions = client.app.state.sessions
        now = clock.now()
        groups, rows, prow, cal = await _seed(client.app, admin_db, now)
        await admin_db.execute("UPDATE dispatch.jobs SET next_due_at = NULL WHERE status <> 'completed'")

        async with sessions() as s, s.begin():
            written = await s.run_sync(lambda ss: backfill_next_due(ss.connection(), now, batch=700))
        assert written == 2000  # every open job, in keyset batches (700 does not divide 2,000)

        pol = sla.policy_of(prow)
        got = {r["id"]: r["next_due_at"] for r in await admin_db.fetch(
            "SELECT id, next_due_at FROM dispatch.jobs WHERE status <> 'completed'")}
        want = {j.id: next_due(pol, cal, sla.job_clocks(j), [], now) for j in rows if j.status != "completed"}
        assert got == want
        assert all(got[j] is None for j, g in groups.items() if g == "paused")  # waits for the resume

        expected = _expected(rows, prow, cal, now, {})
        due = await admin_db.fetchval(
            "SELECT count(*) FROM dispatch.jobs WHERE status <> 'completed' AND next_due_at <= $1", now)
        assert due == len(expected) == 800  # the first pass reads these, not the 2,000 open jobs
        assert await background.watch_sla(sessions, now) == sum(len(v) for v in expected.values())
        assert await background.watch_sla(sessions, now) == 0
        assert await _alerts(admin_db) == expected
