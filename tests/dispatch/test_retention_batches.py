"""R-T4 (issue 16 item 6): dispatch's daily retention run catches up, against the real database: batch after batch
(``DISPATCH_RETENTION_BATCH_SIZE`` jobs, each batch its own transaction) until nothing is past retention, the run's
report counting the totals; once a business day, however many replicas run it at once; a run cut short by its
wall-time budget (``DISPATCH_RETENTION_MAX_SECONDS``) is resumed by the next tick without archiving anything
twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.testing.plugin import running
from dispatch.background import retain
from dispatch.config import DispatchSettings
from dispatch.main import create_app

from .conftest import ticket, uniq
from .test_contract_terms import open_job
from .test_records_retention import run
from .test_spares_cancelled import cancel

pytestmark = pytest.mark.integration
BATCH = 2


async def _withdrawn(client, n):
    ids = []
    for _ in range(n):
        job = await open_job(client, ticket(uniq("noone")))
        await cancel(client, job)
        ids.append(job.id)
    return ids


def test_R_T4_the_batch_size_and_the_wall_time_budget_are_settings_with_a_5000_default():
    fields = DispatchSettings.model_fields
    assert (fields["retention_batch_size"].default, fields["retention_max_seconds"].default) == (5000, 300)


async def test_R_T4_a_backlog_of_several_batches_is_archived_in_one_run_and_an_interrupted_run_resumes(
        clean, dispatch_settings, admin_db):
    settings = dispatch_settings(retention_batch_size=BATCH)
    async with running(create_app(settings)) as client:
        first = await _withdrawn(client, 2 * BATCH + 1)

        async def archived():
            rows = await admin_db.fetch("SELECT record_id, run_id FROM dispatch.archived_records WHERE kind = 'job'")
            return {r["record_id"]: r["run_id"] for r in rows}

        # six years on (the default five are over): two replicas at once take the backlog, batch after batch
        later = clock.business_today() + timedelta(days=366 * 6)
        reports = await asyncio.gather(*(run(client, later, batch_size=BATCH) for _ in range(2)))
        final = max((r for r in reports if r is not None), key=lambda r: r["details"]["batches"])
        assert final["jobs_archived"] == len(first) and final["details"]["finished_at"] is not None, reports
        assert final["details"]["batches"] == 3 and final["details"]["jobs_held_back"] == 0
        done = await archived()
        assert set(done) == set(first) and len(done) == len(first)  # each job once, whichever replica took it
        assert await run(client, later) is None  # once a business day

        # the next day: a tick whose budget is spent after its first batch, then the next tick (the background's
        # step, with the configured batch size, on the moved clock) finishes the run
        second = await _withdrawn(client, 2 * BATCH)
        day = later + timedelta(days=1)
        cut = await run(client, day, batch_size=BATCH, max_seconds=0)
        assert cut is not None and cut["jobs_archived"] == BATCH and cut["details"]["finished_at"] is None, cut
        while (left := (day - clock.business_today()).days) > 0:
            clock.advance(timedelta(days=min(left, 400)), environment="test")
        assert clock.business_today() == day
        again = await retain(client.app.state.sessions, client.app.state.dispatch_cfg, settings)
        assert again is not None and again["id"] == cut["id"] and again["jobs_archived"] == len(second), again
        assert again["details"]["batches"] == 3 and again["details"]["finished_at"] is not None
        assert await retain(client.app.state.sessions, client.app.state.dispatch_cfg, settings) is None
        done = await archived()
        assert set(done) == set(first) | set(second) and {done[j] for j in second} == {cut["id"]}
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.jobs WHERE archived_at IS NULL") == 0
