"""The one-statement allocation path (allocate.py + parts.allocate_request): same rule as domain choose(),
same response as GET, idempotency, events that honour their contracts, hot-SKU races, low-stock alerts."""

import asyncio
import json
import random

import pytest

from aftersales_shared.events import registry
from aftersales_shared.testing.isolation import uniq
from aftersales_shared.testing.plugin import reset_schema, running
from parts.domain.allocation import Candidate, choose
from parts.main import create_app
from parts.requests.schemas import RequestCreate
from parts.wire import body_hash, out

from .conftest import own_settings

pytestmark = pytest.mark.integration

SH = {"address": "Shanghai dealer", "lat": 31.23, "lon": 121.47}


def req(part_no, qty=1, coverage="paid", ship_to=SH, **kw):
    return {"lines": [{"part_no": part_no, "quantity": qty}], "coverage": coverage, "ship_to": ship_to, **kw}


async def _events(admin_db, key):
    rows = await admin_db.fetch("SELECT event_type, payload::text AS payload, headers::text AS headers "
                                "FROM parts.outbox WHERE key = $1 ORDER BY id", key)
    parsed = []
    for r in rows:
        ev = registry.parse(r["payload"])  # the contract: the typed class validates it
        assert ev.type == r["event_type"] == json.loads(r["headers"])["event_type"]
        parsed.append(ev)
    return parsed


