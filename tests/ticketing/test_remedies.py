"""Issue 15 item 3: 三包 remedies carried out on a ticket's unit — R-W4 return/exchange, R-W5 unit and component
replacement, "a replaced main unit keeps warranty cover" — over HTTP on the real stack."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.testing.plugin import reset_schema, running
from ticketing.domain.remedies import new_unit_dates, offer, repairs_since
from ticketing.domain.warranty import Repair, UnitFacts, WarrantyPolicy, determine_warranty
from ticketing.main import create_app

from .conftest import seed_line, seed_unit, settings, ticket_body


def _sn(prefix: str = "SN") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --- pure rules -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("days", range(0, 20))
def test_R_W4_return_and_exchange_offers_follow_the_policy_days(days):
    policy = WarrantyPolicy(months=12, return_days=7, exchange_days=15)
    on = clock.business_today()
    facts = UnitFacts(sold_on=on - timedelta(days=days))
    d = determine_warranty(policy, facts, on)
    ret, exc = offer("return", policy, facts, d), offer("exchange", policy, facts, d)
    assert (ret.allowed, exc.allowed) == (days <= 7, days <= 15)
    assert ret.rule == exc.rule == "R-W4"
    assert f"sold {days} day(s) ago" in ret.reason


@pytest.mark.parametrize(("repairs", "allowed"), [(2, False), (3, True), (4, True)])
def test_R_W5_unit_replacement_after_the_policy_threshold(repairs, allowed):
    policy = WarrantyPolicy(months=24, repeat_repair_threshold=3)
    on = clock.business_today()
    facts = UnitFacts(sold_on=on - timedelta(days=200), repairs=tuple(
        Repair(on - timedelta(days=10 * (i + 1))) for i in range(repairs)))
    o = offer("unit_replacement", policy, facts, determine_warranty(policy, facts, on))
    assert (o.allowed, o.rule) == (allowed, "R-W5")


def test_R_W5_component_count_restarts_after_its_replacement():
    on = clock.business_today()
    repairs = tuple(Repair(on - timedelta(days=d), component="fan") for d in (90, 60, 30, 5))
    assert repairs_since(repairs, "fan", None, on) == 4
    assert repairs_since(repairs, "fan", on - timedelta(days=20), on) == 1


def test_R_W4_an_exclusion_allows_no_remedy():
    policy = WarrantyPolicy(months=12)
    on = clock.business_today()
    facts = UnitFacts(sold_on=on - timedelta(days=2))
    d = determine_warranty(policy, facts, on, exclusions=("liquid_spill",))
    assert not offer("return", policy, facts, d).allowed


def test_R_W5_new_unit_inherits_the_dates_or_starts_fresh():
    on = clock.business_today()
    facts = UnitFacts(sold_on=on - timedelta(days=100), installed_on=on - timedelta(days=90))
    assert new_unit_dates("inherited", facts, on)["sold_on"] == facts.sold_on
    assert new_unit_dates("fresh", facts, on) == {"sold_on": on, "delivered_on": on, "installed_on": on,
                                                   "dealer_received_on": None}


# --- over HTTP --------------------------------------------------------------------------------------------

async def _unit_and_ticket(client, admin, agent, *, days_ago: int, serial: str | None = None):
    await seed_line(client, admin)
    serial = serial or _sn()
    await seed_unit(client, agent, serial=serial, sold_on=clock.business_today() - timedelta(days=days_ago))
    r = await client.post("/v1/tickets", json=ticket_body(serial=serial), headers=agent)
    assert r.status_code == 201, r.text
    return serial, r.json()


async def _repairs(admin_db, serial, n, component="unit"):
    for i in range(n):
        await admin_db.execute(
            "INSERT INTO ticketing.unit_repairs (id, serial, job_id, completed_on, component, parts_replaced, "
            "in_warranty) VALUES ($1, $2, $3, $4, $5, '[]', true)", uuid.uuid4(), serial, f"J-{uuid.uuid4().hex[:10]}",
            clock.business_today() - timedelta(days=10 * (i + 1)), component)


@pytest.mark.integration
async def test_R_W4_exchange_on_day_10_ships_a_new_unit_with_the_inherited_cover(client, admin, agent, admin_db):
    """Day 10 of a 7/15-day policy: return refused, exchange carried out — the old serial retired with the reason,
    the new unit keeps the old one's warranty (same start and end) and links to its repair history; one event."""
    serial, t = await _unit_and_ticket(client, admin, agent, days_ago=10)
    await _repairs(admin_db, serial, 1)
    new = _sn("NEW")
    r = await client.post(f"/v1/tickets/{t['ticket_no']}/remedies", headers=agent,
                          json={"kind": "exchange", "reason": "performance fault on day 10", "new_serial": new})
    assert r.status_code == 201, r.text
    remedy = r.json()
    assert (remedy["kind"], remedy["rule"], remedy["serial"], remedy["new_serial"], remedy["warranty"]) == (
        "exchange", "R-W4", serial, new, "inherited")
    assert len(remedy["old_unit_repairs"]) == 1  # the link to the old unit's repair history
    old = (await client.get(f"/v1/units/{serial}", headers=agent)).json()
    assert old["status"] == "retired" and old["retired_reason"].startswith("exchanged: ") and old["retired_at"]
    fresh = (await client.get(f"/v1/units/{new}", headers=agent)).json()
    assert fresh["status"] == "active" and fresh["replaces_serial"] == serial and fresh["sold_on"] == old["sold_on"]
    assert (fresh["dealer_id"], fresh["policy_id"]) == (old["dealer_id"], old["policy_id"])
    w_old = (await client.get(f"/v1/units/{serial}/warranty", headers=agent)).json()
    w_new = (await client.get(f"/v1/units/{new}/warranty", headers=agent)).json()
    assert w_new["coverage"] == "warranty"
    assert [c["base_ends_on"] for c in w_new["components"]] == [c["base_ends_on"] for c in w_old["components"]]
    rows = await admin_db.fetch("SELECT payload FROM ticketing.outbox WHERE event_type = "
                                "'ticketing.unit.remedy_completed' AND key = $1", serial)
    assert len(rows) == 1
    p = json.loads(rows[0]["payload"])["payload"]
    assert (p["kind"], p["new_serial"], p["dealer_id"], p["rule"]) == ("exchange", new, "D1", "R-W4")
    listed = (await client.get(f"/v1/tickets/{t['id']}/remedies", headers=agent)).json()["items"]
    assert [x["id"] for x in listed] == [remedy["id"]]
    # the retired serial takes no new ticket (409 naming it); its replacement does
    r = await client.post("/v1/tickets", json={**ticket_body(serial=serial), "force_new": True,
                                               "force_reason": "customer calls again"}, headers=agent)
    assert r.status_code == 409 and r.json()["code"] == "unit_retired" and r.json()["field"] == "serial", r.text
    assert (await client.post("/v1/tickets", json=ticket_body(serial=new), headers=agent)).status_code == 201
    for unit in (serial, new):  # the unit's history names the remedy on the old and on the new unit
        h = (await client.get(f"/v1/units/{unit}/history", headers=agent)).json()
        assert [(x["id"], x["kind"], x["new_serial"]) for x in h["remedies"]] == [(remedy["id"], "exchange", new)]


