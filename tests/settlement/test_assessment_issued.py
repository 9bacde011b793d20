"""R-D7: the monthly assessment is issued from the 1st of the next month (by the dealer's day of its terms, 5 by
default; late after an outage, never skipped), once per dealer (a unique row; replicas
and restarts issue nothing twice), with ``settlement.assessment.issued`` through the outbox, and the dealer
fetches the issued document. Driven by the moved clock (POST /v1/admin/clock)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, time, timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.isolation import own_kafka, start_at_end
from aftersales_shared.testing.plugin import reset_schema, running, wait_for
from settlement.assessments.service import issue_due
from settlement.config import SettlementSettings
from settlement.consumers import consumer_specs
from settlement.main import create_app

from .conftest import add_ledger, setup_dealer

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(infra_settings, admin_db):
    await reset_schema(admin_db, "settlement")
    settings = SettlementSettings(**infra_settings("settlement", **own_kafka("settlement")),
                                  assessment_issue_every_s=0.2)
    await start_at_end((settings, consumer_specs(settings)))
    async with running(create_app(settings)) as c:
        yield c


def _next_first_of_month() -> datetime:
    now = clock.now().astimezone(clock.BUSINESS_TZ)
    first = (now.date().replace(day=1) + timedelta(days=32)).replace(day=1)
    return datetime.combine(first, time(10, 0), clock.BUSINESS_TZ)


async def _issued_events(admin_db, dealer):
    rows = await admin_db.fetch("SELECT payload FROM settlement.outbox WHERE event_type = "
                                "'settlement.assessment.issued' AND key = $1", dealer)
    return [json.loads(r["payload"])["payload"] for r in rows]


async def test_R_D7_issued_once_per_dealer_on_days_1_to_5(client, fin, admin_db):
    target = _next_first_of_month()
    month = (target.date() - timedelta(days=1)).replace(day=1)
    ym = f"{month:%Y-%m}"
    await setup_dealer(client, fin["admin"], "SD1")
    await setup_dealer(client, fin["admin"], "SD2")
    at = datetime.combine(month.replace(day=10), time(12, 0), clock.BUSINESS_TZ).isoformat()
    q = f"{month.year}Q{(month.month - 1) // 3 + 1}"
    await add_ledger(admin_db, "SD1", "repair", n=8, at=at, quarter=q)
    await admin_db.execute(
        "INSERT INTO settlement.ledger_entries (dealer_id, kind, amount, quantity, occurred_at, quarter, "
        "booked_quarter, source_type, source_id, details) SELECT 'SD1', 'callback', 0, 1, $1::text::timestamptz, $2, "
        "$2, 'test', 'cb-' || g, jsonb_build_object('reached', true, 'satisfaction', 5) FROM generate_series(1, 2) g",
        at, q)
    url = f"/v1/dealers/SD1/assessments/{ym}/issued"
    before = await client.get(url, headers=fin["d1"])
    assert before.status_code == 404 and before.json()["field"] == "month"
    assert await _issued_events(admin_db, "SD1") == []

    r = await client.post("/v1/admin/clock", json={"to": target.isoformat()}, headers=fin["admin"])
    assert r.status_code == 200, r.text

    async def issued():
        got = await client.get(url, headers=fin["d1"])
        return got.json() if got.status_code == 200 else None

    doc = await wait_for(issued, timeout=120, what="the assessment issued by the background job")
    assert doc["month"] == ym and doc["document"]["callback_rate"] == "0.2500"
    assert doc["document"]["available_by"] == f"{target.date().replace(day=5)}"
    # report submitted 1, callbacks 1 (at target), satisfaction 1, SLA 1 (no breaches): 100.0, A
    assert doc["score"] == "100.0" and doc["grade"] == "A"
    assert (await client.get(url, headers=fin["d2"])).status_code == 404  # another dealer's: absent
    await wait_for(lambda: _issued_events(admin_db, "SD2"), timeout=60)
    (event,) = await _issued_events(admin_db, "SD1")
    assert event["assessment_id"] == doc["assessment_id"] and event["month"] == ym and event["grade"] == "A"
    assert event["callback_rate"] == 0.25 and event["score"] == 100.0

    # replicas racing the background job, and a restart: nothing twice
    sessions = client.app.state.sessions

    async def step():
        async with unit_of_work(sessions) as s:
            return await issue_due(s, today=clock.business_today(), now=clock.now())

    await admin_db.execute("INSERT INTO settlement.dealers (id, name, territories, created_at) VALUES "
                           "('SD3', 'late', '{}', $1)", target - timedelta(days=3))
    await asyncio.gather(step(), step(), step())
    await wait_for(lambda: _issued_events(admin_db, "SD3"), timeout=60)
    for dealer in ("SD1", "SD2", "SD3"):
        assert len(await _issued_events(admin_db, dealer)) == 1, dealer
    assert await admin_db.fetchval("SELECT count(*) FROM settlement.issued_assessments WHERE month = $1", month) == 3

    # a dealer registered after the month ends is not assessed for it; one the job missed on days 1..5 is issued on
    # the 6th, flagged late (nothing lost)
    await admin_db.execute("INSERT INTO settlement.dealers (id, name, territories, created_at) VALUES "
                           "('SD4', 'new', '{}', $1)", target)
    sixth = target + timedelta(days=5)
    r = await client.post("/v1/admin/clock", json={"to": sixth.isoformat()}, headers=fin["admin"])
    assert r.status_code == 200
    await admin_db.execute("INSERT INTO settlement.dealers (id, name, territories, created_at) VALUES "
                           "('SD5', 'missed', '{}', $1)", target - timedelta(days=3))
    await step()
    assert await admin_db.fetchval("SELECT count(*) FROM settlement.issued_assessments WHERE dealer_id = 'SD4'") == 0
    await wait_for(lambda: _issued_events(admin_db, "SD5"), timeout=60)
    (late,) = await _issued_events(admin_db, "SD5")
    assert late["late"] is True and late["month"] == ym
    assert (await client.get(url, headers=fin["d1"])).json()["late"] is False
    assert (await client.get(f"/v1/dealers/SD1/assessments/{target:%Y-%m}/issued", headers=fin["d1"])
            ).status_code == 404


def test_R_D7_due_month_score_and_grade():
    from datetime import date
    from decimal import Decimal

    from settlement.domain.assessment import Assessment, grade_of, is_late, issue_by, months_due, score_of

    assert months_due(date(2026, 12, 1)) == [date(2026, 11, 1)]
    assert months_due(date(2027, 1, 20), catch_up=3) == [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    assert issue_by(date(2026, 12, 1), by_day=5) == date(2027, 1, 5)
    assert not is_late(date(2027, 1, 5), date(2026, 12, 1), by_day=5)
    assert is_late(date(2027, 1, 6), date(2026, 12, 1), by_day=5)
    assert not is_late(date(2027, 1, 6), date(2026, 12, 1), by_day=10)
    nothing = Assessment(None, None, None, None, report_submitted=False, callback_target_met=True)
    assert score_of(nothing) == Decimal("0.0") and grade_of(Decimal("0.0")) == "D"
    half = Assessment(Decimal("0.125"), Decimal("0.5"), Decimal("0.002"), Decimal("1"), report_submitted=True,
                      callback_target_met=False)
    # report 1, callbacks 0.125/0.25 = 0.5, satisfaction 0.5, SLA 1, complaints 2/1000 -> 0: 3/5
    assert score_of(half) == Decimal("60.0") and grade_of(score_of(half)) == "C"
    assert [grade_of(Decimal(s)) for s in ("90", "89.9", "75", "59.9")] == ["A", "B", "B", "D"]
    floors = ((Decimal("85"), "A"), (Decimal("60"), "B"), (Decimal("40"), "C"))
    assert [grade_of(Decimal(s), floors) for s in ("87.5", "62.5", "40", "39.9")] == ["A", "B", "C", "D"]


def _local(d, hour=10):
    return datetime.combine(d, time(hour, 0), clock.BUSINESS_TZ)


def _first_of_next(d):
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


async def _move(client, fin, to):
    r = await client.post("/v1/admin/clock", json={"to": to.isoformat()}, headers=fin["admin"])
    assert r.status_code == 200, r.text


async def _repairs_and_one_callback(admin_db, dealer, month):
    """8 repairs, 1 reached callback scoring 5: callbacks 0.5 of target, satisfaction 1, SLA 1 (+ the report)."""
    at = _local(month.replace(day=10), 12).isoformat()
    q = f"{month.year}Q{(month.month - 1) // 3 + 1}"
    await add_ledger(admin_db, dealer, "repair", n=8, at=at, quarter=q, tag=f"r{month:%Y%m}")
    await admin_db.execute(
        "INSERT INTO settlement.ledger_entries (dealer_id, kind, amount, quantity, occurred_at, quarter, "
        "booked_quarter, source_type, source_id, details) VALUES ($1, 'callback', 0, 1, $2::text::timestamptz, $3, "
        "$3, 'test', $4, jsonb_build_object('reached', true, 'satisfaction', 5))",
        dealer, at, q, f"cb-{dealer}-{month}")


async def test_R_D7_issue_day_and_grade_floors_are_the_dealers_terms(client, fin, admin_db):
    """TD1's terms (from the assessed month's first day): issued by the 3rd, grade floors A 85 / B 60 / C 40;
    TD2 keeps the defaults (by the 5th; 90/75/60). Same activity, same score: on the 4th TD1's is late, TD2's is
    not, and the grades follow each dealer's floors. Floors that rise from A to C are refused (422)."""
    month = _first_of_next(clock.business_today())  # the assessed month: its first day is still ahead
    await setup_dealer(client, fin["admin"], "TD1")
    await setup_dealer(client, fin["admin"], "TD2")
    bad = await client.put("/v1/dealers/TD1/terms", json={"effective_from": f"{month}", "values": {
        "assessment_grade_a": "70", "assessment_grade_b": "80"}}, headers=fin["admin"])
    assert bad.status_code == 422 and bad.json()["field"] == "values.assessment_grade_b", bad.text
    r = await client.put("/v1/dealers/TD1/terms", json={"effective_from": f"{month}", "values": {
        "assessment_issue_by_day": 3, "assessment_grade_a": "85", "assessment_grade_b": "60",
        "assessment_grade_c": "40"}}, headers=fin["admin"])
    assert r.status_code == 201, r.text
    got = await client.get(f"/v1/dealers/TD1/terms?on={month}", headers=fin["admin"])
    assert got.json()["values"]["assessment_issue_by_day"] == 3 and got.json()["values"]["assessment_grade_a"] == "85"
    for d in ("TD1", "TD2"):
        await _repairs_and_one_callback(admin_db, d, month)
    after = _first_of_next(month)
    await _move(client, fin, _local(after.replace(day=4)))

    async def issued(d):
        got = await client.get(f"/v1/dealers/{d}/assessments/{month:%Y-%m}/issued", headers=fin["admin"])
        return got.json() if got.status_code == 200 else None

    one = await wait_for(lambda: issued("TD1"), timeout=120, what="TD1's assessment")
    two = await wait_for(lambda: issued("TD2"), timeout=120, what="TD2's assessment")
    assert one["document"]["available_by"] == f"{after.replace(day=3)}" and one["late"] is True
    assert two["document"]["available_by"] == f"{after.replace(day=5)}" and two["late"] is False
    assert one["score"] == two["score"] and one["score"] in ("87.5", "62.5")
    expected = {"87.5": ("A", "B"), "62.5": ("B", "C")}[one["score"]]
    assert (one["grade"], two["grade"]) == expected
    events = {e["month"]: e for e in await _issued_events(admin_db, "TD1")}
    assert events[f"{month:%Y-%m}"]["grade"] == expected[0] and events[f"{month:%Y-%m}"]["late"] is True


