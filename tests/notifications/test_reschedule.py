"""Reschedule on the customer's status page (issue 17), against dispatch's contract (clients/dispatch.py) served
by the stand-in: the offered slots are listed, one is booked once (Idempotency-Key), the page shows the new
window; a slot not offered is 409, a missing one 422, after departure nothing moves."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from aftersales_shared import clock
from aftersales_shared.events import dispatch as dsp
from notifications.domain.policy import SHANGHAI
from notifications.domain.ticket_view import window_text

from .conftest import uid
from .helpers import created, customer, job_event, opened, wait_count


def _slots(days: int = 1) -> list[dict[str, str]]:
    day = (clock.now().astimezone(SHANGHAI) + timedelta(days=days)).date()
    out = []
    for h, label in ((9, "上午 9:00–11:00"), (14, "下午 14:00–16:00")):
        start = datetime.combine(day, time(h, 0), SHANGHAI)
        out.append({"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat(), "label": label})
    return out


async def test_reschedule_within_the_offered_slots(client, publish, sms_a, ticketing, dispatch, admin_db):
    t = customer(ticketing)
    job = uid("j-")
    dispatch.slots[job] = _slots()
    await publish(opened(t), created(t, job), job_event(dsp.JobAssigned, t, job))
    await wait_count(lambda: sms_a.to(t["phone"]), 1)
    token = sms_a.to(t["phone"])[0]["vars"]["link"].rsplit("/", 1)[1]

    async def assigned():
        return await admin_db.fetchval("SELECT status = 'assigned' AND job_id = $2 FROM notifications.tickets "
                                       "WHERE ticket_id = $1", t["id"], job)

    from aftersales_shared.testing.plugin import wait_for
    await wait_for(assigned)
    page = (await client.get(f"/s/{token}")).text
    assert 'id="reschedule"' in page and "下午 14:00–16:00" in page
    chosen = dispatch.slots[job][1]
    form = {"slot": f"{chosen['start']}|{chosen['end']}"}
    r = await client.post(f"/s/{token}/reschedule", data=form)
    assert r.status_code == 303 and r.headers["location"] == f"/s/{token}?rescheduled=1"
    again = await client.post(f"/s/{token}/reschedule", data=form)  # a double submit: the same booking
    assert again.status_code == 303 and len(dispatch.bookings) == 1
    shown = (await client.get(f"/s/{token}?rescheduled=1")).text
    expected = window_text(datetime.fromisoformat(chosen["start"]), datetime.fromisoformat(chosen["end"]), SHANGHAI)
    assert 'id="rescheduled"' in shown and expected in shown

    not_offered = await client.post(f"/s/{token}/reschedule", data={
        "slot": f"{chosen['start']}|{(datetime.fromisoformat(chosen['end']) + timedelta(hours=1)).isoformat()}"})
    assert not_offered.status_code == 409 and "该时段已不可选" in not_offered.text
    for bad in ({"slot": "tomorrow"}, {}, {"slot": "2026-12-01T10:00:00|2026-12-01T09:00:00"}):
        r = await client.post(f"/s/{token}/reschedule", data=bad)
        assert r.status_code == 422, bad
    assert len(dispatch.bookings) == 1

    await publish(job_event(dsp.JobEnRoute, t, job))
    await wait_count(lambda: sms_a.to(t["phone"]), 3)
    page = (await client.get(f"/s/{token}")).text
    assert 'id="reschedule"' not in page
    late = await client.post(f"/s/{token}/reschedule", data=form)
    assert late.status_code == 409 and "无法在线改约" in late.text
    tampered = await client.post(f"/s/{token[:-2]}xx/reschedule", data=form)
    assert tampered.status_code == 403
