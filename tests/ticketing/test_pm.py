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


versions_st = st.lists(st.tuples(st.integers(0, 400), terms_st, st.booleans()), min_size=1, max_size=4)


@given(versions_st, st.dates(date(2020, 1, 1), date(2032, 12, 31)))
def test_R_S10_a_plan_change_governs_the_periods_from_its_date_and_none_before(raw, today):
    """A PM plan is a contract term: each version generates only the periods that start on or after its own date
    and before the next version's; periods before a change keep the version they were under; none is twice."""
    base = date(2026, 1, 1)
    versions = [pm.PlanVersion(i + 1, pm.PlanTerms(t.every_months, t.window_days, t.lead_days,
                                                   base + timedelta(days=d)), active)
                for i, (d, t, active) in enumerate(raw)]
    due = pm.due_by_version(versions, today)
    starts = [p.start for _v, p in due]
    assert len(starts) == len(set(starts))
    for version, p in due:
        v = next(x for x in versions if x.version == version)
        assert v.active and v.terms.effective_from <= p.start
        assert p in pm.due_periods(v.terms, today)
        # no later version (of a later day, or of the same day) governs this period's start
        assert not any(o.terms.effective_from <= p.start and (o.terms.effective_from, o.version)
                       > (v.terms.effective_from, v.version) for o in versions)


async def test_R_S10_a_pm_plan_change_applies_from_its_date_audited_never_backdated_and_generates_once(
        pm_client, infra_settings, admin, agent, auth_headers, admin_db):
    """2 visits a year → 4 from a later date: the visit generated before the change keeps version 1, the periods
    from the change's date follow version 2's grid, each period once across racing runners and a restart; the
    history says who changed what, when and why; a change dated before today is refused."""
    c = pm_client
    await seed_line(c, admin)
    serial, contract = f"SN-PMV-{uuid.uuid4().hex[:8]}", f"PMV-{uuid.uuid4().hex[:8]}"
    await seed_unit(c, agent, serial=serial, contract_code=contract, address="南京市鼓楼区中山路1号",
                    region_code="320106")
    url = f"/v1/pm-plans/contract/{contract}/visit"
    d0 = clock.business_today()
    d1 = d0 + timedelta(days=60)
    twice = {"every_months": 6, "window_days": 14, "lead_days": 14, "effective_from": d0.isoformat(),
             "reason": "contract 2027: two visits a year"}
    r = await c.put(url, json=twice, headers=admin)
    assert r.status_code == 200 and r.json()["version"] == 1, r.text
    await pm_step(c.app)
    assert [(o["period_start"], o["plan_version"]) for o in await _occurrences(admin_db, serial)] == [(d0, 1)]

    back = {**twice, "every_months": 3, "effective_from": (d0 - timedelta(days=1)).isoformat()}
    r = await c.put(url, json=back, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "terms_backdated" and r.json()["field"] == "effective_from"
    quarterly = {**twice, "every_months": 3, "effective_from": d1.isoformat(), "reason": "upgraded to quarterly"}
    r1, r2 = await asyncio.gather(c.put(url, json=quarterly, headers=admin), c.put(url, json=quarterly, headers=admin))
    assert {r1.status_code, r2.status_code} == {200} and r1.json()["version"] == r2.json()["version"] == 2
    r = await c.get(f"{url}/history", headers=auth_headers("ops", sub="ops-1"))
    assert r.status_code == 200, r.text
    assert [(v["version"], v["every_months"], v["effective_from"], v["created_by"], v["reason"]) for v in r.json()] == [
        (1, 6, d0.isoformat(), "admin-1", "contract 2027: two visits a year"),
        (2, 3, d1.isoformat(), "admin-1", "upgraded to quarterly")]
    assert (await c.get(f"/v1/pm-plans/contract/{contract}/call/history", headers=agent)).status_code == 404
    with pytest.raises(Exception, match="append-only"):  # the history is the audit: kept as it is
        await admin_db.execute("UPDATE ticketing.pm_plan_versions SET every_months = 1 WHERE reason = $1",
                               "upgraded to quarterly")

    # to the change's generation day: version 2's first period (d1) comes, version 1's next one (d0 + 6 months)
    # never does — it lies after the change
    await _move_clock(c, admin, 50)
    await asyncio.gather(pm_step(c.app), pm_step(c.app))  # two replicas at once
    async with running(create_app(settings(infra_settings, run_background=False))) as c2:  # and a restart
        await pm_step(c2.app)
    occ = await _occurrences(admin_db, serial)
    assert [(o["period_start"], o["plan_version"]) for o in occ] == [(d0, 1), (d1, 2)]
    assert occ[1]["status"] == "scheduled" and occ[1]["ticket_id"] is not None
    await _move_clock(c, admin, 90)  # d1 + 3 months - 14 days has passed: the next quarter's visit, once
    await asyncio.gather(pm_step(c.app), pm_step(c.app))
    occ = await _occurrences(admin_db, serial)
    assert [(o["period_start"], o["plan_version"]) for o in occ] == [(d0, 1), (d1, 2), (pm.add_months(d1, 3), 2)]
    assert occ[0]["status"] == "missed"  # the visit before the change kept its plan: its window closed unvisited
    r = await c.get(f"/v1/pm-plans/contract/{contract}", headers=agent)
    assert [(p["every_months"], p["version"]) for p in r.json()] == [(3, 2)]