async def test_R_D7_an_outage_over_days_1_to_5_issues_late_never_skips(client, fin, admin_db):
    """The job issues last month on the 2nd (on time); then the clock jumps from the 28th to the 7th of the next
    month (the job did not run on days 1..5): that month is issued once as soon as the job runs, flagged late in
    the document and the event."""
    await setup_dealer(client, fin["admin"], "OD1")
    m0 = clock.business_today().replace(day=1)
    m1 = _first_of_next(m0)
    await _move(client, fin, _local(m1.replace(day=2)))
    await wait_for(lambda: _issued_events(admin_db, "OD1"), timeout=120, what="the on-time assessment")
    (on_time,) = await _issued_events(admin_db, "OD1")
    assert on_time["month"] == f"{m0:%Y-%m}" and on_time["late"] is False
    await _move(client, fin, _local(m1.replace(day=28)))
    m2 = _first_of_next(m1)
    await _move(client, fin, _local(m2.replace(day=7)))

    async def step():
        async with unit_of_work(client.app.state.sessions) as s:
            return await issue_due(s, today=clock.business_today(), now=clock.now())

    await asyncio.gather(step(), step())
    await wait_for(lambda: len_is(admin_db, "OD1", 2), timeout=120, what="the late assessment")
    events = {e["month"]: e for e in await _issued_events(admin_db, "OD1")}
    assert len(events) == 2 and events[f"{m1:%Y-%m}"]["late"] is True
    doc = (await client.get(f"/v1/dealers/OD1/assessments/{m1:%Y-%m}/issued", headers=fin["admin"])).json()
    assert doc["late"] is True
    stored = await admin_db.fetchval("SELECT document->>'late' FROM settlement.issued_assessments WHERE "
                                     "dealer_id = 'OD1' AND month = $1", m1)
    assert stored == "true"
    assert doc["document"]["available_by"] == f"{m2.replace(day=5)}"
    await step()
    assert len(await _issued_events(admin_db, "OD1")) == 2


async def len_is(admin_db, dealer, n):
    return len(await _issued_events(admin_db, dealer)) >= n