@pytest.mark.integration
async def test_R_W4_return_on_day_9_is_a_409_naming_the_rule_and_writes_nothing(client, admin, agent, admin_db):
    serial, t = await _unit_and_ticket(client, admin, agent, days_ago=9)
    r = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=agent,
                          json={"kind": "return", "reason": "customer wants the money back"})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["rule"] == "R-W4" and body["field"] == "kind" and body["code"] == "remedy_not_allowed"
    assert "within 7 days" in body["detail"] and "9 day(s)" in body["detail"]
    assert r.headers["content-type"].startswith("application/problem+json")
    assert await admin_db.fetchval("SELECT status FROM ticketing.units WHERE serial = $1", serial) == "active"
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.unit_remedies") == 0
    ok = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=agent,
                           json={"kind": "exchange", "reason": "exchange instead", "new_serial": _sn("NEW")})
    assert ok.status_code == 201, ok.text  # day 9 is inside the 15 days of exchange


@pytest.mark.integration
async def test_R_W4_return_on_day_5_retires_the_unit_and_ships_nothing(client, admin, agent, admin_db):
    serial, t = await _unit_and_ticket(client, admin, agent, days_ago=5)
    r = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=agent,
                          json={"kind": "return", "reason": "customer returns it"})
    assert r.status_code == 201, r.text
    assert (r.json()["new_serial"], r.json()["warranty"]) == (None, None)
    u = await admin_db.fetchrow("SELECT status, retired_reason FROM ticketing.units WHERE serial = $1", serial)
    assert u["status"] == "retired" and u["retired_reason"] == "returned: customer returns it"
    again = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=agent,
                              json={"kind": "exchange", "reason": "and an exchange?", "new_serial": _sn("NEW")})
    assert again.status_code == 409 and again.json()["code"] == "unit_retired"


