"""Issue 13, end to end: a dealer cannot make parts resume another dealer's job.

Dispatch and parts run in this process on the real Postgres and Kafka and talk only through events. Dealer D1's
engineer holds a job paused waiting for parts. Dealer D2 (and D2's engineer) naming that job or its ticket is
refused; D2's own request, shipped and delivered, leaves D1's job paused (its SLA clock stays stopped). As the
control, D1's engineer's request for the job, delivered, does resume it — so the refusal is what protects it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from aftersales_shared.events.ticketing import TicketOpened
from aftersales_shared.testing.isolation import own_kafka, start_at_end
from aftersales_shared.testing.plugin import running, wait_for
from dispatch.config import DispatchSettings
from dispatch.consumers import consumer_specs as dispatch_consumers
from dispatch.main import create_app as dispatch_app
from parts.config import PartsSettings
from parts.consumers import consumer_specs as parts_consumers
from parts.main import create_app as parts_app

from .test_consumers import WAIT, publish

pytestmark = pytest.mark.integration

SITE = (31.2304, 121.4737)


@pytest.fixture
async def pair(infra_settings) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """(dispatch, parts) running together, their consumers joined."""
    kw = own_kafka("xt")
    ds = DispatchSettings(**infra_settings("dispatch", **kw))
    ps = PartsSettings(**infra_settings("parts", **kw), watch_interval_seconds=3600)
    await start_at_end((ds, dispatch_consumers(ds)), (ps, parts_consumers(ps)))
    async with AsyncExitStack() as stack:
        dp = await stack.enter_async_context(running(dispatch_app(ds)))
        pt = await stack.enter_async_context(running(parts_app(ps)))
        consumers = [*dp.app.state.consumers, *pt.app.state.consumers]
        await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in consumers)), timeout=WAIT)
        yield dp, pt


async def test_dealer_cannot_resume_another_dealers_job_through_a_part_request(
        pair, auth_headers, infra_settings, admin_db):
    dp, pt = pair
    sfx = uuid.uuid4().hex[:8]
    skill, region, contract = f"xt-{sfx}", f"98{int(sfx, 16) % 10000:04d}", f"XT-{sfx}"
    d1, d2, e1, e2 = f"D1-{sfx}", f"D2-{sfx}", f"E1-{sfx}", f"E2-{sfx}"
    admin, dispatcher = auth_headers("admin", sub="xt-admin"), auth_headers("dispatcher", sub="xt-dispatcher")
    clerk, finance = auth_headers("parts_clerk", sub="xt-clerk"), auth_headers("finance", sub="xt-finance")
    eng1 = auth_headers("engineer", sub=e1, engineer_id=e1, dealer_id=d1)
    eng2 = auth_headers("engineer", sub=e2, engineer_id=e2, dealer_id=d2)
    dealer2 = auth_headers("dealer", sub=f"u-{d2}", dealer_id=d2)

    # --- dispatch: a zone, an SLA policy, D1's engineer who has the skill, D2's engineer who does not -----------
    r = await dp.put(f"/v1/zones/{region}", headers=admin,
                     json={"name": "xt", "zone_class": "in_zone", "lat": SITE[0], "lon": SITE[1]})
    assert r.status_code == 200, r.text
    r = await dp.put("/v1/sla/policies", headers=admin, json={
        "contract_code": contract, "zone_class": "in_zone", "calendar_code": "24x7", "respond_minutes": 60,
        "arrive_minutes": 240, "resolve_minutes": 1440, "resolve_from": "arrived"})
    assert r.status_code == 200, r.text
    for eng, dealer, skills in ((e1, d1, {skill: 3}), (e2, d2, {f"other-{sfx}": 3})):
        r = await dp.put(f"/v1/engineers/{eng}", headers=dispatcher, json={
            "name": eng, "employer": "dealer", "dealer_id": dealer, "skills": skills, "zones": [region],
            "home_lat": SITE[0], "home_lon": SITE[1], "max_jobs": 2})
        assert r.status_code == 200, r.text

    # --- parts: a part in stock ----------------------------------------------------------------------------
    part = f"XT-{sfx}"
    r = await pt.post("/v1/catalogue/parts", headers=clerk, json={
        "part_no": part, "name": "relay", "product_lines": ["XT"], "cost_price": "10.00", "list_price": "20.00"})
    assert r.status_code == 201, r.text
    r = await pt.post("/v1/warehouses", headers=clerk, json={
        "code": f"XT-{sfx}", "name": "xt", "kind": "regional", "lat": SITE[0], "lon": SITE[1]})
    assert r.status_code == 201, r.text
    r = await pt.post("/v1/stock/receipts", headers=clerk,
                      json={"warehouse_id": r.json()["id"], "part_no": part, "quantity": 10})
    assert r.status_code == 201, r.text

    # --- D1's ticket becomes a job held by D1's engineer, paused waiting for parts -----------------------------
    ticket = f"TK-{sfx}"
    now = datetime.now(UTC)
    await publish(infra_settings, TicketOpened(aggregate_id=ticket, payload={
        "ticket_id": ticket, "ticket_no": f"NO-{sfx}", "serial": f"SN-{sfx}", "product_line": "XT",
        "required_skill": skill, "dealer_id": d1, "contract_code": contract, "coverage": "warranty",
        "customer_name": "Customer", "phone": "13800000000", "address": "somewhere", "region_code": region,
        "lat": SITE[0], "lon": SITE[1], "channel": "phone", "fault_description": "no cooling",
        "opened_at": now}))

    async def the_job() -> dict[str, Any] | None:
        js = (await dp.get("/v1/jobs", params={"ticket_id": ticket}, headers=dispatcher)).json()
        return js[0] if js and js[0]["engineer_id"] == e1 else None

    job_id = (await wait_for(the_job, what="the_job"))["id"]
    for action, extra in (("accept", {}), ("depart", {}), ("arrive", {"lat": SITE[0], "lon": SITE[1]}),
                          ("pause", {"reason": "waiting_parts"})):
        r = await dp.post(f"/v1/jobs/{job_id}/actions", headers=eng1, json={
            "client_action_id": f"{action}-{sfx}", "action": action,
            "device_time": datetime.now(UTC).isoformat(), **extra})
        assert r.status_code == 200, f"{action}: {r.text}"

    async def parts_knows_the_job() -> bool:
        row = await admin_db.fetchrow("SELECT engineer_id, dealer_id, ticket_id FROM parts.job_engineers "
                                      "WHERE job_id = $1", job_id)
        return row is not None and tuple(row) == (e1, d1, ticket)

    await wait_for(parts_knows_the_job, what="parts_knows_the_job")

    async def job_now() -> dict[str, Any]:
        r = await dp.get(f"/v1/jobs/{job_id}", headers=dispatcher)
        assert r.status_code == 200, r.text
        return r.json()

    paused = await job_now()
    assert (paused["status"], paused["paused_reason"]) == ("paused", "waiting_parts")

    # --- D2 naming D1's job or ticket: refused, naming the field ----------------------------------------------
    def body(**refs: Any) -> dict[str, Any]:
        return {"lines": [{"part_no": part, "quantity": 1}], "coverage": "paid", "ship_to": {"address": "D2 yard"},
                **refs}

    for headers, refs, field, code in (
            (dealer2, {"job_id": job_id, "ticket_id": ticket}, "job_id", "job_of_another_dealer"),
            (dealer2, {"job_id": job_id}, "job_id", "job_of_another_dealer"),
            (dealer2, {"ticket_id": ticket}, "ticket_id", "ticket_of_another_dealer"),
            (eng2, {"job_id": job_id, "ticket_id": ticket}, "job_id", "job_of_another_engineer")):
        r = await pt.post("/v1/part-requests", headers=headers, json=body(**refs))
        assert r.status_code == 403, r.text
        assert (r.json()["field"], r.json()["code"]) == (field, code), r.text
    # D1's own engineer naming the job with a ticket that is not the job's: 422 naming ticket_id
    r = await pt.post("/v1/part-requests", headers=eng1, json=body(job_id=job_id, ticket_id=f"OTHER-{sfx}"))
    assert r.status_code == 422 and r.json()["field"] == "ticket_id", r.text
    assert await admin_db.fetchval("SELECT count(*) FROM parts.part_requests WHERE job_id = $1 OR ticket_id = $2",
                                   job_id, ticket) == 0

    async def ship_and_deliver(request_id: str, owner: dict[str, str]) -> str:
        r = await pt.post(f"/v1/part-requests/{request_id}/payment", headers=finance, json={"reference": "PAY"})
        assert r.status_code == 200, r.text
        r = await pt.post(f"/v1/part-requests/{request_id}/ship", headers=clerk,
                          json={"carrier": "SF", "tracking_no": f"SF-{request_id[:8]}"})
        assert r.status_code == 200, r.text
        r = await pt.post(f"/v1/part-requests/{request_id}/deliver", headers=owner)
        assert r.status_code == 200 and r.json()["status"] == "delivered", r.text
        return str(await admin_db.fetchval(
            "SELECT event_id FROM parts.outbox WHERE key = $1 AND event_type = 'parts.request.delivered'",
            request_id))

    # --- D2's own request, delivered: dispatch hears it, and D1's job stays paused -----------------------------
    r = await pt.post("/v1/part-requests", headers=dealer2, json=body())
    assert r.status_code == 201, r.text
    delivered = await ship_and_deliver(r.json()["id"], dealer2)

    async def dispatch_consumed() -> bool:
        return bool(await admin_db.fetchval("SELECT count(*) FROM dispatch.inbox WHERE event_id::text = $1",
                                            delivered))

    await wait_for(dispatch_consumed, what="dispatch_consumed")
    still = await job_now()
    assert (still["status"], still["paused_reason"]) == ("paused", "waiting_parts")
    assert still["deadlines"] == paused["deadlines"]  # the SLA clock did not restart

    # --- control: D1's engineer's request for the job, delivered, resumes it -----------------------------------
    r = await pt.post("/v1/part-requests", headers=eng1, json=body(job_id=job_id, ticket_id=ticket))
    assert r.status_code == 201, r.text
    await ship_and_deliver(r.json()["id"], eng1)

    async def resumed() -> dict[str, Any] | None:
        j = await job_now()
        return j if j["status"] != "paused" else None

    assert (await wait_for(resumed, what="resumed"))["paused_reason"] is None
