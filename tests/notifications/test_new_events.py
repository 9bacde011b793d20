"""Events that did not exist before (issue 17), driven through Kafka into the service and counted at the local
SMS provider / the real SMTP server: an ETA change beyond the margin, the customer's own reschedule (confirmed),
a paid-repair quote (total and link), the dealer's monthly assessment (R-D7)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from aftersales_shared import clock
from aftersales_shared.events import dispatch as dsp
from aftersales_shared.events import settlement as stl
from aftersales_shared.testing.plugin import wait_for
from notifications.domain.policy import SHANGHAI

from .conftest import uid
from .helpers import created, customer, inbox_has, job_event, opened, settled, wait_count


def _daytime() -> None:
    """Move the clock to the next 10:00 in Shanghai, so quiet hours hold nothing here."""
    now = clock.now().astimezone(SHANGHAI)
    target = datetime.combine(now.date(), time(10, 0), SHANGHAI)
    if target <= now:
        target += timedelta(days=1)
    clock.advance(target - now, environment="test")


def _eta(t, job, *, previous, planned, reason="replan"):
    return job_event(dsp.JobEtaChanged, t, job, planned_arrival=planned, previous_arrival=previous, reason=reason,
                     window_start=planned - timedelta(minutes=30), window_end=planned + timedelta(minutes=30))


async def test_eta_changed_beyond_the_margin_is_told_once_and_a_reschedule_is_confirmed(
        client, publish, sms_a, ticketing, dispatch, admin_db):
    _daytime()
    t = customer(ticketing)
    dispatch.engineers["E1"] = "李师傅"
    job = uid("j-")
    await publish(opened(t), created(t, job), job_event(dsp.JobAssigned, t, job))
    await wait_count(lambda: sms_a.to(t["phone"]), 2)
    base = clock.now() + timedelta(hours=2)
    small = _eta(t, job, previous=base, planned=base + timedelta(minutes=20))  # within the 30-minute margin
    await publish(small)
    await wait_for(lambda: inbox_has(admin_db, small.event_id))
    big = _eta(t, job, previous=base + timedelta(minutes=20), planned=base + timedelta(minutes=95))
    await publish(big)
    await wait_count(lambda: sms_a.to(t["phone"]), 3)
    msg = sms_a.to(t["phone"])[-1]
    assert msg["TemplateCode"] == "SMS_AS_014"
    assert msg["vars"]["arrival"] == f"{(base + timedelta(minutes=95)).astimezone(SHANGHAI):%m-%d %H:%M}"
    assert "–" in msg["vars"]["window"] and msg["vars"]["link"].startswith("http://status.test/s/")
    body = await admin_db.fetchval("SELECT body FROM notifications.messages WHERE ticket_id = $1 AND "
                                   "kind = 'eta_changed'", t["id"])
    assert body.startswith(f"工单 {t['ticket_no']} 的工程师上门时间有调整")
    # redelivery and the same change with a new event id: nothing new
    again = _eta(t, job, previous=base + timedelta(minutes=20), planned=base + timedelta(minutes=95))
    await publish(big, again)
    await wait_for(lambda: inbox_has(admin_db, again.event_id))
    await wait_for(lambda: settled(admin_db))
    assert len(sms_a.to(t["phone"])) == 3
    # the customer booked another slot: a confirmation, whatever the size of the move
    mine = _eta(t, job, previous=base + timedelta(minutes=95), planned=base + timedelta(minutes=105),
                reason="rescheduled")
    await publish(mine)
    await wait_count(lambda: sms_a.to(t["phone"]), 4)
    assert sms_a.to(t["phone"])[-1]["TemplateCode"] == "SMS_AS_015"
    view = await admin_db.fetchrow("SELECT window_start, window_end FROM notifications.tickets WHERE ticket_id = $1",
                                   t["id"])
    assert view["window_end"] == base + timedelta(minutes=135)


async def test_paid_repair_quote_tells_the_customer_the_total_and_the_link(client, publish, sms_a, ticketing,
                                                                         admin_db):
    _daytime()
    t = customer(ticketing)
    job = uid("j-")
    quote = job_event(dsp.JobQuotePresented, t, job, quote_id=uid("q-"), total="1280.50", lines=[
        {"kind": "part", "description": "压缩机", "amount": "980.50", "part_no": "P-1"},
        {"kind": "labour", "description": "更换压缩机", "amount": "300.00"}],
        valid_until=clock.now() + timedelta(days=3))
    await publish(opened(t), quote)
    await wait_count(lambda: [m for m in sms_a.to(t["phone"]) if m["TemplateCode"] == "SMS_AS_016"], 1)
    msg = next(m for m in sms_a.to(t["phone"]) if m["TemplateCode"] == "SMS_AS_016")
    assert msg["vars"]["total"] == "1280.50" and msg["vars"]["items"] == "2"
    assert msg["vars"]["link"].startswith("http://status.test/s/")
    accepted = job_event(dsp.JobQuoteAccepted, t, job, quote_id=quote.payload.quote_id, total="1280.50",
                         status="accepted")
    await publish(quote, accepted)  # a redelivery, and an answer given on site: nothing new
    await wait_for(lambda: inbox_has(admin_db, accepted.event_id))
    await wait_for(lambda: settled(admin_db))
    assert len([m for m in sms_a.to(t["phone"]) if m["TemplateCode"] == "SMS_AS_016"]) == 1


async def test_R_D7_assessment_issued_reaches_the_dealer_by_email_once(client, publish, smtp, admin_db,
                                                                      auth_headers):
    _daytime()
    dealer = uid("D")
    mail = f"desk-{dealer.lower()}@dealer.test"
    await client.put(f"/v1/contacts/dealer:{dealer}", json={"email": mail}, headers=auth_headers("admin"))

    def issued():
        return stl.AssessmentIssued(aggregate_id=dealer, payload={
            "assessment_id": uid("as-"), "dealer_id": dealer, "month": "2026-10", "score": 92.5, "grade": "A",
            "at": clock.now(), "callback_rate": 0.3, "first_time_fix_rate": 0.875, "sla_met_rate": None})

    first = issued()
    await publish(first)
    await wait_count(lambda: smtp.to(mail), 1)
    m = smtp.to(mail)[0]
    assert m["subject"] == "月度考核结果：2026-10"
    assert "得分 92.5，等级 A" in m["body"] and "回访率 30.0%" in m["body"] and "时效达成率 —" in m["body"]
    second = issued()  # the same month issued again (another replica, a restart): no second e-mail
    await publish(first, second)
    await wait_for(lambda: inbox_has(admin_db, second.event_id))
    await wait_for(lambda: settled(admin_db))
    assert len(smtp.to(mail)) == 1


async def test_R_S6_spare_unit_due_back_reminds_the_customer_once_per_loan(client, publish, sms_a, ticketing,
                                                                            admin_db):
    """dispatch.job.spare_unit_overdue -> one reminder at the local SMS provider (template SMS_AS_018; the audit's
    body in Chinese) naming the serial and the due-back time; a redelivery or a second reminder event for the same
    loan sends nothing new."""
    _daytime()
    t = customer(ticketing)
    job, spare = uid("j-"), uid("sp-")
    due = clock.now() - timedelta(hours=1)
    await publish(opened(t), job_event(dsp.SpareUnitLent, t, job, reason="SPARE-42"))
    await wait_count(lambda: [m for m in sms_a.to(t["phone"]) if m["TemplateCode"] == "SMS_AS_006"], 1)

    def overdue():
        return job_event(dsp.SpareUnitOverdue, t, job, reason="SPARE-42", spare_id=spare, serial="SPARE-42",
                         due_back_at=due)

    first = overdue()
    await publish(first)
    await wait_count(lambda: [m for m in sms_a.to(t["phone"]) if m["TemplateCode"] == "SMS_AS_018"], 1)
    msg = next(m for m in sms_a.to(t["phone"]) if m["TemplateCode"] == "SMS_AS_018")
    assert msg["vars"]["serial"] == "SPARE-42"
    assert msg["vars"]["due_back"] == f"{due.astimezone(SHANGHAI):%m-%d %H:%M}"
    assert msg["vars"]["link"].startswith("http://status.test/s/")
    body = await admin_db.fetchval("SELECT body FROM notifications.messages WHERE ticket_id = $1 AND "
                                   "kind = 'spare_unit_due_back'", t["id"])
    assert body.startswith(f"工单 {t['ticket_no']}：您借用的备用机（序列号 SPARE-42）已到归还时间")
    second = overdue()  # the same loan reminded again (a redelivery, a replayed sweep): nothing new
    await publish(first, second)
    await wait_for(lambda: inbox_has(admin_db, second.event_id))
    await wait_for(lambda: settled(admin_db))
    assert len([m for m in sms_a.to(t["phone"]) if m["TemplateCode"] == "SMS_AS_018"]) == 1
