"""R-T4 (issue 16 item 6): the daily retention run catches up, against the real database on the moved clock: batch
after batch (``TICKETING_RETENTION_BATCH_SIZE``, each batch its own transaction) until nothing is past retention,
the run's report counting the totals; once a business day; a run cut short by its wall-time budget
(``TICKETING_RETENTION_MAX_SECONDS``) is resumed by the next tick and finishes without archiving anything twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.testing.plugin import reset_schema, running
from ticketing.background import retain
from ticketing.config import TicketingSettings
from ticketing.main import create_app
from ticketing.retention import service as retention
from ticketing.retention.service import years_before
from ticketing.terms.service import record_defaults

from .conftest import seed_line, seed_unit, settings, ticket_body

pytestmark = pytest.mark.integration
BATCH = 2


@pytest.fixture
async def small_batches(infra_settings, admin_db):
    """The app without its periodic jobs, archiving ``BATCH`` tickets a transaction."""
    async with running(create_app(settings(infra_settings, run_background=False,
                                           retention_batch_size=BATCH))) as c:
        await reset_schema(admin_db, "ticketing")
        yield c


async def _finished(client, agent, prefix, n):
    ids = []
    for i in range(n):
        serial = f"SN-{prefix}{i}"
        await seed_unit(client, agent, serial=serial)
        t = (await client.post("/v1/tickets", json=ticket_body(serial), headers=agent)).json()
        r = await client.post(f"/v1/tickets/{t['id']}/cancel", json={"reason": "done"}, headers=agent)
        assert r.status_code == 200, r.text
        ids.append(t["id"])
    return ids


async def _to_day(target):
    while (left := (target - clock.business_today()).days) > 0:
        clock.advance(timedelta(days=min(left, 400)), environment="test")


def test_R_T4_the_batch_size_and_the_wall_time_budget_are_settings_with_a_5000_default():
    fields = TicketingSettings.model_fields
    assert (fields["retention_batch_size"].default, fields["retention_max_seconds"].default) == (5000, 300)


async def test_R_T4_a_backlog_of_several_batches_is_archived_in_one_run_and_an_interrupted_run_resumes(
        small_batches, admin, agent, auth_headers, admin_db):
    client = small_batches
    await seed_line(client, admin)
    first = await _finished(client, agent, "A", 2 * BATCH + 1)  # three batches' worth
    day0 = clock.business_today()
    clock.advance(timedelta(days=1), environment="test")
    second = await _finished(client, agent, "B", 2 * BATCH + 1)

    async def archived():
        rows = await admin_db.fetch("SELECT record_id, run_id FROM ticketing.archived_records WHERE kind = 'ticket'")
        return {r["record_id"]: r["run_id"] for r in rows}

    # day0 past the 5 years, day0 + 1 not yet: the whole first backlog goes in one run, batch after batch
    await _to_day(years_before(day0, -5) + timedelta(days=1))
    run = await retain(client.app)
    assert run is not None and run["tickets_archived"] == len(first), run
    assert run["details"]["batches"] == 3 and run["details"]["finished_at"] is not None
    assert run["details"]["rows_archived"]["ticket_transitions"] == await admin_db.fetchval(
        "SELECT sum(jsonb_array_length(document -> 'transitions')) FROM ticketing.archived_records")
    assert set(await archived()) == set(first)
    assert await retain(client.app) is None  # once a business day: the second tick does nothing

    # the next day, a tick whose wall-time budget is spent after its first batch (as if the replica stopped)
    clock.advance(timedelta(days=1), environment="test")
    today = clock.business_today()
    cut = await retention.run_day(client.app.state.sessions, today=today, now=clock.now(),
                                  defaults=record_defaults(client.app.state.settings), batch_size=BATCH,
                                  max_seconds=0)
    assert cut is not None and cut["tickets_archived"] == BATCH and cut["details"]["finished_at"] is None, cut
    assert len(await archived()) == len(first) + BATCH
    run = await retain(client.app)  # the next tick resumes the same run
    assert run is not None and run["id"] == cut["id"] and run["tickets_archived"] == len(second), run
    assert run["details"]["batches"] == 3 and run["details"]["finished_at"] is not None
    assert await retain(client.app) is None
    done = await archived()
    assert set(done) == set(first) | set(second) and {done[t] for t in second} == {cut["id"]}
    assert not await admin_db.fetchval("SELECT count(*) FROM ticketing.tickets")

    runs = (await client.get("/v1/retention/runs", headers=auth_headers("ops", sub="ops-1"))).json()
    assert [(x["run_on"], x["tickets_archived"]) for x in runs] == [
        (today.isoformat(), len(second)), ((today - timedelta(days=1)).isoformat(), len(first))]

    # ten years on (the default purge term): the whole archive is purged in one run, batch after batch too
    await _to_day(years_before(today, -10) + timedelta(days=1))
    run = await retain(client.app)
    assert run is not None and (run["tickets_archived"], run["records_purged"]) == (0, len(first) + len(second))
    assert run["details"]["purged_by_contract"] == {"GOLD": len(first) + len(second)}, run["details"]
    assert run["details"]["batches"] == 6 and not await archived()  # five full batches, then an empty one