@pytest.mark.integration
@pytest.mark.parametrize(("repairs", "status"), [(2, 409), (3, 201)])
async def test_R_W5_unit_replacement_after_3_repairs_allowed_after_2_refused(client, admin, agent, admin_db,
                                                                              repairs, status):
    serial, t = await _unit_and_ticket(client, admin, agent, days_ago=200)
    await _repairs(admin_db, serial, repairs)
    r = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=agent,
                          json={"kind": "unit_replacement", "reason": "repeated failures", "new_serial": _sn("NEW")})
    assert r.status_code == status, r.text
    if status == 409:
        assert r.json()["rule"] == "R-W5" and "2 on record" in r.json()["detail"]
    else:
        assert r.json()["rule"] == "R-W5" and len(r.json()["old_unit_repairs"]) == 3


@pytest.mark.integration
async def test_R_W5_component_replacement_is_recorded_and_its_count_restarts(client, admin, agent, admin_db):
    serial, t = await _unit_and_ticket(client, admin, agent, days_ago=200)
    await _repairs(admin_db, serial, 3, component="compressor")
    body = {"kind": "component_replacement", "reason": "third compressor failure", "component": "compressor"}
    r = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=agent, json=body)
    assert r.status_code == 201, r.text
    assert (r.json()["kind"], r.json()["component"], r.json()["rule"]) == ("component_replacement", "compressor",
                                                                           "R-W5")
    assert await admin_db.fetchval("SELECT status FROM ticketing.units WHERE serial = $1", serial) == "active"
    again = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=agent, json=body)
    assert again.status_code == 409 and "0 on record since its replacement" in again.json()["detail"]


@pytest.mark.integration
async def test_remedy_is_idempotent_by_key_and_a_reused_key_is_refused(client, admin, agent, admin_db):
    serial, t = await _unit_and_ticket(client, admin, agent, days_ago=3)
    key = {**agent, "Idempotency-Key": f"remedy-{uuid.uuid4().hex}"}
    body = {"kind": "exchange", "reason": "dead on day 3", "new_serial": _sn("NEW")}
    first = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=key, json=body)
    second = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=key, json=body)
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert second.headers["Idempotent-Replayed"] == "true" and second.json()["id"] == first.json()["id"]
    other = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=key, json={**body, "new_serial": _sn()})
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.unit_remedies WHERE serial = $1", serial) == 1
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.outbox WHERE event_type = "
                                   "'ticketing.unit.remedy_completed' AND key = $1", serial) == 1


