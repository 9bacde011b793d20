"""Intake group commit (ticketing/tickets/hotpath.py, aftersales_shared/group_commit.py): concurrent POSTs share
batches, yet every request gets the answer it would get alone (R-T1, R-T2), and a failing batch never takes the
other requests down with it."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

from aftersales_shared.metrics import GROUP_COMMIT_BATCH

from .conftest import seed_line, seed_unit, ticket_body


def _batches() -> tuple[float, float]:
    """(requests written, batches) so far in this process."""
    samples = {s.name: s.value for m in GROUP_COMMIT_BATCH.collect() for s in m.samples
               if s.labels.get("path") == "ticket_intake"}
    return samples.get("group_commit_batch_size_sum", 0.0), samples.get("group_commit_batch_size_count", 0.0)


async def test_R_T2_a_mixed_burst_is_batched_and_each_request_gets_its_own_answer(client, admin, agent, admin_db):
    await seed_line(client, admin)
    for i in range(20):
        await seed_unit(client, agent, serial=f"SN-B{i:02d}")
    await seed_unit(client, agent, serial="SN-KEY")
    written_before, batches_before = _batches()

    calls = (
        [("fresh", ticket_body(f"SN-B{i:02d}"), agent) for i in range(20)]
        + [("second", ticket_body(f"SN-B{i:02d}", channel="web"), agent) for i in range(10)]
        + [("unknown", ticket_body(f"SN-NONE-{i}"), agent) for i in range(5)]
        + [("same-key", ticket_body("SN-KEY"), {**agent, "Idempotency-Key": "burst-key-0001"}) for _ in range(5)]
        + [("bad-key", ticket_body("SN-LATE"), {**agent, "Idempotency-Key": "burst-key-0002"})]
    )
    results = await asyncio.gather(*(client.post("/v1/tickets", json=b, headers=h) for _, b, h in calls))
    by_kind: dict[str, list] = {}
    for (kind, body, _), r in zip(calls, results, strict=True):
        by_kind.setdefault(kind, []).append((body, r))

    # one ticket per serial: whichever of the two requests came first, the other is told where the open one is
    opened: dict[str, str] = {}
    for body, r in by_kind["fresh"] + by_kind["second"]:
        assert r.status_code in (201, 409), r.text
        if r.status_code == 201:
            assert body["serial"] not in opened
            opened[body["serial"]] = r.json()["id"]
    assert len(opened) == 20
    for body, r in by_kind["fresh"] + by_kind["second"]:
        if r.status_code == 409:
            problem = r.json()
            assert problem["code"] == "open_ticket_exists" and problem["field"] == "serial"
            assert problem["open_ticket"]["id"] == opened[body["serial"]]
    assert Counter(r.status_code for _, r in by_kind["second"] + by_kind["fresh"]) == {201: 20, 409: 10}

    assert all(r.status_code == 422 and r.json()["field"] == "serial" for _, r in by_kind["unknown"])
    same = [r for _, r in by_kind["same-key"]]
    assert {r.status_code for r in same} == {201} and len({r.json()["id"] for r in same}) == 1
    assert by_kind["bad-key"][0][1].status_code == 422

    # the database holds exactly what was answered: tickets, first transitions, one event each
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.tickets") == 21
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.ticket_transitions") == 21
    assert await admin_db.fetchval(
        "SELECT count(*) FROM ticketing.outbox WHERE event_type = 'ticketing.ticket.opened'") == 21
    assert await admin_db.fetchval(
        "SELECT count(DISTINCT ticket_no) FROM ticketing.tickets") == 21
    # a refused request leaves no Idempotency-Key behind: once the unit exists, the same key opens the ticket
    assert await admin_db.fetchval(
        "SELECT count(*) FROM ticketing.idempotency_keys WHERE key = 'burst-key-0002'") == 0
    await seed_unit(client, agent, serial="SN-LATE")
    retry = await client.post("/v1/tickets", json=ticket_body("SN-LATE"),
                              headers={**agent, "Idempotency-Key": "burst-key-0002"})
    assert retry.status_code == 201

    written, batches = _batches()
    assert written - written_before > batches - batches_before, "the burst was never batched"


async def test_a_failing_batch_is_retried_request_by_request(client, admin, agent, admin_db, caplog):
    """A row the database refuses (here a constraint added for the test) fails only its own request."""
    await seed_line(client, admin)
    for i in range(12):
        await seed_unit(client, agent, serial=f"SN-F{i:02d}")
    await admin_db.execute(
        "ALTER TABLE ticketing.tickets ADD CONSTRAINT ck_test_no_boom CHECK (customer_name <> 'BOOM') NOT VALID")
    try:
        bodies = [ticket_body(f"SN-F{i:02d}", customer_name="BOOM" if i == 5 else "王伟") for i in range(12)]
        results = await asyncio.gather(*(
            client.post("/v1/tickets", json=b, headers={**agent, "Idempotency-Key": f"fail-batch-{i:04d}"})
            for i, b in enumerate(bodies)))
    finally:
        await admin_db.execute("ALTER TABLE ticketing.tickets DROP CONSTRAINT ck_test_no_boom")
    assert "writing its requests one by one" in caplog.text  # the refused row really shared a batch
    codes = [r.status_code for r in results]
    assert codes[5] == 409 and results[5].headers["content-type"].startswith("application/problem+json")
    assert codes[:5] + codes[6:] == [201] * 11
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.tickets WHERE serial = 'SN-F05'") == 0
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.tickets") == 11
    assert await admin_db.fetchval(  # the units seeded above are announced too (ticketing.unit.recorded)
        "SELECT count(*) FROM ticketing.outbox WHERE event_type <> 'ticketing.unit.recorded'") == 11
    assert await admin_db.fetchval(
        "SELECT count(*) FROM ticketing.idempotency_keys WHERE key = 'fail-batch-0005'") == 0


def _scans(plan: dict, relation: str) -> list[str]:
    """The scan node types a JSON plan uses on ``relation``."""
    found = [plan["Node Type"]] if plan.get("Relation Name") == relation and "Scan" in plan["Node Type"] else []
    for child in plan.get("Plans", []):
        found += _scans(child, relation)
    return found


async def test_a_batch_frees_refused_keys_through_the_primary_key(client, admin_db):
    """Every batch deletes the Idempotency-Keys of its refused requests; that must not scan the key table, which
    holds a key for every ticket ever opened (an OR in this DELETE once made each batch read all of it)."""
    from ticketing.tickets.hotpath import _ALL, _EXTRA_TYPES, _TYPES, _WRITE

    await admin_db.execute("""
        INSERT INTO ticketing.idempotency_keys (key, fingerprint, status_code)
        SELECT 'old-' || g, 'f', 201 FROM generate_series(1, 20000) g;
        ANALYZE ticketing.idempotency_keys""")
    async with admin_db.transaction():
        await admin_db.execute("SET LOCAL search_path = ticketing, public")
        plan = json.loads(await admin_db.fetchval(
            "EXPLAIN (FORMAT JSON) " + _WRITE, *([[]] * len(_ALL)), ["old-17"]))[0]["Plan"]
    assert len(_TYPES + _EXTRA_TYPES) == len(_ALL)
    scans = _scans(plan, "idempotency_keys")
    assert scans and "Seq Scan" not in scans, scans
