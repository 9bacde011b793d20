"""Dispatch test helpers: a running app against the real stack, engineers, tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftersales_shared.events.ticketing import TicketOpenedPayload
from aftersales_shared.testing.isolation import own_kafka, start_at_end, uniq
from aftersales_shared.testing.plugin import reset_schema
from dispatch.config import DispatchSettings
from dispatch.consumers import consumer_specs

SITE = (31.2304, 121.4737)


@pytest.fixture
def dispatch_settings(infra_settings):
    """Settings for a dispatch app; its consumer groups (if it runs them) have a prefix of the test's own. A plan's
    solver stops after 2 s (the service's default of 30 s is for real zone-days; a test's few jobs are solved in
    well under a second, and PyVRP runs to its limit)."""
    def _make(**kw) -> DispatchSettings:
        base = {"run_background": False, "run_consumers": False, "plan_time_limit_seconds": 2.0, **kw}
        return DispatchSettings(**infra_settings("dispatch", **own_kafka("dispatch")), **base)
    return _make


async def own_consumers(settings: DispatchSettings) -> DispatchSettings:
    """Commit the app's consumer groups at the topics' end before it starts: it hears this test's events only,
    never an earlier test's or run's (the topics keep them)."""
    await start_at_end((settings, consumer_specs(settings)))
    return settings


@pytest.fixture
async def clean(admin_db):
    await reset_schema(admin_db, "dispatch")


@pytest.fixture
def admin(auth_headers):
    return auth_headers("admin", sub="admin-1")


def engineer_body(skill: str, *, region="310101", loc=SITE, max_jobs=2, dealer_id=None):
    return {"name": "Wang", "employer": "dealer" if dealer_id else "manufacturer", "dealer_id": dealer_id,
            "skills": {skill: 3}, "zones": [region], "home_lat": loc[0], "home_lon": loc[1],
            "max_jobs": max_jobs}


def ticket(skill: str, *, region="310101", loc=SITE, opened_at=None, contract=None) -> TicketOpenedPayload:
    tid = uniq("T")
    return TicketOpenedPayload(
        ticket_id=tid, ticket_no=tid, serial=uniq("SN"), product_line=skill, required_skill=skill,
        contract_code=contract, coverage="warranty", customer_name="Li Lei", phone="+8613800000000",
        address="1 Renmin Rd", region_code=region, lat=loc[0], lon=loc[1], channel="phone",
        fault_description="no cooling", opened_at=opened_at or datetime.now(UTC) - timedelta(seconds=5),
    )


def unlocated(payload: TicketOpenedPayload) -> TicketOpenedPayload:
    """A ticket without coordinates (and a zone without a centroid): it cannot be routed, so it takes the
    fallback path (nearest free engineer by ``rank``), the only one still counting ``max_jobs``."""
    return payload.model_copy(update={"lat": None, "lon": None})


def action(kind: str, **kw) -> dict:
    body = {"client_action_id": uniq("act"), "device_time": datetime.now(UTC).isoformat(),
            "action": kind}
    body.update(kw)
    return body


RECORD = {"work_done": "replaced compressor relay", "root_cause": "supplier_part",
          "parts_used": [{"part_no": "RLY-1", "new_serial": "N1", "old_serial": "O1", "old_part_kept": True}],
          "labour_minutes": 45, "customer_name": "Li Lei", "signature_ref": "s3://sig/1.png",
          "photos": ["s3://p/1.jpg"]}


async def hear_parts(client, *part_nos: str, **kw) -> None:
    """Dispatch's catalogue read model hears the parts catalogue announce ``part_nos`` (real events, real consumer
    handler; issue 15): quotes charge the catalogue's list price (``list_price=…``, default 100.00)."""
    from aftersales_shared.testing.catalogue import hear, part_changed

    await hear(client.app, consumer_specs(client.app.state.settings), *(part_changed(p, **kw) for p in part_nos))
