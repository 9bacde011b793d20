"""Events in: dispatch.job.completed / cancelled and ticketing.unit.registered, published on real Kafka."""

import asyncio
from datetime import UTC, date, datetime

import pytest
from aiokafka import AIOKafkaProducer

from aftersales_shared.events.dispatch import JobCancelled, JobCompleted
from aftersales_shared.events.ticketing import UnitRegistered
from aftersales_shared.ids import new_id

pytestmark = pytest.mark.integration


async def publish(infra_settings, *events):
    producer = AIOKafkaProducer(bootstrap_servers=infra_settings("parts")["kafka"].bootstrap_servers)
    await producer.start()
    try:
        for e in events:
            await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())
    finally:
        await producer.stop()


async def eventually(check, timeout=20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("effect did not appear in time")
        await asyncio.sleep(0.2)


async def test_job_completed_issues_reservation_and_creates_return_job_cancelled_releases(
        client, kit, auth_headers, infra_settings, admin_db, ledger_check, known_job):
    p = await kit.part("P-RET", must_return=True, cost="99.90")
    q = await kit.part("P-KEEP")
    w = await kit.warehouse("C1")
    await kit.receive(w, p, 3)
    await kit.receive(w, q, 3)
    job, job2 = f"J-{new_id()}", f"J-{new_id()}"
    eng = auth_headers("engineer", sub="e1", engineer_id="E1", dealer_id="D1")
    await known_job(job, "E1", "D1", ticket="T1")
    await known_job(job2, "E1", "D1", ticket="T2")
    body = {"lines": [{"part_no": p, "quantity": 1}, {"part_no": q, "quantity": 1}], "coverage": "warranty",
            "ship_to": {"address": "site"}, "job_id": job}
    assert (await client.post("/v1/part-requests", headers=eng, json=body)).status_code == 201
    body2 = {**body, "job_id": job2, "lines": [{"part_no": q, "quantity": 2}]}
    assert (await client.post("/v1/part-requests", headers=eng, json=body2)).status_code == 201
    now = datetime.now(UTC)
    done = JobCompleted(aggregate_id=job, payload={
        "job_id": job, "ticket_id": "T1", "at": now, "engineer_id": "E1", "dealer_id": "D1", "serial": "SN1",
        "product_line": "AC-1", "coverage": "warranty", "home_visit": True, "work_done": "replaced board",
        "parts_used": [{"part_no": p, "quantity": 1, "old_serial": "OLD-1"}]})
    cancelled = JobCancelled(aggregate_id=job2, payload={"job_id": job2, "ticket_id": "T2", "at": now})
    await publish(infra_settings, done, cancelled)

    async def effects():
        r = await admin_db.fetchrow("SELECT * FROM parts.expected_returns WHERE job_id = $1", job)
        st = await kit.stock(w)
        return r if r and st[q]["reserved"] == 0 and st[p]["on_hand"] == 2 else None

    ret = await eventually(effects)
    assert ret["old_serial"] == "OLD-1" and ret["dealer_id"] == "D1" and str(ret["cost_price"]) == "99.90"
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
    await kit.part("P-A", lines=("AC-1",))
    await kit.part("P-B", lines=("AC-1", "AC-2"))
    await kit.part("P-C", lines=("TV-9",))
    today = date.today()
    events = [UnitRegistered(aggregate_id=f"SN-{i}", payload={
        "serial": f"SN-{new_id()}", "product_line": "AC-1" if i < 150 else "AC-2", "dealer_id": "D7",
        "registered_on": today}) for i in range(160)]
    await publish(infra_settings, *events)
    dealer = auth_headers("dealer", sub="d7", dealer_id="D7")

    async def suggestions():
        r = await client.get("/v1/base-stock/suggestions", headers=dealer)
        assert r.status_code == 200, r.text
        body = r.json()
        return body if body and body[-1]["registered_sales"] == 160 else None

    got = {x["part_no"]: x for x in await eventually(suggestions)}
    assert got["P-A"]["suggested"] == 2 and got["P-A"]["registered_sales"] == 150   # 1 % of 150, rounded up
    assert got["P-B"]["suggested"] == 2 and "P-C" not in got
    r = await client.get("/v1/base-stock/suggestions", headers=dealer, params={"dealer_id": "D8"})
    assert r.status_code == 403
