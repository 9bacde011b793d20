"""A ticket's journey over Kafka -> notifications -> the local Aliyun SMS provider: the expected messages,
once each, in order, in Chinese; redeliveries and duplicate events send nothing new."""

from __future__ import annotations

from aftersales_shared import pii
from aftersales_shared.events import dispatch as dsp
from aftersales_shared.testing.plugin import wait_for

from .conftest import uid
from .helpers import completed, created, customer, inbox_has, job_event, opened, settled, wait_count


async def test_journey_messages_once_each_in_order_in_chinese(client, publish, sms_a, ticketing, dispatch, admin_db,
                                                              auth_headers):
    t = customer(ticketing)
    dispatch.engineers["E1"] = "李师傅"
    job = uid("j-")
    steps = [
        ([opened(t)], "SMS_AS_001"),
        ([created(t, job), job_event(dsp.JobAssigned, t, job)], "SMS_AS_002"),
        ([job_event(dsp.JobEnRoute, t, job)], "SMS_AS_003"),
        ([job_event(dsp.JobArrived, t, job)], "SMS_AS_004"),
        ([completed(t, job)], "SMS_AS_005"),
    ]
    sent_events = []
    for n, (events, code) in enumerate(steps, start=1):
        await publish(*events)
        sent_events.extend(events)
        await wait_count(lambda: sms_a.to(t["phone"]), n)
        assert sms_a.to(t["phone"])[-1]["TemplateCode"] == code
    got = sms_a.to(t["phone"])
    assert [m["TemplateCode"] for m in got] == [c for _e, c in steps]
    assert got[0]["vars"]["ticket_no"] == t["ticket_no"] and got[0]["SignName"] == "售后服务"
    assert got[1]["vars"]["engineer_name"] == "李师傅" and "–" in got[1]["vars"]["window"]
    assert sms_a.bad_signatures == 0

    # the same events again, plus a second "en route" for the same visit with a new event id
    again = job_event(dsp.JobEnRoute, t, job)
    ticket_again = opened(t)
    await publish(*sent_events, again, ticket_again)
    await wait_for(lambda: inbox_has(admin_db, again.event_id))
    await wait_for(lambda: inbox_has(admin_db, ticket_again.event_id))
    await wait_for(lambda: settled(admin_db))
    assert len(sms_a.to(t["phone"])) == 5

    # the audit, in Chinese, with the number masked for ops and clear for the call centre (R-T7)
    r = await client.get("/v1/messages", params={"ticket_id": t["id"]}, headers=auth_headers("ops"))
    assert r.status_code == 200, r.text
    audit = r.json()
    assert [m["kind"] for m in reversed(audit)] == ["ticket_received", "engineer_assigned", "engineer_en_route",
                                                    "engineer_arrived", "job_completed"]
    assert all(m["status"] == "sent" and m["channel"] == "sms" for m in audit)
    assert audit[-1]["body"].startswith("您好，您的报修已受理") and t["ticket_no"] in audit[-1]["body"]
    assert "李师傅" in audit[-2]["body"] and "http://status.test/s/" in audit[-2]["body"]
    assert audit[0]["recipient"] == pii.mask_phone(t["phone"])  # the platform's one masking rule
    r = await client.get("/v1/messages", params={"ticket_id": t["id"]}, headers=auth_headers("call_center"))
    assert r.json()[0]["recipient"] == t["phone"]
    r = await client.get("/v1/messages", params={"ticket_id": t["id"]},
                         headers=auth_headers("dealer", dealer_id="OTHER"))
    assert r.status_code == 200 and r.json() == []