async def test_response_equals_the_stored_request_and_events_follow_the_contract(client, kit, auth_headers,
                                                                                admin_db, known_job):
    p, q = await kit.part("P-1"), await kit.part("P-2")
    job, ticket = uniq("J"), uniq("T")  # the request's events carry them over Kafka: this test's own
    await known_job(job, "E-9", "D1", ticket=ticket)  # the ticket's job is held by D1's engineer (issue 13)
    w = await kit.warehouse("C1")
    await kit.receive(w, p, 5)
    dealer = auth_headers("dealer", sub="d1", dealer_id="D1")
    body = {"lines": [{"part_no": p, "quantity": 2}, {"part_no": q, "quantity": 1}], "coverage": "warranty",
            "urgent": True, "ship_to": SH, "ticket_id": ticket}
    r = await client.post("/v1/part-requests", headers=dealer, json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    got = (await client.get(f"/v1/part-requests/{created['id']}", headers=dealer)).json()
    assert created == got
    assert created["status"] == "backordered"
    assert [(x["part_no"], x["status"]) for x in created["lines"]] == [(p, "allocated"), (q, "backordered")]
    assert [(x["warehouse_id"], x["quantity"]) for x in created["reservations"]] == [(w, 2)]
    evs = await _events(admin_db, created["id"])
    assert [e.type for e in evs] == ["parts.request.created", "parts.request.backordered"]
    assert {e.payload.status for e in evs} == {"backordered"}
    assert evs[0].payload.ticket_id == ticket and evs[0].payload.dealer_id == "D1"
    # a fully allocated one
    r = await client.post("/v1/part-requests", headers=dealer, json=req(p, 3))
    evs = await _events(admin_db, r.json()["id"])
    assert [e.type for e in evs] == ["parts.request.created", "parts.request.allocated"]
    assert {e.payload.status for e in evs} == {"allocated"}


async def test_warranty_without_document_gate_starts_the_ship_by_clock_at_creation(infra_settings, admin_db,
                                                                                   auth_headers):
    app = create_app(await own_settings(infra_settings, warranty_requires_documents=False))
    async with running(app) as c:
        await reset_schema(admin_db, "parts")
        clerk = auth_headers("parts_clerk")
        await c.post("/v1/catalogue/parts", headers=clerk, json={
            "part_no": "P-1", "name": "p", "product_lines": ["AC"], "cost_price": "1.00", "list_price": "2.00"})
        r = await c.post("/v1/part-requests", headers=auth_headers("dealer", dealer_id="D1"),
                         json=req("P-1", coverage="warranty"))
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["shippable_at"] == body["created_at"] and body["ship_by"] is not None
        evs = await _events(admin_db, body["id"])
        assert all(e.payload.ship_by is not None for e in evs)
        paid = (await c.post("/v1/part-requests", headers=auth_headers("dealer", dealer_id="D1"),
                             json=req("P-1"))).json()
        assert paid["shippable_at"] is None and paid["ship_by"] is None  # R-P2: waits for payment
        await reset_schema(admin_db, "parts")


async def test_idempotent_replay_and_reuse(client, kit, auth_headers, admin_db):
    p = await kit.part()
    w = await kit.warehouse("C1")
    await kit.receive(w, p, 5)
    h = {**auth_headers("dealer", sub="d1", dealer_id="D1"), "Idempotency-Key": "key-0009"}
    # an unknown part claims nothing: the same key still works afterwards
    bad = await client.post("/v1/part-requests", headers=h, json=req("NOPE"))
    assert bad.status_code == 422 and bad.json()["field"] == "lines.0.part_no"
    first = await client.post("/v1/part-requests", headers=h, json=req(p, 2))
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = await client.post("/v1/part-requests", headers=h, json=req(p, 2))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert (await kit.stock(w))[p]["reserved"] == 2
    reused = await client.post("/v1/part-requests", headers=h, json=req(p, 1))
    assert reused.status_code == 409 and reused.json()["field"] == "Idempotency-Key"
    # keys are per caller: another dealer's key-0009 is a new request
    other = {**auth_headers("dealer", sub="d2", dealer_id="D2"), "Idempotency-Key": "key-0009"}
    r = await client.post("/v1/part-requests", headers=other, json=req(p, 2))
    assert r.status_code == 201 and r.json()["id"] != first.json()["id"]
    assert await admin_db.fetchval("SELECT count(*) FROM parts.idempotency_keys WHERE response IS NULL") == 0


def test_fingerprint_is_the_generic_idempotency_digest():
    import hashlib

    body = RequestCreate.model_validate({**req("P-1", 3, urgent=True), "job_id": "J1"})
    assert body_hash(body) == hashlib.sha256(json.dumps(out(body), sort_keys=True).encode()).hexdigest()


async def test_client_mistakes_are_problems_naming_the_field(client, kit, auth_headers):
    p = await kit.part()
    dealer = auth_headers("dealer", sub="d1", dealer_id="D1")
    r = await client.post("/v1/part-requests", headers=dealer, json=req(p, ship_to={"address": "x", "lat": 31.0}))
    assert r.status_code == 422 and "ship_to" in r.json()["field"]
    body = {"lines": [{"part_no": p, "quantity": 1}, {"part_no": "NOPE", "quantity": 1}], "coverage": "paid",
            "ship_to": SH}
    r = await client.post("/v1/part-requests", headers=dealer, json=body)
    assert r.status_code == 422 and r.json()["field"] == "lines.1.part_no"
    r = await client.post("/v1/part-requests", headers=auth_headers("dealer", dealer_id="D1"),
                          json=req(p, dealer_id="D2"))
    assert r.status_code == 403


async def test_hot_sku_race_across_warehouses_never_oversells(client, kit, auth_headers, admin_db, ledger_check):
    """96 concurrent requests (1-3 units) for one part held in 4 warehouses: each allocated line comes whole
    from one warehouse, reserved totals match the reservations, nothing goes negative."""
    p = await kit.part()
    stock = {}
    for i, n in enumerate((3, 5, 7, 2)):
        w = await kit.warehouse(f"W{i}", kind="regional", lat=30 + i, lon=118 + i)
        await kit.receive(w, p, n)
        stock[w] = n
    rnd = random.Random(5)
    qtys = [rnd.randint(1, 3) for _ in range(96)]
    headers = [auth_headers("dealer", sub=f"d{i}", dealer_id=f"D{i % 5}") for i in range(96)]
    results = await asyncio.gather(*[client.post("/v1/part-requests", headers=h, json=req(p, q))
                                     for h, q in zip(headers, qtys, strict=True)])
    assert all(r.status_code == 201 for r in results), [r.text for r in results if r.status_code != 201][:2]
    taken = {w: 0 for w in stock}
    for r, q in zip(results, qtys, strict=True):
        body = r.json()
        if body["status"] == "allocated":
            assert len(body["reservations"]) == 1 and body["reservations"][0]["quantity"] == q
            taken[body["reservations"][0]["warehouse_id"]] += q
        else:
            assert body["reservations"] == []
    bal = {str(b["warehouse_id"]): b for b in await admin_db.fetch(
        "SELECT warehouse_id, on_hand, reserved FROM parts.stock_balances")}
    assert {w: bal[w]["reserved"] for w in stock} == taken
    assert all(bal[w]["reserved"] <= stock[w] for w in stock)
    # no request was backordered while some warehouse could still have filled it at the end
    left = max(stock[w] - taken[w] for w in stock)
    assert all(q > left for r, q in zip(results, qtys, strict=True) if r.json()["status"] == "backordered")
    await ledger_check()


@pytest.mark.parametrize("allow_split", [False, True])
async def test_database_choice_matches_domain_choose(infra_settings, admin_db, auth_headers, allow_split):
    """Random warehouses, stock and ship-to points: the function picks exactly what choose() picks."""
    app = create_app(await own_settings(infra_settings, allow_split=allow_split))
    rnd = random.Random(11 if allow_split else 7)
    async with running(app) as c:
        await reset_schema(admin_db, "parts")
        clerk = auth_headers("parts_clerk")
        dealer = auth_headers("dealer", dealer_id="D1")
        await c.post("/v1/catalogue/parts", headers=clerk, json={
            "part_no": "P-1", "name": "p", "product_lines": ["AC"], "cost_price": "1.00", "list_price": "2.00"})
        whs, seen = {}, set()
        whs_first = ("", 0.0, 0.0)  # warehouse 0: (id, lat, lon), set in the first pass
        for i in range(12):
            kind = rnd.choice(["central", "regional", "regional", "dealer_depot"])
            lat, lon = round(rnd.uniform(20, 45), 3), round(rnd.uniform(100, 125), 3)
            if i == 11:  # a twin of warehouse 0's position: equal distances tie on the warehouse id
                lat, lon, kind = whs_first[1], whs_first[2], "regional"
            r = await c.post("/v1/warehouses", headers=clerk, json={
                "code": f"W{i}", "name": "w", "kind": kind, "lat": lat, "lon": lon,
                **({"dealer_id": "D1"} if kind == "dealer_depot" else {})})
            wid = r.json()["id"]
            whs[wid] = (kind, lat, lon)
            if i == 0:
                whs_first = (wid, lat, lon)
            if rnd.random() < 0.9:
                await c.post("/v1/stock/receipts", headers=clerk,
                             json={"warehouse_id": wid, "part_no": "P-1", "quantity": rnd.randint(1, 6)})
        for n in range(60):
            rows = await admin_db.fetch("SELECT warehouse_id::text AS w, on_hand - reserved AS a "
                                        "FROM parts.stock_balances WHERE part_no = 'P-1'")
            cands = [Candidate(r["w"], whs[r["w"]][1], whs[r["w"]][2], r["a"]) for r in rows
                     if whs[r["w"]][0] in ("central", "regional") and r["a"] > 0]
            no_point = n % 10 == 9
            ship_to = {"address": "x"} if no_point else \
                {"address": "x", "lat": round(rnd.uniform(20, 45), 4), "lon": round(rnd.uniform(100, 125), 4)}
            if n % 7 == 3:
                ship_to = {"address": "x", "lat": whs_first[1], "lon": whs_first[2]}
            qty = rnd.randint(1, 8)
            expected = choose(quantity=qty, candidates=cands, allow_split=allow_split,
                              ship_to=None if no_point else (ship_to["lat"], ship_to["lon"]))
            r = await c.post("/v1/part-requests", headers=dealer, json=req("P-1", qty, ship_to=ship_to))
            assert r.status_code == 201, r.text
            got = [(x["warehouse_id"], x["quantity"]) for x in r.json()["reservations"]]
            assert got == expected, (n, qty, ship_to)
            seen.add("split" if len(got) > 1 else "single" if got else "backorder")
            if not cands:
                break
        assert seen >= ({"split", "single"} if allow_split else {"single", "backorder"})
        await reset_schema(admin_db, "parts")


async def test_low_stock_alert_raised_once_by_allocation(client, kit, clerk, auth_headers, admin_db):
    p = await kit.part()
    w = await kit.warehouse("C1")
    await kit.receive(w, p, 10)
    r = await client.put("/v1/stock/reorder-points", headers=clerk,
                         json={"warehouse_id": w, "part_no": p, "reorder_point": 5})
    assert r.status_code == 200, r.text
    dealer = auth_headers("dealer", sub="d1", dealer_id="D1")
    for _ in range(4):  # 10 -> 6 available: still at or above the reorder point
        assert (await client.post("/v1/part-requests", headers=dealer, json=req(p, 1))).json()["status"] == "allocated"
    assert await _events(admin_db, f"{w}:{p}") == []
    for _ in range(3):  # 6 -> 3: crosses once
        await client.post("/v1/part-requests", headers=dealer, json=req(p, 1))
    low = await _events(admin_db, f"{w}:{p}")
    assert [e.type for e in low] == ["parts.stock.low"]
    assert (low[0].payload.available, low[0].payload.reorder_point, low[0].payload.warehouse_id) == (4, 5, w)
    assert await admin_db.fetchval("SELECT low_alerted FROM parts.stock_balances WHERE part_no = $1", p)


def _allocation_batches() -> tuple[float, float]:
    from aftersales_shared.metrics import GROUP_COMMIT_BATCH

    s = {x.name: x.value for m in GROUP_COMMIT_BATCH.collect() for x in m.samples
         if x.labels.get("path") == "part_allocation"}
    return s.get("group_commit_batch_size_sum", 0.0), s.get("group_commit_batch_size_count", 0.0)


async def test_a_burst_is_group_committed_and_each_request_keeps_its_answer(client, kit, auth_headers, admin_db,
                                                                           ledger_check):
    """Multi-line requests over overlapping parts in opposite orders (two batches must never deadlock),
    a retried key inside the burst, an unknown part: every answer is what it would be alone."""
    parts = [await kit.part(f"G-{i}") for i in range(4)]
    w = await kit.warehouse("GC", kind="central")
    for p in parts:
        await kit.receive(w, p, 10)
    written_before, batches_before = _allocation_batches()
    dealer = auth_headers("dealer", sub="gd", dealer_id="D1")

    def two(a, b):
        return {"lines": [{"part_no": a, "quantity": 1}, {"part_no": b, "quantity": 1}], "coverage": "paid",
                "ship_to": SH}

    calls = [(dealer, two(parts[i % 4], parts[(i + 1) % 4]) if i % 2 else two(parts[(i + 1) % 4], parts[i % 4]))
             for i in range(24)]
    keyed = {**dealer, "Idempotency-Key": "burst-key-0001"}
    calls += [(keyed, req(parts[0]))] * 4
    calls += [(dealer, req("NO-SUCH-PART"))]
    results = await asyncio.gather(*[client.post("/v1/part-requests", headers=h, json=b) for h, b in calls])

    assert [r.status_code for r in results[:24]] == [201] * 24
    same = results[24:28]
    assert {r.status_code for r in same} == {201} and len({r.json()["id"] for r in same}) == 1
    assert results[28].status_code == 422 and results[28].json()["field"] == "lines.0.part_no"
    # 12-13 lines asked per part, 10 in stock each, lines allocate independently: every unit is reserved
    # exactly once, nothing idle, nothing oversold
    reserved = await admin_db.fetchval("SELECT sum(reserved) FROM parts.stock_balances")
    allocated_units = sum(x["quantity"] for r in results[:25] for x in r.json()["reservations"])
    assert reserved == allocated_units == 40
    assert await admin_db.fetchval("SELECT count(*) FROM parts.part_requests") == 25
    await ledger_check()
    written, batches = _allocation_batches()
    assert written - written_before > batches - batches_before, "the burst was never batched"
