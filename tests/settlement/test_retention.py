"""Records kept as the contract says (R-T4; issue 16 item 6): a closed statement and a service record are
immutable in the database (corrections are new records), and the retention job archives — once a business day,
on the moved clock — what is past each dealer's retention term (at least 5 years), reporting what it did."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal as D

import asyncpg
import pytest

from aftersales_shared import clock
from aftersales_shared.testing.plugin import running, wait_for
from settlement.background import retain
from settlement.config import SettlementSettings
from settlement.main import create_app

from .conftest import add_ledger, setup_dealer

pytestmark = pytest.mark.integration


async def _close(client, fin, dealer, quarter, *, pay=True):
    r = await client.post("/v1/statement-runs", json={"quarter": quarter, "dealer_ids": [dealer]},
                          headers=fin["maker"])
    assert r.status_code == 200, r.text
    sid = r.json()["created"][0]["statement_id"]
    for step, who in (("review", "maker"), ("approve", "checker")) + ((("pay", "checker"),) if pay else ()):
        r = await client.post(f"/v1/statements/{sid}/{step}", headers=fin[who])
        assert r.status_code == 200, r.text
    return sid


async def _repair_record(admin_db, job, dealer, completed_at):
    await admin_db.execute(
        "INSERT INTO settlement.repair_records (job_id, dealer_id, serial, product_line, coverage, parts_used, "
        "labour_minutes, home_visit, remote, sla_met, work_done, completed_at, month, event_id, created_at) "
        "VALUES ($1, $2, 'SN-1', 'washer', 'warranty', '[]', 30, true, false, '{}', 'fixed', "
        "$3::text::timestamptz, date_trunc('month', $3::text::timestamptz AT TIME ZONE 'Asia/Shanghai')::date, "
        "'ev-' || $1, now())", job, dealer, completed_at)


async def test_R_T4_a_closed_statement_and_a_service_record_cannot_be_edited_or_deleted(client, fin, admin_db):
    await setup_dealer(client, fin["admin"], "SD1", effective_from="2021-01-01")
    await add_ledger(admin_db, "SD1", "repair", n=3, quarter="2026Q1", at="2026-02-10 04:00:00+00")
    sid = await _close(client, fin, "SD1", "2026Q1", pay=False)  # approved: only the move to paid is left
    for sql in ("UPDATE settlement.statements SET net_amount = 1 WHERE id = $1::uuid",
                "UPDATE settlement.statements SET status = 'draft' WHERE id = $1::uuid",
                "DELETE FROM settlement.statements WHERE id = $1::uuid",
                "UPDATE settlement.statement_lines SET amount = 0 WHERE statement_id = $1::uuid",
                "DELETE FROM settlement.statement_lines WHERE statement_id = $1::uuid",
                "INSERT INTO settlement.statement_lines (statement_id, line_no, code, category, description, quantity, "
                "amount) VALUES ($1::uuid, 99, 'x', 'fee', 'slipped in', 1, 5)"):
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="R-T4"):
            await admin_db.execute(sql, sid)
    r = await client.post(f"/v1/statements/{sid}/pay", headers=fin["checker"])
    assert r.status_code == 200 and r.json()["status"] == "paid"  # approved → paid is the one move left
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="closed"):
        await admin_db.execute("UPDATE settlement.statements SET paid_by = 'someone else' WHERE id = $1::uuid", sid)
    row = await admin_db.fetchrow("SELECT net_amount, status FROM settlement.statements WHERE id = $1::uuid", sid)
    assert row["status"] == "paid" and row["net_amount"] == 240  # 3 × 80.00, untouched
    # the service record: never updated, not deleted unless archived
    await _repair_record(admin_db, "J-1", "SD1", "2026-02-10 04:00:00+00")
    for sql in ("UPDATE settlement.repair_records SET root_cause = 'customer' WHERE job_id = $1",
                "DELETE FROM settlement.repair_records WHERE job_id = $1"):
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="service record"):
            await admin_db.execute(sql, "J-1")


async def test_R_T4_retention_job_archives_what_is_past_each_dealers_term_once_a_day_on_the_moved_clock(
        client, fin, admin_db):
    today = clock.business_today()  # the real day: 2021Q2 is more than 5 years ago, 2021Q4 ends less than 5
    for d in ("SD1", "SD2"):
        await setup_dealer(client, fin["admin"], d, effective_from="2021-01-01")
        for q, at in (("2021Q2", "2021-05-10 04:00:00+00"), ("2021Q4", "2021-12-10 04:00:00+00"),
                      ("2021Q3", "2021-08-10 04:00:00+00")):
            await add_ledger(admin_db, d, "repair", n=2, quarter=q, at=at, tag=q)
    # SD2's agreement keeps records 7 years (a dealer term); SD1 has the configured default, 5
    await admin_db.execute(
        "INSERT INTO settlement.dealer_terms (dealer_id, version, effective_from, values, created_by, created_at) "
        "VALUES ('SD2', 1, '2021-01-01', $1::jsonb, 'setup', now())", json.dumps({"retention_years": 7}))
    old = {d: await _close(client, fin, d, "2021Q2") for d in ("SD1", "SD2")}
    late = await _close(client, fin, "SD1", "2021Q4")
    draft = (await client.post("/v1/statement-runs", json={"quarter": "2021Q3", "dealer_ids": ["SD1"]},
                               headers=fin["maker"])).json()["created"][0]["statement_id"]  # never closed
    await _repair_record(admin_db, "J-OLD", "SD1", "2021-05-10 04:00:00+00")
    await _repair_record(admin_db, "J-OLD-7", "SD2", "2021-05-10 04:00:00+00")
    await _repair_record(admin_db, "J-NEW", "SD1", "2026-05-10 04:00:00+00")

    run = await retain(client.app)
    assert run is not None and run["run_on"] == today
    assert (run["statements_archived"], run["repair_records_archived"]) == (1, 1)
    assert run["details"]["SD1"]["retention_years"] == 5 and "SD2" not in run["details"]
    assert await retain(client.app) is None  # once a day
    live = {r[0] for r in await admin_db.fetch("SELECT id::text FROM settlement.statements")}
    assert old["SD1"] not in live and {old["SD2"], late, draft} <= live
    doc = json.loads(await admin_db.fetchval(
        "SELECT document FROM settlement.archived_records WHERE kind = 'statement' AND record_id = $1", old["SD1"]),
        parse_float=D)  # the amounts exactly as they were
    assert doc["quarter"] == "2021Q2" and doc["status"] == "paid" and doc["gross_fee"] == D("160.00")
    assert [ln["amount"] for ln in doc["lines"] if ln["code"] == "fee_repairs"] == [D("160.00")]
    assert not await admin_db.fetchval("SELECT count(*) FROM settlement.statement_lines WHERE statement_id = $1::uuid",
                                       old["SD1"])
    jobs = {r[0] for r in await admin_db.fetch("SELECT job_id FROM settlement.repair_records")}
    assert jobs == {"J-OLD-7", "J-NEW"}
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="R-T4"):  # the archive is append-only
        await admin_db.execute("DELETE FROM settlement.archived_records")

    # a year and more later on the moved clock: SD1's 2021Q4 is past 5 years, SD2's 2021Q2 not yet past 7
    for _ in range(2):
        moved = await client.post("/v1/admin/clock", headers=fin["admin"], json={"seconds": 200 * 86400})
        assert moved.status_code == 200, moved.text
    run2 = await retain(client.app)
    assert run2 is not None and run2["run_on"] == today + timedelta(days=400)
    assert (run2["statements_archived"], run2["repair_records_archived"]) == (1, 0)
    live = {r[0] for r in await admin_db.fetch("SELECT id::text FROM settlement.statements")}
    assert late not in live and {old["SD2"], draft} <= live

    r = await client.get("/v1/retention/runs", headers=fin["ops"])
    assert r.status_code == 200, r.text
    assert [(x["run_on"], x["statements_archived"], x["repair_records_archived"]) for x in r.json()] == [
        (str(run2["run_on"]), 1, 0), (str(today), 1, 1)]
    assert r.json()[1]["details"]["SD1"]["statements"] == 1
    assert (await client.get("/v1/retention/runs", headers=fin["d1"])).status_code == 403


async def test_R_T4_the_retention_job_runs_by_itself_in_the_background(infra_settings, admin_db):
    from aftersales_shared.testing.isolation import own_kafka
    from aftersales_shared.testing.plugin import reset_schema
    await reset_schema(admin_db, "settlement")
    settings = SettlementSettings(**infra_settings("settlement", **own_kafka("settlement")),
                                  retention_every_seconds=0.2)
    async with running(create_app(settings)):
        async def ran():
            return await admin_db.fetchrow("SELECT * FROM settlement.retention_runs WHERE run_on = $1",
                                           clock.business_today())
        row = await wait_for(ran, what="the day's retention run")
    assert row["statements_archived"] == 0


def test_R_T4_retention_term_is_at_least_five_years():
    from pydantic import ValidationError

    from settlement.terms.schemas import DealerTermValues
    with pytest.raises(ValidationError, match="retention_years"):
        DealerTermValues(retention_years=4)
    assert DealerTermValues(retention_years=10).retention_years == 10
    with pytest.raises(ValidationError):
        SettlementSettings(terms_retention_years=3)


async def test_R_T4_the_retention_job_purges_archived_records_past_each_dealers_purge_term_on_the_moved_clock(
        client, fin, admin_db):
    """R-T4: the job "archives or purges what is past it": an archived statement or service record is purged once it
    has been archived longer than the dealer's ``purge_after_years`` (a dealer term, default 10); only the job may
    delete from the archive, and the run reports what it archived and what it purged."""
    clock.reset(environment="test")
    try:
        today = clock.business_today()
        for d in ("SD1", "SD2"):
            await setup_dealer(client, fin["admin"], d, effective_from="2021-01-01")
            await add_ledger(admin_db, d, "repair", n=2, quarter="2021Q2", at="2021-05-10 04:00:00+00", tag="q2")
        r = await client.put("/v1/dealers/SD2/terms", headers=fin["admin"], json={
            "effective_from": today.isoformat(), "values": {"purge_after_years": 0}, "reason": "archive one year"})
        assert r.status_code == 422 and r.json()["field"] == "values.purge_after_years", r.text
        r = await client.put("/v1/dealers/SD2/terms", headers=fin["admin"], json={
            "effective_from": today.isoformat(), "values": {"purge_after_years": 1}, "reason": "archive one year"})
        assert r.status_code == 201, r.text
        old = {d: await _close(client, fin, d, "2021Q2") for d in ("SD1", "SD2")}
        await _repair_record(admin_db, "J-P2", "SD2", "2021-05-10 04:00:00+00")

        run = await retain(client.app)
        assert (run["statements_archived"], run["repair_records_archived"], run["records_purged"]) == (2, 1, 0)

        async def archived():
            return {r[0] for r in await admin_db.fetch("SELECT record_id FROM settlement.archived_records")}

        assert await archived() == {old["SD1"], old["SD2"], "J-P2"}
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="R-T4"):  # an ordinary DELETE: refused
            await admin_db.execute("DELETE FROM settlement.archived_records WHERE dealer_id = 'SD2'")

        async def move_to(day):
            while (left := (day - clock.business_today()).days) > 0:
                moved = await client.post("/v1/admin/clock", headers=fin["admin"],
                                          json={"seconds": min(left, 400) * 86400})
                assert moved.status_code == 200, moved.text

        await move_to(today + timedelta(days=370))  # SD2's archive is more than a year old; SD1's keeps 10 years
        run = await retain(client.app)
        assert (run["statements_archived"], run["records_purged"]) == (0, 2), run
        assert run["details"]["SD2"]["purged"] == {"statement": 1, "repair_record": 1}
        assert await archived() == {old["SD1"]}

        await move_to(today + timedelta(days=366 * 10 + 2))
        run = await retain(client.app)
        assert run["records_purged"] == 1 and await archived() == set(), run
        r = await client.get("/v1/retention/runs", headers=fin["ops"])
        assert [x["records_purged"] for x in r.json()] == [1, 2, 0]
    finally:
        clock.reset(environment="test")
