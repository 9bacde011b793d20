"""R-T4 (issue 16 item 6): settlement's daily retention run catches up, against the real database: batch after batch
(``SETTLEMENT_RETENTION_BATCH_SIZE`` records, and as many archived rows purged, each batch its own transaction) until
nothing is past retention or purge, the run's report counting the totals; once a business day; a run cut short by its
wall-time budget (``SETTLEMENT_RETENTION_MAX_SECONDS``) is resumed by the next tick without archiving anything
twice."""

from __future__ import annotations

import pytest

from aftersales_shared import clock
from aftersales_shared.testing.plugin import reset_schema, running
from settlement.background import retain
from settlement.config import SettlementSettings
from settlement.main import create_app
from settlement.retention import service as retention
from settlement.terms.service import defaults_of

from .test_retention import _repair_record

pytestmark = pytest.mark.integration
BATCH = 2


@pytest.fixture
async def small_batches(infra_settings, admin_db):
    """The app (no consumers, no periodic jobs) archiving ``BATCH`` records a transaction."""
    await reset_schema(admin_db, "settlement")
    settings = SettlementSettings(**infra_settings("settlement"), run_consumers=False, run_relay=False,
                                  run_background=False, retention_batch_size=BATCH)
    async with running(create_app(settings)) as c:
        yield c


def test_R_T4_the_batch_size_and_the_wall_time_budget_are_settings_with_a_5000_default():
    fields = SettlementSettings.model_fields
    assert (fields["retention_batch_size"].default, fields["retention_max_seconds"].default) == (5000, 300)


async def test_R_T4_a_backlog_of_several_batches_is_archived_in_one_run_and_an_interrupted_run_resumes(
        small_batches, fin, admin_db):
    client = small_batches
    old = "2021-05-10 04:00:00+00"  # more than 5 years before the real day
    first = [("SD1", f"J-A{i}") for i in range(3)] + [("SD2", f"J-B{i}") for i in range(3)]
    for dealer, job in first:
        await _repair_record(admin_db, job, dealer, old)
    await _repair_record(admin_db, "J-NEW", "SD1", "2026-05-10 04:00:00+00")  # not past the term: stays

    async def archived():
        rows = await admin_db.fetch("SELECT record_id, run_id FROM settlement.archived_records")
        return {r["record_id"]: r["run_id"] for r in rows}

    run = await retain(client.app)  # six records, two a batch: one run takes them all
    assert run is not None and (run["repair_records_archived"], run["statements_archived"]) == (6, 0), run
    assert (run["details"]["SD1"]["repair_records"], run["details"]["SD2"]["repair_records"]) == (3, 3)
    assert run["details"]["SD1"]["retention_years"] == 5 and run["details"]["finished_at"] is not None
    assert run["details"]["batches"] == 4  # three full batches, then one that finds nothing left
    assert set(await archived()) == {job for _, job in first}
    assert await retain(client.app) is None  # once a business day

    # the next day: late service records of old jobs, and a tick whose budget is spent after its first batch
    moved = await client.post("/v1/admin/clock", headers=fin["admin"], json={"seconds": 86400})
    assert moved.status_code == 200, moved.text
    late = [f"J-L{i}" for i in range(5)]
    for job in late:
        await _repair_record(admin_db, job, "SD1", old)
    cut = await retention.run_day(client.app.state.sessions, today=clock.business_today(), now=clock.now(),
                                  defaults=defaults_of(client.app.state.settings), batch_size=BATCH, max_seconds=0)
    assert cut is not None and cut["repair_records_archived"] == BATCH and cut["details"]["finished_at"] is None
    run = await retain(client.app)  # the next tick resumes the same run
    assert run is not None and run["id"] == cut["id"] and run["repair_records_archived"] == len(late), run
    assert run["details"]["SD1"]["repair_records"] == len(late) and run["details"]["finished_at"] is not None
    assert await retain(client.app) is None
    done = await archived()
    assert set(done) == {job for _, job in first} | set(late) and {done[j] for j in late} == {cut["id"]}
    assert {r[0] for r in await admin_db.fetch("SELECT job_id FROM settlement.repair_records")} == {"J-NEW"}

    listed = (await client.get("/v1/retention/runs", headers=fin["ops"])).json()
    assert [x["repair_records_archived"] for x in listed] == [len(late), len(first)]
