"""Ticket intake, idempotency, duplicates, search, lifecycle, masking and roles against the real app."""

import asyncio
import io
import json
import logging
from datetime import UTC, datetime
from uuid import UUID

import pytest

from aftersales_shared.db import unit_of_work
from ticketing.tickets.service import close_ticket

from .conftest import seed_line, seed_unit, ticket_body

pytestmark = pytest.mark.integration


async def outbox_types(admin_db, key):
    """Event types written for one aggregate (the shared stack may have other writers)."""
    return [r["event_type"] for r in await admin_db.fetch(
        "SELECT event_type FROM ticketing.outbox WHERE key = $1 ORDER BY id", key)]


async def test_open_ticket_with_coverage_and_event(client, admin, agent, admin_db):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    r = await client.post("/v1/tickets", json=ticket_body(), headers=agent)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["ticket_no"].startswith("T") and t["status"] == "open" and t["coverage"] == "warranty"
    assert t["phone"] == "+8613812345678" and t["warranty_reasons"]
    row = await admin_db.fetchrow("SELECT payload FROM ticketing.outbox WHERE event_type = 'ticketing.ticket.opened' "
                                  "AND key = $1", t["id"])
    p = json.loads(row["payload"])["payload"]
    assert p["required_skill"] == "hvac" and p["region_code"] == "320106" and p["contract_code"] == "GOLD"
    assert p["dealer_id"] == "D1" and p["coverage"] == "warranty" and p["lat"] == 32.06
    hist = (await client.get(f"/v1/tickets/{t['ticket_no']}", headers=agent)).json()["history"]
    assert hist[0]["to_status"] == "open" and hist[0]["actor"] == "agent-1"


async def test_R_T2_agent_selected_exclusion_makes_it_paid(client, admin, agent):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    r = await client.post("/v1/tickets", json=ticket_body(exclusions=["liquid_spill"]), headers=agent)
    assert r.status_code == 201 and r.json()["coverage"] == "paid" and r.json()["exclusions"] == ["liquid_spill"]


async def test_duplicate_open_ticket_is_409_pointing_to_it_unless_forced(client, admin, agent):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    first = (await client.post("/v1/tickets", json=ticket_body(), headers=agent)).json()
    r = await client.post("/v1/tickets", json=ticket_body(), headers=agent)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["open_ticket"]["ticket_no"] == first["ticket_no"] and r.json()["field"] == "serial"
    r = await client.post("/v1/tickets", json=ticket_body(force_new=True), headers=agent)
    assert r.status_code == 422 and r.json()["field"] == "force_reason"
    r = await client.post("/v1/tickets", json=ticket_body(force_new=True, force_reason="second unit fault"),
                          headers=agent)
    assert r.status_code == 201


async def test_racing_posts_for_one_serial_create_exactly_one_open_ticket(client, admin, agent, admin_db):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    results = await asyncio.gather(*(client.post("/v1/tickets", json=ticket_body(), headers=agent) for _ in range(20)))
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 1 and codes.count(409) == 19, codes
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.tickets WHERE serial = 'SN-0001'") == 1


async def test_same_idempotency_key_concurrently_gives_one_ticket_and_same_response(client, admin, agent, admin_db):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    hdrs = {**agent, "Idempotency-Key": "key-abcdef-123"}
    results = await asyncio.gather(*(client.post("/v1/tickets", json=ticket_body(), headers=hdrs) for _ in range(10)))
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["id"] for r in results}) == 1
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.tickets WHERE serial = 'SN-0001'") == 1
    assert (await outbox_types(admin_db, results[0].json()["id"])).count("ticketing.ticket.opened") == 1
    other = await client.post("/v1/tickets", json=ticket_body(channel="web"), headers=hdrs)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("patch,field", [
    ({"phone": "12345"}, "phone"), ({"region_code": "32010"}, "region_code"), ({"channel": "fax"}, "channel"),
    ({"lat": 95, "lon": 1}, "lat"), ({"serial": "x"}, "serial"), ({"exclusions": ["bad"]}, "exclusions.0"),
    ({"fault_description": ""}, "fault_description"),
])
async def test_validation_errors_are_problem_json_naming_the_field(client, agent, patch, field):
    r = await client.post("/v1/tickets", json=ticket_body(**patch), headers=agent)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field, r.json()


