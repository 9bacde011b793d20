"""Fixtures: the real parts app on the real stack, with a clean schema per test."""

from __future__ import annotations

import pytest

from aftersales_shared.testing.isolation import own_kafka, start_at_end, uniq
from aftersales_shared.testing.plugin import reset_schema, running
from parts.config import PartsSettings
from parts.consumers import consumer_specs
from parts.main import create_app


async def own_settings(infra_settings, **overrides) -> PartsSettings:
    """Parts settings whose consumer groups are the test's own, committed at the topics' end: the app hears only
    the events the test publishes, never an earlier test's or run's."""
    settings = PartsSettings(**infra_settings("parts", **own_kafka("parts")), **{"watch_interval_seconds": 3600,
                                                                              **overrides})
    await start_at_end((settings, consumer_specs(settings)))
    return settings


@pytest.fixture
async def client(infra_settings, admin_db):
    """A running parts app (migrations, relay, consumers) on an emptied schema."""
    async with running(create_app(await own_settings(infra_settings))) as c:
        await reset_schema(admin_db, "parts")
        yield c


@pytest.fixture
def clerk(auth_headers):
    return auth_headers("parts_clerk", sub="clerk-1")


class Kit:
    """Small helpers to set up catalogue, warehouses and stock through the API."""

    def __init__(self, client, clerk):
        self.c, self.h = client, clerk

    async def part(self, part_no=None, *, must_return=False, cost="80.00", lines=("AC-1",)):
        part_no = part_no or uniq("P")  # the part's events travel on Kafka: a number of this test's own
        r = await self.c.post("/v1/catalogue/parts", headers=self.h, json={
            "part_no": part_no, "name": f"part {part_no}", "product_lines": list(lines), "cost_price": cost,
            "list_price": "120.00", "must_return": must_return})
        assert r.status_code == 201, r.text
        return part_no

    async def warehouse(self, code, *, kind="central", lat=31.2, lon=121.5, **owner):
        r = await self.c.post("/v1/warehouses", headers=self.h, json={
            "code": code, "name": code, "kind": kind, "lat": lat, "lon": lon, **owner})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    async def receive(self, wid, part_no, qty):
        r = await self.c.post("/v1/stock/receipts", headers=self.h,
                              json={"warehouse_id": wid, "part_no": part_no, "quantity": qty})
        assert r.status_code == 201, r.text
        return r.json()

    async def stock(self, wid):
        r = await self.c.get(f"/v1/warehouses/{wid}/stock", headers=self.h)
        assert r.status_code == 200, r.text
        return {x["part_no"]: x for x in r.json()}


@pytest.fixture
def kit(client, clerk):
    return Kit(client, clerk)


@pytest.fixture
def outbox_types(admin_db):
    return lambda aggregate_id=None: _outbox_types(admin_db, aggregate_id)


@pytest.fixture
def ledger_check(admin_db):
    return lambda: _assert_ledger_matches_balances(admin_db)


async def _outbox_types(admin_db, aggregate_id=None):
    q = "SELECT event_type FROM parts.outbox" + (" WHERE key = $1" if aggregate_id else "") + " ORDER BY id"
    return [r["event_type"] for r in await admin_db.fetch(q, *([aggregate_id] if aggregate_id else []))]


async def _assert_ledger_matches_balances(admin_db):
    """On-hand and reserved recomputed from the append-only ledger equal the balance rows."""
    rows = await admin_db.fetch(
        "SELECT b.warehouse_id, b.part_no, b.on_hand, b.reserved, COALESCE(sum(m.on_hand_delta), 0) AS lh, "
        "COALESCE(sum(m.reserved_delta), 0) AS lr FROM parts.stock_balances b LEFT JOIN parts.stock_movements m "
        "ON m.warehouse_id = b.warehouse_id AND m.part_no = b.part_no GROUP BY 1, 2, 3, 4")
    for r in rows:
        assert (r["on_hand"], r["reserved"]) == (r["lh"], r["lr"]), dict(r)
        assert 0 <= r["reserved"] <= r["on_hand"]


@pytest.fixture
def known_job(client):
    """``await known_job(job, engineer, dealer)``: parts hears dispatch's JobAccepted for the job (fed to the
    consumer's handler in a unit of work, as the consumer would), so requests may name the job (issue 13)."""
    from datetime import UTC, datetime

    from aftersales_shared.db import unit_of_work
    from aftersales_shared.events.dispatch import JobAccepted
    from parts.consumers import consumer_specs

    handlers = {t: h for spec in consumer_specs(client.app.state.settings) for t, h in spec.handlers.items()}

    async def hear(job, engineer, dealer=None, *, ticket=None, at=None):
        at = at or datetime.now(UTC)
        event = JobAccepted(aggregate_id=job, occurred_at=at, payload={
            "job_id": job, "ticket_id": ticket or f"T-{job}", "at": at, "engineer_id": engineer,
            "dealer_id": dealer})
        async with unit_of_work(client.app.state.sessions) as session:
            await handlers[event.type](session, event)
    return hear
