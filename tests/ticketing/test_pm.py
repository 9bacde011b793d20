"""Preventive maintenance (R-S10, issue 16 item 4): plans are data, occurrences are generated ahead of time once
per plan, unit and period (idempotent across restarts and two runners), a visit opens a maintenance ticket with its
window, the checklist becomes the service record, a missed window is an SLA event (``ticketing.pm.missed``)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales_shared import clock
from aftersales_shared.testing.plugin import reset_schema, running
from ticketing.background import pm_step
from ticketing.domain import pm
from ticketing.domain.pm_lifecycle import MOVES, PM_STATUSES
from ticketing.main import create_app

from .conftest import seed_line, seed_unit, settings

terms_st = st.builds(pm.PlanTerms, every_months=st.integers(1, 24), window_days=st.integers(1, 120),
                     lead_days=st.integers(0, 60), effective_from=st.dates(date(2020, 1, 1), date(2030, 12, 31)))


@given(terms_st, st.dates(date(2019, 1, 1), date(2032, 12, 31)))
def test_R_S10_due_periods_are_on_the_plan_grid_generated_ahead_and_never_after_the_window(terms, today):
    due = pm.due_periods(terms, today)
    starts = [p.start for p in due]
    assert starts == sorted(set(starts))  # each period once
    grid = {pm.period(terms, k).start: pm.period(terms, k) for k in range(0, 400)}
    for p in due:
        assert grid[p.start] == p and p.end == p.start + timedelta(days=terms.window_days)
        assert p.start - timedelta(days=terms.lead_days) <= today < p.end
    # every grid period whose generation day came and whose window is still open is due (none forgotten)
    for p in grid.values():
        if p.start - timedelta(days=terms.lead_days) <= today < p.end:
            assert p in due


@given(terms_st, st.dates(date(2019, 1, 1), date(2032, 12, 31)), st.integers(1, 400))
def test_R_S10_a_period_due_yesterday_and_still_open_is_due_today(terms, today, days):
    later = today + timedelta(days=days)
    for p in pm.due_periods(terms, today):
        assert (p in pm.due_periods(terms, later)) == (later < p.end)


def test_R_S10_quarterly_grid_clamps_to_month_end():
    t = pm.PlanTerms(every_months=1, window_days=3, lead_days=0, effective_from=date(2027, 1, 31))
    assert [pm.period(t, k).start for k in range(3)] == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)]


def test_pm_lifecycle_moves_stay_within_the_statuses():
    for move in MOVES.values():
        assert move.to in PM_STATUSES and set(move.allowed_from) <= set(PM_STATUSES)


@pytest.fixture
async def pm_client(infra_settings, admin_db):
    clock.reset(environment="test")
    async with running(create_app(settings(infra_settings, run_background=False))) as c:
        await reset_schema(admin_db, "ticketing")
        yield c
    clock.reset(environment="test")


async def _occurrences(admin_db, serial):
    return [dict(r) for r in await admin_db.fetch(
        "SELECT * FROM ticketing.pm_occurrences WHERE serial = $1 ORDER BY period_start", serial)]


async def _payloads(admin_db, event_type, serial):
    rows = await admin_db.fetch("SELECT payload FROM ticketing.outbox WHERE event_type = $1", event_type)
    return [p for p in (json.loads(r["payload"])["payload"] for r in rows) if p["serial"] == serial]


async def _move_clock(client, admin, days):
    r = await client.post("/v1/admin/clock", headers=admin, json={"seconds": days * 86400})
    assert r.status_code == 200, r.text


async def test_R_S10_a_pm_plan_creates_the_next_quarters_visit_once_with_a_maintenance_ticket_and_its_checklist(
        pm_client, infra_settings, admin, agent, auth_headers, admin_db):
    c = pm_client
    await seed_line(c, admin)
    serial, contract = f"SN-PM-{uuid.uuid4().hex[:8]}", f"PM-{uuid.uuid4().hex[:8]}"
    await seed_unit(c, agent, serial=serial, contract_code=contract, address="南京市鼓楼区中山路1号",
                    region_code="320106")
    start = clock.business_today() + timedelta(days=20)
    body = {"every_months": 3, "window_days": 14, "lead_days": 14, "effective_from": start.isoformat()}
    r = await c.put(f"/v1/pm-plans/contract/{contract}/visit", json=body, headers=admin)
    assert r.status_code == 200, r.text
    r = await c.get(f"/v1/pm-plans/contract/{contract}", headers=auth_headers("ops", sub="ops-1"))
    assert [p["every_months"] for p in r.json()] == [3]

    await pm_step(c.app)
    assert await _occurrences(admin_db, serial) == []  # 20 days ahead, 14 days lead: not yet
    await _move_clock(c, admin, 7)
    await asyncio.gather(pm_step(c.app), pm_step(c.app))  # two replicas at once
    await pm_step(c.app)
    occ = await _occurrences(admin_db, serial)
    assert [(o["period_start"], o["status"]) for o in occ] == [(start, "scheduled")]
    ticket_id = occ[0]["ticket_id"]
    t = (await c.get(f"/v1/tickets/{ticket_id}", headers=agent)).json()
    assert t["coverage"] == "maintenance" and t["serial"] == serial
    opened = await _payloads(admin_db, "ticketing.ticket.opened", serial)
    assert len(opened) == 1  # one ticket, one event, although two runners raced
    assert opened[0]["kind"] == "maintenance" and opened[0]["coverage"] == "maintenance"
    window = [clock.business_date(datetime.fromisoformat(opened[0][k])) for k in ("window_start", "window_end")]
    assert window == [start, start + timedelta(days=14)]  # business-day midnights (Asia/Shanghai)

    # a restart generates nothing new
    async with running(create_app(settings(infra_settings, run_background=False))) as c2:
        await pm_step(c2.app)
    assert [o["id"] for o in await _occurrences(admin_db, serial)] == [occ[0]["id"]]

    r = await c.get("/v1/pm-occurrences", params={"status": "scheduled", "serial": serial}, headers=agent)
    assert r.status_code == 200 and [o["id"] for o in r.json()] == [str(occ[0]["id"])]
    items = {"items": [{"item": "filter cleaned", "ok": True}, {"item": "refrigerant pressure", "ok": False,
                                                                 "note": "low; recharge booked"}]}
    r = await c.post(f"/v1/pm-occurrences/{occ[0]['id']}/checklist", json=items, headers=agent)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed" and r.json()["checklist"][1]["note"] == "low; recharge booked"
    again = await c.post(f"/v1/pm-occurrences/{occ[0]['id']}/checklist", json=items, headers=agent)
    assert again.status_code == 409 and again.json()["field"] == "occurrence_id"
    # an engineer whose job never moved the ticket does not find it
    eng = auth_headers("engineer", sub="E-x", engineer_id="E-x")
    r = await c.post(f"/v1/pm-occurrences/{occ[0]['id']}/checklist", json=items, headers=eng)
    assert r.status_code == 404

    # the window closes: a completed visit is not missed
    await _move_clock(c, admin, 30)
    await pm_step(c.app)
    assert (await _occurrences(admin_db, serial))[0]["status"] == "completed"


async def test_R_S10_a_missed_pm_call_window_is_an_sla_event_once(pm_client, admin, agent, admin_db):
    c = pm_client
    await seed_line(c, admin)
    serial = f"SN-PMC-{uuid.uuid4().hex[:8]}"
    await seed_unit(c, agent, serial=serial)
    start = clock.business_today()
    r = await c.put(f"/v1/pm-plans/unit/{serial}/call", headers=agent, json={
        "every_months": 1, "window_days": 5, "lead_days": 0, "effective_from": start.isoformat()})
    assert r.status_code == 200, r.text
    await pm_step(c.app)
    occ = await _occurrences(admin_db, serial)
    assert [(o["kind"], o["status"], o["ticket_id"]) for o in occ] == [("call", "due", None)]  # a call-center task
    r = await c.get("/v1/pm-occurrences", params={"kind": "call", "status": "due", "serial": serial}, headers=agent)
    assert len(r.json()) == 1
    await _move_clock(c, admin, 6)
    await pm_step(c.app)
    await pm_step(c.app)
    occ = await _occurrences(admin_db, serial)
    assert occ[0]["status"] == "missed" and occ[0]["missed_at"] is not None
    events = await _payloads(admin_db, "ticketing.pm.missed", serial)
    assert len(events) == 1 and events[0]["kind"] == "call" and events[0]["ticket_id"] is None
    # a late result still completes it; the miss stays on record
    r = await c.post(f"/v1/pm-occurrences/{occ[0]['id']}/checklist", headers=agent,
                     json={"items": [{"item": "customer reached", "ok": True}]})
    assert r.status_code == 200 and r.json()["status"] == "completed" and r.json()["missed_at"]


async def test_pm_plan_bad_input_is_problem_json(pm_client, admin, agent):
    c = pm_client
    r = await c.put("/v1/pm-plans/unit/SN-NOPE-1/visit", headers=admin,
                    json={"every_months": 6, "window_days": 14, "effective_from": "2027-01-01"})
    assert r.status_code == 404 and r.json()["field"] == "target"
    r = await c.put("/v1/pm-plans/unit/SN-NOPE-1/visit", headers=admin,
                    json={"every_months": 0, "window_days": 14, "effective_from": "2027-01-01"})
    assert r.status_code == 422
    r = await c.put("/v1/pm-plans/fleet/X1/visit", headers=admin,
                    json={"every_months": 6, "window_days": 14, "effective_from": "2027-01-01"})
    assert r.status_code == 422