@pytest.mark.integration
async def test_racing_remedies_on_one_unit_one_wins(client, admin, agent, admin_db):
    serial, t = await _unit_and_ticket(client, admin, agent, days_ago=4)
    bodies = [{"kind": "exchange", "reason": f"race {i}", "new_serial": _sn(f"R{i}")} for i in range(4)]
    bodies.append({"kind": "return", "reason": "race return"})
    rs = await asyncio.gather(*(client.post(f"/v1/tickets/{t['id']}/remedies", headers=agent, json=b)
                                for b in bodies))
    assert sorted(r.status_code for r in rs) == [201, 409, 409, 409, 409], [r.text for r in rs]
    assert all(r.json()["code"] == "unit_retired" for r in rs if r.status_code == 409)
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.unit_remedies WHERE serial = $1", serial) == 1
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.units WHERE replaces_serial = $1", serial) <= 1


@pytest.mark.integration
async def test_bad_remedy_bodies_are_422_naming_the_field(client, admin, agent):
    _serial, t = await _unit_and_ticket(client, admin, agent, days_ago=4)
    for body in ({"kind": "exchange", "reason": "no serial"},
                 {"kind": "return", "reason": "x y z", "new_serial": "SN-1234"},
                 {"kind": "teleport", "reason": "abc"},
                 {"kind": "component_replacement", "reason": "ticket names unit"}):
        r = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=agent, json=body)
        assert r.status_code == 422, (body, r.text)
    taken = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=agent,
                              json={"kind": "exchange", "reason": "serial taken", "new_serial": t["serial"]})
    assert taken.status_code == 409 and taken.json()["field"] == "new_serial"


@pytest.mark.integration
async def test_engineer_acts_only_on_a_ticket_its_job_moved(client, admin, agent, auth_headers, admin_db):
    _serial, t = await _unit_and_ticket(client, admin, agent, days_ago=4)
    engineer = f"E-{uuid.uuid4().hex[:8]}"
    eng = auth_headers("engineer", sub=engineer, engineer_id=engineer)
    body = {"kind": "exchange", "reason": "engineer found it dead", "new_serial": _sn("NEW")}
    assert (await client.post(f"/v1/tickets/{t['id']}/remedies", headers=eng, json=body)).status_code == 404
    await admin_db.execute("INSERT INTO ticketing.ticket_transitions (ticket_id, from_status, to_status, actor, at) "
                           "VALUES ($1, 'open', 'assigned', $2, now())", uuid.UUID(t["id"]), f"dispatch:{engineer}")
    r = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=eng, json=body)
    assert r.status_code == 201 and r.json()["actor"] == engineer, r.text
    dealer = auth_headers("dealer", sub="D1", dealer_id="D1")
    assert (await client.post(f"/v1/tickets/{t['id']}/remedies", headers=dealer, json=body)).status_code == 403
    assert len((await client.get(f"/v1/tickets/{t['id']}/remedies", headers=dealer)).json()["items"]) == 1


@pytest.mark.integration
async def test_R_W5_fresh_warranty_by_setting(infra_settings, admin_db, auth_headers):
    """With ``remedy_new_unit_warranty = fresh`` the new unit's term starts on the day of the remedy."""
    admin, agent = auth_headers("admin"), auth_headers("call_center", sub="agent-1")
    async with running(create_app(settings(infra_settings, remedy_new_unit_warranty="fresh"))) as client:
        await reset_schema(admin_db, "ticketing")
        _serial, t = await _unit_and_ticket(client, admin, agent, days_ago=12)
        new = _sn("NEW")
        r = await client.post(f"/v1/tickets/{t['id']}/remedies", headers=agent,
                              json={"kind": "exchange", "reason": "fresh term", "new_serial": new})
        assert r.status_code == 201 and r.json()["warranty"] == "fresh", r.text
        u = (await client.get(f"/v1/units/{new}", headers=agent)).json()
        assert u["sold_on"] == clock.business_today().isoformat()