@pytest.mark.parametrize("content,headers,field", [
    (b'{"serial": "SN-1",', {}, "body"),  # cut off mid-request (a weak signal)
    (b"[]", {}, "body"),
    (b"", {}, "body"),
    (json.dumps({**ticket_body(), "extra": 1}).encode(), {}, "extra"),
    (json.dumps(ticket_body()).encode(), {"Idempotency-Key": "short"}, "Idempotency-Key"),
    (json.dumps(ticket_body()).encode(), {"Idempotency-Key": "k" * 201}, "Idempotency-Key"),
])
async def test_malformed_intake_requests_are_422_naming_what_is_wrong(client, agent, content, headers, field):
    r = await client.post("/v1/tickets", content=content,
                          headers={**agent, "Content-Type": "application/json", **headers})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert r.json()["field"] == field, r.json()


async def test_intake_without_a_bearer_token_is_401(client):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "},
                    {"Authorization": "Bearer not-a-jwt"}):
        r = await client.post("/v1/tickets", json=ticket_body(), headers=headers)
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json"), r.text


async def test_intake_is_documented_as_if_declared(client):
    op = (await client.get("/openapi.json")).json()["paths"]["/v1/tickets"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert {"serial", "phone", "region_code", "fault_description"} <= set(schema["required"])
    assert [p["name"] for p in op["parameters"]] == ["Idempotency-Key"] and op["security"]


async def test_unknown_unit_is_422_on_serial(client, agent):
    r = await client.post("/v1/tickets", json=ticket_body(serial="NOPE-1"), headers=agent)
    assert r.status_code == 422 and r.json()["field"] == "serial"


async def test_roles_and_dealer_scope_and_phone_masking(client, admin, agent, auth_headers):
    await seed_line(client, admin)
    await seed_unit(client, agent, serial="SN-A", dealer="D1")
    await seed_unit(client, agent, serial="SN-B", dealer="D2")
    t1 = (await client.post("/v1/tickets", json=ticket_body("SN-A"), headers=agent)).json()
    await client.post("/v1/tickets", json=ticket_body("SN-B", phone="010-12345678"), headers=agent)
    dealer = auth_headers("dealer", sub="d1-user", dealer_id="D1")
    ops = auth_headers("ops", sub="ops-1")
    engineer = auth_headers("engineer", sub="e1", engineer_id="E1")
    assert (await client.get("/v1/tickets")).status_code == 401
    assert (await client.get("/v1/tickets", headers=engineer)).status_code == 403
    assert (await client.post("/v1/tickets", json=ticket_body("SN-A"), headers=ops)).status_code == 403
    assert (await client.post("/v1/tickets", json=ticket_body("SN-A"), headers=dealer)).status_code == 403
    assert (await client.post("/v1/product-lines", json={"code": "X", "name": "x", "required_skill": "x"},
                              headers=agent)).status_code == 403
    page = (await client.get("/v1/tickets", headers=dealer)).json()
    assert [t["serial"] for t in page["items"]] == ["SN-A"] and page["items"][0]["phone"] == "+86138****5678"
    assert (await client.get("/v1/tickets?dealer_id=D2", headers=dealer)).status_code == 403
    assert (await client.get("/v1/units/SN-B", headers=dealer)).status_code == 404
    assert (await client.get(f"/v1/tickets/{t1['id']}", headers=ops)).json()["phone"] == "+86138****5678"
    landline = (await client.get("/v1/tickets?serial=SN-B", headers=agent)).json()["items"][0]["phone"]
    assert landline == "+861012345678"


@pytest.fixture
def log_output():
    """What the service really writes: the JSON lines of the handler ``configure_logging`` installed when the app
    started (the project's formatter and masking filter), redirected from stdout into a buffer."""
    [handler] = [h for h in logging.getLogger().handlers if getattr(h, "_aftersales", False)]
    buffer = io.StringIO()
    stdout = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(stdout)


async def test_phone_never_logged_in_clear(client, admin, agent, log_output):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    opened = await client.post("/v1/tickets", json=ticket_body(), headers=agent)
    assert opened.status_code == 201, opened.text
    for phone in ("13812345678", "+86 138-1234-5678"):
        found = await client.get("/v1/tickets", params={"phone": phone}, headers=agent)
        assert found.status_code == 200 and len(found.json()["items"]) == 1
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    # the capture is real: intake's line and the phone searches' audit lines are there, as the JSON formatter wrote them
    assert any(r["logger"] == "ticketing.tickets.router" and opened.json()["ticket_no"] in r["message"] for r in lines)
    searches = [r for r in lines if "searched tickets by phone" in r["message"]]
    assert len(searches) == 2 and all("+86138****5678" in r["message"] for r in searches), searches
    assert all(r["service"] == "ticketing" for r in lines)
    raw = log_output.getvalue()
    assert "13812345678" not in raw and "1381234" not in raw.replace(" ", "").replace("-", ""), raw


async def test_search_by_phone_serial_number_name_text_with_cursor(client, admin, agent):
    await seed_line(client, admin)
    for i in range(5):
        await seed_unit(client, agent, serial=f"SN-{i:04d}")
        body = ticket_body(f"SN-{i:04d}", customer_name=f"李{i}", fault_description=f"display flickers case {i}")
        assert (await client.post("/v1/tickets", json=body, headers=agent)).status_code == 201
    by_phone = (await client.get("/v1/tickets", params={"phone": "+86 138-1234-5678", "limit": 2},
                                 headers=agent)).json()
    assert len(by_phone["items"]) == 2 and by_phone["next_cursor"]
    seen = [t["id"] for t in by_phone["items"]]
    cursor = by_phone["next_cursor"]
    while cursor:
        page = (await client.get("/v1/tickets", params={"phone": "13812345678", "limit": 2, "cursor": cursor},
                                 headers=agent)).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 5
    one = (await client.get("/v1/tickets", params={"serial": "SN-0003"}, headers=agent)).json()["items"]
    assert len(one) == 1
    no = one[0]["ticket_no"]
    by_no = (await client.get("/v1/tickets", params={"ticket_no": no}, headers=agent)).json()
    assert by_no["items"][0]["id"] == one[0]["id"]
    assert len((await client.get("/v1/tickets", params={"q": "flickers case 4"}, headers=agent)).json()["items"]) == 1
    assert len((await client.get("/v1/tickets", params={"name": "李2"}, headers=agent)).json()["items"]) == 1
    assert (await client.get("/v1/tickets", params={"cursor": "!!"}, headers=agent)).json()["field"] == "cursor"


async def test_cancel_and_reopen_keep_history_and_emit_events(client, admin, agent, admin_db):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    t = (await client.post("/v1/tickets", json=ticket_body(), headers=agent)).json()
    r = await client.post(f"/v1/tickets/{t['id']}/cancel", json={"reason": "customer fixed it"}, headers=agent)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    again = await client.post(f"/v1/tickets/{t['id']}/cancel", json={"reason": "again"}, headers=agent)
    assert again.status_code == 409
    r = await client.post(f"/v1/tickets/{t['id']}/reopen", json={"reason": "fault is back"}, headers=agent)
    assert r.status_code == 200 and r.json()["status"] == "open"
    hist = (await client.get(f"/v1/tickets/{t['id']}", headers=agent)).json()["history"]
    assert [h["to_status"] for h in hist] == ["open", "cancelled", "open"]
    types = await outbox_types(admin_db, t["id"])
    assert types.count("ticketing.ticket.status_changed") == 2 and "ticketing.ticket.cancelled" in types


async def _reopened_payloads(admin_db, ticket_id):
    return [json.loads(r["payload"])["payload"] for r in await admin_db.fetch(
        "SELECT payload FROM ticketing.outbox WHERE key = $1 AND event_type = 'ticketing.ticket.reopened' "
        "ORDER BY id", ticket_id)]


async def test_reopening_a_closed_ticket_asks_dispatch_for_the_next_visit(client, admin, agent, admin_db):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    t = (await client.post("/v1/tickets", json=ticket_body(), headers=agent)).json()

    async def repaired():  # what the JobCompleted consumer does when dispatch reports the repair
        async with unit_of_work(client.app.state.sessions) as s:
            assert await close_ticket(s, ticket_id=UUID(t["id"]), actor="dispatch:E1", outcome="repaired",
                                      at=datetime.now(UTC)) is not None

    await repaired()
    r = await client.post(f"/v1/tickets/{t['id']}/reopen", json={"reason": "compressor rattles again"}, headers=agent)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "open" and r.json()["closed_at"] is None and r.json()["job_id"] is None
    [first] = await _reopened_payloads(admin_db, t["id"])
    assert first["visit"] == 2 and first["reason"] == "compressor rattles again"
    assert first["ticket_id"] == t["id"] and first["ticket_no"] == t["ticket_no"] and first["serial"] == "SN-0001"
    assert first["required_skill"] == "hvac" and first["region_code"] == "320106" and first["lat"] == 32.06
    assert first["coverage"] == "warranty" and first["contract_code"] == "GOLD" and first["dealer_id"] == "D1"
    assert datetime.fromisoformat(first["opened_at"]) == datetime.fromisoformat(t["opened_at"])
    reopened_at = datetime.fromisoformat(first["reopened_at"])
    assert reopened_at > datetime.fromisoformat(t["opened_at"])
    # the transition, its status event and the reopen event were written by one transaction
    txids = await admin_db.fetch(
        "SELECT xmin::text AS x FROM ticketing.ticket_transitions WHERE ticket_id = $1 AND from_status = 'closed' "
        "UNION ALL SELECT xmin::text FROM ticketing.outbox WHERE key = $2 AND (event_type = "
        "'ticketing.ticket.reopened' OR (event_type = 'ticketing.ticket.status_changed' AND "
        "payload->'payload'->>'from_status' = 'closed'))", UUID(t["id"]), t["id"])
    assert len(txids) == 3 and len({r["x"] for r in txids}) == 1

    await repaired()
    r = await client.post(f"/v1/tickets/{t['id']}/reopen", json={"reason": "still rattling"}, headers=agent)
    assert r.status_code == 200, r.text
    assert [p["visit"] for p in await _reopened_payloads(admin_db, t["id"])] == [2, 3]
    # a cancelled ticket reopened counts as a visit too; an open one cannot be reopened (no event)
    await client.post(f"/v1/tickets/{t['id']}/cancel", json={"reason": "customer away"}, headers=agent)
    assert (await client.post(f"/v1/tickets/{t['id']}/reopen", json={"reason": "back home"},
                              headers=agent)).status_code == 200
    r = await client.post(f"/v1/tickets/{t['id']}/reopen", json={"reason": "again"}, headers=agent)
    assert r.status_code == 409 and r.json()["field"] == "status"
    assert [p["visit"] for p in await _reopened_payloads(admin_db, t["id"])] == [2, 3, 4]
    hist = (await client.get(f"/v1/tickets/{t['id']}", headers=agent)).json()["history"]
    assert [h["to_status"] for h in hist] == ["open", "closed", "open", "closed", "open", "cancelled", "open"]
