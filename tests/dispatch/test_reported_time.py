"""Issue 15 item 7 in dispatch (R-S7): the SLA clock starts when the customer reported the fault
(``TicketOpenedPayload.reported_at``), under the contract's calendar: a report at 22:10 on a Friday starts at
Monday's opening, or at the next working day's when that Monday is a statutory holiday (China's calendar)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running
from dispatch.jobs import service as jobs
from dispatch.main import create_app

from .conftest import ticket, uniq

pytestmark = pytest.mark.integration
SH = ZoneInfo("Asia/Shanghai")
RESPOND, ARRIVE = 60, 240


@pytest.mark.parametrize(("reported", "opening"), [
    (datetime(2026, 11, 20, 22, 10, tzinfo=SH), datetime(2026, 11, 23, 8, 0, tzinfo=SH)),  # Fri → Mon 08:00
    (datetime(2026, 4, 3, 22, 10, tzinfo=SH), datetime(2026, 4, 7, 8, 0, tzinfo=SH)),  # Mon 04-06 Qingming → Tue
], ids=["friday-night-to-monday", "monday-holiday-to-tuesday"])
async def test_R_S7_sla_clock_starts_at_the_reported_time_under_the_calendar(
        clean, dispatch_settings, admin, reported, opening):
    contract = uniq("OFFICE")
    async with running(create_app(dispatch_settings())) as client:
        r = await client.put("/v1/sla/policies", headers=admin, json={
            "contract_code": contract, "zone_class": "in_zone", "calendar_code": "office",
            "respond_minutes": RESPOND, "arrive_minutes": ARRIVE, "resolve_minutes": 1440,
            "resolve_from": "arrived"})
        assert r.status_code == 200, r.text
        r = await client.put("/v1/zones/310101", headers=admin,
                             json={"name": "Huangpu", "zone_class": "in_zone", "lat": 31.23, "lon": 121.47})
        assert r.status_code == 200, r.text
        payload = ticket(uniq("hvac"), contract=contract).model_copy(update={"reported_at": reported})
        async with unit_of_work(client.app.state.sessions) as s:
            job = await jobs.open_job(s, client.app.state.dispatch_cfg, payload, clock.now())
        seen = (await client.get(f"/v1/jobs/{job.id}", headers=admin)).json()
        assert datetime.fromisoformat(seen["opened_at"]) == reported  # the report's time, not the keying-in
        assert datetime.fromisoformat(seen["deadlines"]["respond"]) == opening + timedelta(minutes=RESPOND)
        # 240 working minutes from the opening end at 12:00, where the office calendar's morning ends
        assert datetime.fromisoformat(seen["deadlines"]["arrive"]) == opening + timedelta(minutes=ARRIVE)


async def test_R_S10_a_maintenance_ticket_books_its_job_in_the_pm_window(clean, dispatch_settings, admin):
    """Issue 16 item 4: a PM visit opened ahead of time (``kind="maintenance"`` with its window) becomes a job
    booked from the window's start (the planner's earliest start) to its end (the latest start), its SLA clock
    starting when the window opens; a reported fault (no window) is unchanged."""
    start = datetime(2027, 3, 1, 0, 0, tzinfo=SH)
    end = start + timedelta(days=14)
    payload = ticket(uniq("hvac")).model_copy(update={
        "kind": "maintenance", "coverage": "maintenance", "window_start": start, "window_end": end})
    async with running(create_app(dispatch_settings())) as client:
        async with unit_of_work(client.app.state.sessions) as s:
            job = await jobs.open_job(s, client.app.state.dispatch_cfg, payload, clock.now())
            assert (job.earliest_start, job.booked_end, job.opened_at, job.coverage) == (
                start, end, start, "maintenance")
            plain = await jobs.open_job(s, client.app.state.dispatch_cfg, ticket(uniq("hvac")), clock.now())
            assert plain.earliest_start is None and plain.booked_end is None
