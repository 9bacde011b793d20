"""Ticketing fixtures: the real app on the real stack, an empty schema per test, a product line with a policy."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from aftersales_shared.testing.plugin import reset_schema, running
from ticketing.config import TicketingSettings
from ticketing.main import create_app

POLICY = {
    "effective_from": "2020-01-01", "months": 12, "start_basis": "sale",
    "component_months": {"compressor": 36}, "uncovered": ["probe"],
    "extension_months": 12, "extension_price": "40.00",
}


def settings(infra_settings, **overrides) -> TicketingSettings:
    base = {**infra_settings("ticketing"), "run_relay": False, "run_consumers": False}
    return TicketingSettings(**{**base, **overrides})


@pytest.fixture
async def client(infra_settings, admin_db):
    async with running(create_app(settings(infra_settings))) as c:
        await reset_schema(admin_db, "ticketing")
        yield c


@pytest.fixture
def agent(auth_headers):
    return auth_headers("call_center", sub="agent-1")


@pytest.fixture
def admin(auth_headers):
    return auth_headers("admin", sub="admin-1")


async def seed_line(client, admin, code="AC", policy=POLICY):
    r = await client.post("/v1/product-lines", json={"code": code, "name": "Air conditioners",
                                                      "required_skill": "hvac"}, headers=admin)
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/product-lines/{code}/policies", json=policy, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


async def seed_unit(client, headers, serial="SN-0001", dealer="D1", sold_on=None, **extra):
    body = {"serial": serial, "product_line": "AC", "dealer_id": dealer, "contract_code": "GOLD",
            "sold_on": (sold_on or date.today() - timedelta(days=30)).isoformat(), "customer_name": "王伟",
            "phone": "13812345678", **extra}
    r = await client.post("/v1/units", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def ticket_body(serial="SN-0001", **extra):
    return {"serial": serial, "customer_name": "王伟", "phone": "138 1234 5678", "address": "南京市鼓楼区中山路1号",
            "region_code": "320106", "lat": 32.06, "lon": 118.78, "channel": "phone",
            "fault_description": "compressor makes a loud rattling noise", "requested_action": "repair", **extra}


async def hear_parts(client, *part_nos: str, **kw) -> None:
    """Ticketing's catalogue read model hears the parts catalogue announce ``part_nos`` (real events, real
    consumer handler; issue 15)."""
    from aftersales_shared.testing.catalogue import hear, part_changed
    from ticketing.consumers import consumer_specs

    await hear(client.app, consumer_specs(client.app.state.settings), *(part_changed(p, **kw) for p in part_nos))
