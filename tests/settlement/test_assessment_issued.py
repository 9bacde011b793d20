"""R-D7: the monthly assessment is issued on days 1..5 of the next month, once per dealer (a unique row; replicas
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
            return await issue_due(s, today=clock.business_today(), by_day=5, now=clock.now())

    await admin_db.execute("INSERT INTO settlement.dealers (id, name, territories, created_at) VALUES "
                           "('SD3', 'late', '{}', $1)", target - timedelta(days=3))
    await asyncio.gather(step(), step(), step())
    await wait_for(lambda: _issued_events(admin_db, "SD3"), timeout=60)
    for dealer in ("SD1", "SD2", "SD3"):
        assert len(await _issued_events(admin_db, dealer)) == 1, dealer
    assert await admin_db.fetchval("SELECT count(*) FROM settlement.issued_assessments WHERE month = $1", month) == 3

    # a dealer registered after the month ends is not assessed for it; after day 5 nothing is issued
    await admin_db.execute("INSERT INTO settlement.dealers (id, name, territories, created_at) VALUES "
                           "('SD4', 'new', '{}', $1)", target)
    sixth = target + timedelta(days=5)
    r = await client.post("/v1/admin/clock", json={"to": sixth.isoformat()}, headers=fin["admin"])
    assert r.status_code == 200
    await admin_db.execute("INSERT INTO settlement.dealers (id, name, territories, created_at) VALUES "
                           "('SD5', 'missed', '{}', $1)", target - timedelta(days=3))
    assert await step() == 0
    assert await admin_db.fetchval("SELECT count(*) FROM settlement.issued_assessments WHERE dealer_id IN "
                                   "('SD4', 'SD5')") == 0
    assert (await client.get(f"/v1/dealers/SD1/assessments/{target:%Y-%m}/issued", headers=fin["d1"])
            ).status_code == 404


def test_R_D7_due_month_score_and_grade():
    from datetime import date
    from decimal import Decimal

    from settlement.domain.assessment import Assessment, due_month, grade_of, score_of

    assert due_month(date(2026, 12, 1), by_day=5) == date(2026, 11, 1)
    assert due_month(date(2027, 1, 5), by_day=5) == date(2026, 12, 1)
    assert due_month(date(2027, 1, 6), by_day=5) is None
    assert due_month(date(2027, 1, 6), by_day=10) == date(2026, 12, 1)
    nothing = Assessment(None, None, None, None, report_submitted=False, callback_target_met=True)
    assert score_of(nothing) == Decimal("0.0") and grade_of(Decimal("0.0")) == "D"
    half = Assessment(Decimal("0.125"), Decimal("0.5"), Decimal("0.002"), Decimal("1"), report_submitted=True,
                      callback_target_met=False)
    # report 1, callbacks 0.125/0.25 = 0.5, satisfaction 0.5, SLA 1, complaints 2/1000 -> 0: 3/5
    assert score_of(half) == Decimal("60.0") and grade_of(score_of(half)) == "C"
    assert [grade_of(Decimal(s)) for s in ("90", "89.9", "75", "59.9")] == ["A", "B", "B", "D"]
