"""Events in: dispatch.job.completed / cancelled and ticketing.unit.registered, published on real Kafka."""

from datetime import UTC, date, datetime

import pytest
from aiokafka import AIOKafkaProducer

from aftersales_shared.events.dispatch import JobCancelled, JobCompleted
from aftersales_shared.events.ticketing import UnitRegistered
from aftersales_shared.testing.isolation import uniq
from aftersales_shared.testing.plugin import wait_for

pytestmark = pytest.mark.integration


async def publish(infra_settings, *events):
    producer = AIOKafkaProducer(bootstrap_servers=infra_settings("parts")["kafka"].bootstrap_servers)
    await producer.start()
    try:
        for e in events:
            await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())
    finally:
        await producer.stop()


# a deadline, not a duration: the consumers on a busy 2-core machine may take a minute to catch up
WAIT = 120.0


async def eventually(check, timeout=WAIT):
    return await wait_for(check, timeout=timeout, what="the events' effect")


async def test_job_completed_issues_reservation_and_creates_return_job_cancelled_releases(
        client, kit, auth_headers, infra_settings, admin_db, ledger_check, known_job):
    # every id in these events is this test's own: the topics keep earlier tests' and runs' events
    p = await kit.part(uniq("P-RET"), must_return=True, cost="99.90")
    q = await kit.part(uniq("P-KEEP"))
    w = await kit.warehouse(uniq("C1"))
    await kit.receive(w, p, 3)
    await kit.receive(w, q, 3)
    job, job2, t1, t2 = uniq("J"), uniq("J"), uniq("T"), uniq("T")
    engineer, dealer, serial, old_serial = uniq("E"), uniq("D"), uniq("SN"), uniq("OLD")
    eng = auth_headers("engineer", sub="e1", engineer_id=engineer, dealer_id=dealer)
    await known_job(job, engineer, dealer, ticket=t1)
    await known_job(job2, engineer, dealer, ticket=t2)
    body = {"lines": [{"part_no": p, "quantity": 1}, {"part_no": q, "quantity": 1}], "coverage": "warranty",
            "ship_to": {"address": "site"}, "job_id": job}
    assert (await client.post("/v1/part-requests", headers=eng, json=body)).status_code == 201
    body2 = {**body, "job_id": job2, "lines": [{"part_no": q, "quantity": 2}]}
    assert (await client.post("/v1/part-requests", headers=eng, json=body2)).status_code == 201
    now = datetime.now(UTC)
    done = JobCompleted(aggregate_id=job, payload={
        "job_id": job, "ticket_id": t1, "at": now, "engineer_id": engineer, "dealer_id": dealer, "serial": serial,
        "product_line": "AC-1", "coverage": "warranty", "home_visit": True, "work_done": "replaced board",
        "parts_used": [{"part_no": p, "quantity": 1, "old_serial": old_serial}]})
    cancelled = JobCancelled(aggregate_id=job2, payload={"job_id": job2, "ticket_id": t2, "at": now})
    await publish(infra_settings, done, cancelled)

    async def effects():
        r = await admin_db.fetchrow("SELECT * FROM parts.expected_returns WHERE job_id = $1", job)
        st = await kit.stock(w)
        return r if r and st[q]["reserved"] == 0 and st[p]["on_hand"] == 2 else None

    ret = await eventually(effects)
    assert ret["old_serial"] == old_serial and ret["dealer_id"] == dealer and str(ret["cost_price"]) == "99.90"
    st = await kit.stock(w)
    assert (st[p]["on_hand"], st[p]["reserved"]) == (2, 0)  # issued
    assert (st[q]["on_hand"], st[q]["reserved"]) == (3, 0)  # unused one released, cancelled job released
    statuses = {r["job_id"]: r["status"]
                for r in await admin_db.fetch("SELECT job_id, status FROM parts.part_requests")}
    assert statuses == {job: "cancelled", job2: "cancelled"}
    await ledger_check()
    mine = (await client.get("/v1/returns", headers=eng)).json()
    assert [x["part_no"] for x in mine] == [p]


async def test_R_P5_unit_registered_feeds_base_stock(client, kit, clerk, auth_headers, infra_settings):
    a = await kit.part(uniq("P-A"), lines=("AC-1",))
    b = await kit.part(uniq("P-B"), lines=("AC-1", "AC-2"))
    c = await kit.part(uniq("P-C"), lines=("TV-9",))
    today = date.today()
    dealer_id, other = uniq("D7"), uniq("D8")  # the sales are counted per dealer: a dealer of this test's own
    serials = [uniq("SN") for _ in range(160)]
    events = [UnitRegistered(aggregate_id=sn, payload={
        "serial": sn, "product_line": "AC-1" if i < 150 else "AC-2", "dealer_id": dealer_id,
        "registered_on": today}) for i, sn in enumerate(serials)]
    await publish(infra_settings, *events)
    dealer = auth_headers("dealer", sub="d7", dealer_id=dealer_id)

    async def suggestions():
        r = await client.get("/v1/base-stock/suggestions", headers=dealer)
        assert r.status_code == 200, r.text
        body = r.json()
        return body if body and body[-1]["registered_sales"] == 160 else None

    got = {x["part_no"]: x for x in await eventually(suggestions)}
    assert got[a]["suggested"] == 2 and got[a]["registered_sales"] == 150   # 1 % of 150, rounded up
    assert got[b]["suggested"] == 2 and c not in got
    r = await client.get("/v1/base-stock/suggestions", headers=dealer, params={"dealer_id": other})
    assert r.status_code == 403
