"""Records kept as the contract says (R-T4, issue 16 item 6) in ticketing, against the real database: a finished
ticket (closed or cancelled) is its visit's service record — the database refuses to change it (the one move left
is the reopen, a new visit) or to delete it, its transitions or its repairs; the retention job archives, once a
business day on the moved clock, the finished tickets past the retention term (at least 5 years) and reports it."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import asyncpg
import pytest

from aftersales_shared import clock
from aftersales_shared.testing.plugin import reset_schema, running
from ticketing.background import retain
from ticketing.main import create_app
from ticketing.retention.service import years_before

from .conftest import seed_line, seed_unit, settings, ticket_body

pytestmark = pytest.mark.integration


async def _repair(admin_db, ticket_id, serial, job):
    await admin_db.execute(
        "INSERT INTO ticketing.unit_repairs (id, serial, job_id, ticket_id, completed_on, component, parts_replaced, "
        "in_warranty) VALUES (gen_random_uuid(), $1, $2, $3::uuid, current_date, 'compressor', '[]', true)",
        serial, job, ticket_id)


async def test_R_T4_a_finished_ticket_and_its_repairs_cannot_be_edited_and_a_reopen_is_a_new_visit(
        client, admin, agent, admin_db):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    t = (await client.post("/v1/tickets", json=ticket_body(), headers=agent)).json()
    await _repair(admin_db, t["id"], "SN-0001", "J-1")
    # open: the ticket is worked on (and may change); its repair is a record from the start
    await admin_db.execute("UPDATE ticketing.tickets SET root_cause = 'workmanship' WHERE id = $1::uuid", t["id"])
    r = await client.post(f"/v1/tickets/{t['id']}/cancel", json={"reason": "customer fixed it"}, headers=agent)
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    for sql in ("UPDATE ticketing.tickets SET fault_description = 'rewritten' WHERE id = $1::uuid",
                "UPDATE ticketing.tickets SET status = 'closed' WHERE id = $1::uuid",
                "UPDATE ticketing.tickets SET status = 'open', coverage = 'paid', closed_at = NULL WHERE id = $1::uuid",
                "DELETE FROM ticketing.tickets WHERE id = $1::uuid",
                "UPDATE ticketing.unit_repairs SET in_warranty = false WHERE ticket_id = $1::uuid",
                "DELETE FROM ticketing.unit_repairs WHERE ticket_id = $1::uuid",
                "UPDATE ticketing.ticket_transitions SET actor = 'x' WHERE ticket_id = $1::uuid",
                "DELETE FROM ticketing.ticket_transitions WHERE ticket_id = $1::uuid"):
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="R-T4"):
            await admin_db.execute(sql, t["id"])
    # an update that changes nothing (a redelivered event's no-op) is let through
    await admin_db.execute("UPDATE ticketing.tickets SET status = status WHERE id = $1::uuid", t["id"])
    # the reopen is the one move left: a new visit, the finished one kept in the transitions
    r = await client.post(f"/v1/tickets/{t['id']}/reopen", json={"reason": "fault came back"}, headers=agent)
    assert r.status_code == 200 and r.json()["status"] == "open", r.text
    moves = [(m["from_status"], m["to_status"]) for m in await admin_db.fetch(
        "SELECT from_status, to_status FROM ticketing.ticket_transitions WHERE ticket_id = $1::uuid ORDER BY id",
        t["id"])]
    assert moves[-2:] == [("open", "cancelled"), ("cancelled", "open")]


@pytest.fixture
async def quiet_client(infra_settings, admin_db):
    """The app without its periodic jobs: the test runs the retention step itself, on the clock it moved."""
    async with running(create_app(settings(infra_settings, run_background=False))) as c:
        await reset_schema(admin_db, "ticketing")
        yield c


async def test_R_T4_retention_job_archives_finished_tickets_past_the_term_once_a_day_on_the_moved_clock(
        quiet_client, admin, agent, auth_headers, admin_db):
    client = quiet_client
    await seed_line(client, admin)
    tickets = {}
    for serial in ("SN-OLD1", "SN-NEW1", "SN-OPEN1"):
        await seed_unit(client, agent, serial=serial)
        tickets[serial] = (await client.post("/v1/tickets", json=ticket_body(serial), headers=agent)).json()
    await _repair(admin_db, tickets["SN-OLD1"]["id"], "SN-OLD1", "J-OLD")
    day0 = clock.business_today()
    r = await client.post(f"/v1/tickets/{tickets['SN-OLD1']['id']}/cancel", json={"reason": "done"}, headers=agent)
    assert r.status_code == 200, r.text
    clock.advance(timedelta(days=1), environment="test")
    r = await client.post(f"/v1/tickets/{tickets['SN-NEW1']['id']}/cancel", json={"reason": "done"}, headers=agent)
    assert r.status_code == 200, r.text

    # to the day when day0 is past the 5-year term and day0 + 1 is not
    target = years_before(day0, -5) + timedelta(days=1)
    while (left := (target - clock.business_today()).days) > 0:
        clock.advance(timedelta(days=min(left, 400)), environment="test")
    assert years_before(clock.business_today(), 5) == day0 + timedelta(days=1)
    run = await retain(client.app)
    assert run is not None and run["retention_years"] == 5 and run["tickets_archived"] == 1, run
    assert run["details"]["rows_archived"]["unit_repairs"] == 1
    assert await retain(client.app) is None  # once a business day

    left = {r["serial"] for r in await admin_db.fetch("SELECT serial FROM ticketing.tickets")}
    assert left == {"SN-NEW1", "SN-OPEN1"}  # the younger finished one and the open one stay, whatever its age
    doc = json.loads(await admin_db.fetchval(
        "SELECT document FROM ticketing.archived_records WHERE kind = 'ticket' AND record_id = $1",
        tickets["SN-OLD1"]["id"]))
    assert doc["status"] == "cancelled" and [x["job_id"] for x in doc["repairs"]] == ["J-OLD"]
    assert [x["to_status"] for x in doc["transitions"]][-1] == "cancelled"
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="R-T4"):  # the archive is append-only
        await admin_db.execute("DELETE FROM ticketing.archived_records")

    ops = auth_headers("ops", sub="ops-1")
    runs = (await client.get("/v1/retention/runs", headers=ops)).json()
    assert [(x["tickets_archived"], x["cutoff"]) for x in runs] == [(1, (day0 + timedelta(days=1)).isoformat())]
    assert (await client.get("/v1/retention/runs", headers=agent)).status_code == 403

    clock.advance(timedelta(days=1), environment="test")  # the next business day: the next one goes
    run = await retain(client.app)
    assert run is not None and run["tickets_archived"] == 1


async def _to_day(target):
    while (left := (target - clock.business_today()).days) > 0:
        clock.advance(timedelta(days=min(left, 400)), environment="test")


async def test_R_T4_retention_and_purge_years_are_contract_terms_and_the_archive_is_purged_past_its_term(
        quiet_client, admin, agent, auth_headers, admin_db):
    """Retention years (≥ 5) and the archive's purge years are effective-dated terms of the ticket's contract
    (default: configuration); the retention job archives each finished ticket past its contract's retention and
    purges each archived one past its contract's purge term, reporting both; only that job deletes from the archive.
    """
    client = quiet_client
    await seed_line(client, admin)
    suffix = uuid.uuid4().hex[:6]
    long_c, short_c = f"LONG-{suffix}", f"SHORT-{suffix}"
    url = f"/v1/contracts/{long_c}/retention-terms"
    today = clock.business_today()
    # R-T4: at least 5 years — a 4 is refused naming the field; never backdated
    r = await client.put(url, json={"effective_from": today.isoformat(), "retention_years": 4, "reason": "x" * 5},
                         headers=admin)
    assert r.status_code == 422 and r.json()["field"] == "retention_years", r.text
    r = await client.put(url, headers=admin, json={"effective_from": (today - timedelta(days=1)).isoformat(),
                                                   "retention_years": 7, "reason": "public-sector contract"})
    assert r.status_code == 422 and r.json()["code"] == "terms_backdated" and r.json()["field"] == "effective_from"
    r = await client.put(url, json={"effective_from": today.isoformat(), "reason": "nothing"}, headers=admin)
    assert r.status_code == 422, r.text
    r = await client.put(url, headers=agent, json={"effective_from": today.isoformat(), "retention_years": 7,
                                                   "reason": "public-sector contract"})
    assert r.status_code == 403
    r = await client.put(url, headers=admin, json={"effective_from": today.isoformat(), "retention_years": 7,
                                                   "reason": "public-sector contract"})
    assert r.status_code == 201 and r.json()["values"] == {"retention_years": 7}, r.text
    r = await client.put(f"/v1/contracts/{short_c}/retention-terms", headers=admin, json={
        "effective_from": today.isoformat(), "purge_after_years": 1, "reason": "archive kept one year"})
    assert r.status_code == 201, r.text
    terms = (await client.get(url, headers=auth_headers("ops", sub="ops-1"))).json()
    assert (terms["retention_years"], terms["purge_after_years"], terms["source"]) == (
        7, 10, {"retention_years": 1, "purge_after_years": None})
    default = (await client.get("/v1/contracts/GOLD/retention-terms", headers=agent)).json()
    assert (default["retention_years"], default["purge_after_years"], default["version"]) == (5, 10, None)
    history = (await client.get(f"/v1/contracts/{long_c}/complaint-terms/history", headers=agent)).json()
    assert [(h["version"], h["created_by"], h["reason"]) for h in history] == [(1, "admin-1", "public-sector contract")]

    tickets = {}
    for name, contract in (("gold", "GOLD"), ("long", long_c), ("short", short_c)):
        serial = f"SN-{name.upper()}-{suffix}"
        await seed_unit(client, agent, serial=serial, contract_code=contract)
        t = (await client.post("/v1/tickets", json=ticket_body(serial), headers=agent)).json()
        r = await client.post(f"/v1/tickets/{t['id']}/cancel", json={"reason": "done"}, headers=agent)
        assert r.status_code == 200, r.text
        tickets[name] = t["id"]
    day0 = clock.business_today()

    async def archived():
        return {r["record_id"] for r in await admin_db.fetch("SELECT record_id FROM ticketing.archived_records")}

    await _to_day(years_before(day0, -5) + timedelta(days=1))  # past 5 years, not 7
    run = await retain(client.app)
    assert run["tickets_archived"] == 2 and run["records_purged"] == 0, run
    assert run["details"]["contracts"][long_c]["retention_years"] == 7
    assert await archived() == {tickets["gold"], tickets["short"]}
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="R-T4"):  # an ordinary DELETE: refused
        await admin_db.execute("DELETE FROM ticketing.archived_records WHERE record_id = $1", tickets["short"])

    await _to_day(clock.business_today() + timedelta(days=370))  # the short contract's archive is a year old
    run = await retain(client.app)
    assert (run["tickets_archived"], run["records_purged"]) == (0, 1), run
    assert run["details"]["purged_by_contract"] == {short_c: 1}
    assert await archived() == {tickets["gold"]}

    await _to_day(years_before(day0, -7) + timedelta(days=1))  # the long contract's 7 years are over
    run = await retain(client.app)
    assert (run["tickets_archived"], run["records_purged"]) == (1, 0), run
    assert await archived() == {tickets["gold"], tickets["long"]}

    await _to_day(years_before(day0, -15) + timedelta(days=2))  # the default 10 years after the gold one's archiving
    run = await retain(client.app)
    assert run["records_purged"] == 1 and await archived() == {tickets["long"]}, run
    for sql in ("DELETE FROM ticketing.archived_records", "UPDATE ticketing.archived_records SET dealer_id = 'x'"):
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="R-T4"):
            await admin_db.execute(sql)
    runs = (await client.get("/v1/retention/runs", headers=auth_headers("ops", sub="ops-1"))).json()
    assert [(x["tickets_archived"], x["records_purged"]) for x in runs] == [(0, 1), (1, 0), (0, 1), (2, 0)]
