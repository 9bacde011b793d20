"""Issue 13, item 7: two instances of every service against one Postgres and one Kafka.

- each consumer group's partitions are split between the two instances (asked of the group coordinator);
- exactly one outbox relay per schema publishes (its advisory lock in ``pg_locks``, the instances' metrics);
- SIGKILL of one ticketing and one dispatch instance in the middle of intake traffic loses and duplicates nothing:
  every ticket gets exactly one dispatch job and one ``JobCreated`` event, ticketing's outbox drains, and each
  ticket learns its job. The survivors take over within seconds; the measured takeover times are printed (not
  asserted: they depend on the machine) and recorded in docs/reliability.md.

The module's tests share the instances (``replicas`` is module-scoped) and run in file order: the kill test comes
after the others, and the last one scans what the instances logged for personal data in clear.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from aftersales_shared.events.dispatch import JobCreated
from aftersales_shared.events.ticketing import TicketOpened
from aftersales_shared.testing.kafka_groups import GroupState, describe_groups, topic_partitions
from aftersales_shared.testing.logscan import personal_data_in_log
from aftersales_shared.testing.processes import ServiceProcess

from .conftest import Replicas

pytestmark = pytest.mark.integration

N_TICKETS = 40
WORKERS = 8
_RELAY_HOLDERS = """
SELECT count(*) FROM pg_locks l
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = (
    SELECT oid FROM pg_database WHERE datname = current_database())
  AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtext($1)::bigint
"""


async def _until(what: str, check: Callable[[], Awaitable[Any]], timeout: float, every: float = 0.25) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` and the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f}s; last seen: {last!r}")


async def _metrics(http: httpx.AsyncClient, p: ServiceProcess) -> dict[str, float]:
    """``name{label=value,...}`` -> value, from an instance's /metrics."""
    r = await http.get(f"{p.url}/metrics")
    r.raise_for_status()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}"] = s.value
    return out


async def _relay_active(http: httpx.AsyncClient, p: ServiceProcess, svc: str) -> bool:
    return (await _metrics(http, p)).get(f"outbox_relay_active{{service={svc}}}", 0.0) == 1.0


async def _published(http: httpx.AsyncClient, p: ServiceProcess, svc: str) -> float:
    return (await _metrics(http, p)).get(f"outbox_published_total{{service={svc}}}", 0.0)


def _split_between_two(state: GroupState, partitions: frozenset[Any]) -> bool:
    """Two members, each owning some partitions, none owned twice, all owned."""
    owned = [tps for tps in state.members.values()]
    return (state.state == "Stable" and len(owned) == 2 and all(owned)
            and sum(len(tps) for tps in owned) == len(partitions) and state.assigned == partitions)


async def test_every_consumer_group_splits_its_partitions_between_the_two_instances(replicas: Replicas) -> None:
    for svc, groups in replicas.groups.items():
        for group, topics in groups.items():
            partitions = await topic_partitions(replicas.bootstrap, topics)
            assert len(partitions) >= 2, f"{group}: {topics} have fewer partitions than instances"

            async def split(group: str = group, partitions: frozenset[Any] = partitions) -> GroupState | None:
                state = (await describe_groups(replicas.bootstrap, [group]))[group]
                return state if _split_between_two(state, partitions) else None

            state = await _until(f"{group} split between the two {svc} instances", split, timeout=60)
            sizes = sorted(len(tps) for tps in state.members.values())
            assert sum(sizes) == len(partitions) and sizes[0] >= 1, (group, state.members)


async def test_exactly_one_relay_per_schema_holds_the_lock_and_publishes(replicas: Replicas, admin_db) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for svc, instances in replicas.instances.items():
            async def one_leader(svc: str = svc, instances: list[ServiceProcess] = instances) -> list[bool] | None:
                active = [await _relay_active(http, p, svc) for p in instances]
                return active if sum(active) == 1 else None

            active = await _until(f"one {svc} relay active", one_leader, timeout=30)
            assert sum(active) == 1, (svc, active)
            assert await admin_db.fetchval(_RELAY_HOLDERS, f"outbox_relay:{svc}") == 1, svc
            standby = instances[active.index(False)]
            assert await _published(http, standby, svc) == 0, f"the standby {standby.name} published"


async def _reference_data(replicas: Replicas, auth_headers: Callable[..., dict[str, str]], sfx: str) -> dict[str, Any]:
    """Product line, policy, dispatch zone and SLA policy, and one unit per ticket, with ids unique to the test."""
    line, skill, contract = f"REP-{sfx}", f"rep-{sfx}", f"REP-{sfx}"
    dealer = f"D-REP-{sfx}"
    region = f"98{int(sfx, 16) % 10000:04d}"  # no real region: the zone below is ours alone
    admin = auth_headers("admin", sub="replicas-admin")
    agent = auth_headers("call_center", sub="replicas-agent")
    tk, dp = replicas.instances["ticketing"][0].url, replicas.instances["dispatch"][0].url
    serials = [f"SN-REP-{sfx}-{i:03d}" for i in range(N_TICKETS)]
    today = date.today()
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(f"{tk}/v1/product-lines", headers=admin,
                            json={"code": line, "name": "Replica test line", "required_skill": skill})
        assert r.status_code == 201, r.text
        r = await http.post(f"{tk}/v1/product-lines/{line}/policies", headers=admin, json={
            "effective_from": "2020-01-01", "months": 12, "start_basis": "sale"})
        assert r.status_code == 201, r.text
        r = await http.put(f"{dp}/v1/zones/{region}", headers=admin,
                           json={"name": "Replica district", "zone_class": "in_zone", "lat": 31.23, "lon": 121.47})
        assert r.status_code == 200, r.text
        r = await http.put(f"{dp}/v1/sla/policies", headers=admin, json={
            "contract_code": contract, "zone_class": "in_zone", "calendar_code": "24x7", "respond_minutes": 60,
            "arrive_minutes": 240, "resolve_minutes": 1440, "resolve_from": "arrived"})
        assert r.status_code == 200, r.text

        async def unit(serial: str) -> None:
            r = await http.post(f"{tk}/v1/units", headers=agent, json={
                "serial": serial, "product_line": line, "region_code": region, "dealer_id": dealer,
                "contract_code": contract, "sold_on": (today - timedelta(days=30)).isoformat()})
            assert r.status_code == 201, r.text

        for chunk in range(0, N_TICKETS, 10):
            await asyncio.gather(*(unit(s) for s in serials[chunk:chunk + 10]))
    return {"region": region, "serials": serials, "agent": agent}


async def test_killing_one_ticketing_and_one_dispatch_instance_mid_traffic_loses_and_duplicates_nothing(
    replicas: Replicas, auth_headers: Callable[..., dict[str, str]], admin_db: asyncpg.Connection, capsys: Any,
) -> None:
    sfx = uuid.uuid4().hex[:8]
    ref = await _reference_data(replicas, auth_headers, sfx)
    tk, dp = replicas.instances["ticketing"], replicas.instances["dispatch"]
    tickets: dict[int, str] = {}
    transport_errors = replays = 0
    killed_at: float | None = None
    victims: list[ServiceProcess] = []
    published_before_kill: dict[str, list[float]] = {}
    half = asyncio.Event()

    async with httpx.AsyncClient(timeout=30) as http:
        # the relay holders: killing them also proves the standby relay takes over
        victims = [[p for p in tk if await _relay_active(http, p, "ticketing")][0],
                   [p for p in dp if await _relay_active(http, p, "dispatch")][0]]

        async def open_ticket(i: int) -> None:
            nonlocal transport_errors, replays
            body = {"serial": ref["serials"][i], "customer_name": "李娜", "phone": f"139{i:08d}",
                    "address": "上海市静安区南京西路2号", "region_code": ref["region"], "channel": "phone",
                    "fault_description": "no cooling after power cut", "requested_action": "repair"}
            headers = {**ref["agent"], "Idempotency-Key": f"replicas-{sfx}-{i:03d}"}
            for attempt in range(40):
                alive = [p for p in tk if p.alive]
                target = alive[(i + attempt) % len(alive)]
                try:
                    r = await http.post(f"{target.url}/v1/tickets", headers=headers, json=body)
                except httpx.TransportError:  # the instance died under the request: retry elsewhere, same key
                    transport_errors += 1
                    continue
                if r.status_code == 409 and r.json().get("code") == "idempotency_key_in_flight":
                    await asyncio.sleep(0.2)
                    continue
                assert r.status_code == 201, r.text
                replays += r.headers.get("Idempotent-Replayed") == "true"
                tickets[i] = r.json()["id"]
                if len(tickets) == N_TICKETS // 2:
                    half.set()
                return
            raise AssertionError(f"ticket {i} could not be opened")

        async def worker(indices: list[int]) -> None:
            for i in indices:
                await open_ticket(i)
                await asyncio.sleep(0.05)  # paced: the kill lands while intake and dispatch are busy

        async def kill_at_half() -> None:
            nonlocal killed_at
            await half.wait()
            for svc in ("ticketing", "dispatch"):
                published_before_kill[svc] = [await _published(http, p, svc) for p in replicas.instances[svc]]
            for v in victims:
                v.kill()
            killed_at = time.monotonic()

        workers = [worker(list(range(w, N_TICKETS, WORKERS))) for w in range(WORKERS)]
        await asyncio.gather(*workers, kill_at_half())
        assert killed_at is not None

        # --- takeover: the standby relays and the surviving consumers (measured, not asserted) -------------
        takeover: dict[str, float | None] = {}

        async def relay_takeover(svc: str) -> None:
            survivor = replicas.alive(svc)[0]
            try:
                await _until(f"{svc} relay takeover", lambda: _relay_active(http, survivor, svc), 60, every=0.1)
                takeover[f"{svc} relay"] = time.monotonic() - killed_at
            except AssertionError:
                takeover[f"{svc} relay"] = None

        async def group_takeover(svc: str, group: str, topics: list[str]) -> None:
            partitions = await topic_partitions(replicas.bootstrap, topics)

            async def survivor_owns_all() -> bool:
                state = (await describe_groups(replicas.bootstrap, [group]))[group]
                return state.state == "Stable" and len(state.members) == 1 and state.assigned == partitions

            try:
                await _until(f"{group} takeover", survivor_owns_all, 60, every=0.2)
                takeover[group.removeprefix(replicas.prefix)] = time.monotonic() - killed_at
            except AssertionError:
                takeover[group.removeprefix(replicas.prefix)] = None

        await asyncio.gather(
            relay_takeover("ticketing"), relay_takeover("dispatch"),
            *(group_takeover(svc, g, t) for svc in ("ticketing", "dispatch") for g, t in replicas.groups[svc].items()))

    # --- nothing lost: every ticket gets its job, ticketing's outbox drains, ticketing hears of each job ------
    assert sorted(tickets) == list(range(N_TICKETS))
    ids = list(tickets.values())

    async def settled() -> dict[str, int] | None:
        jobs = await admin_db.fetchval(
            "SELECT count(DISTINCT ticket_id) FROM dispatch.jobs WHERE ticket_id = ANY($1::text[])", ids)
        unpublished = await admin_db.fetchval(
            "SELECT count(*) FROM ticketing.outbox WHERE published_at IS NULL AND key = ANY($1::text[])", ids)
        known = await admin_db.fetchval(
            "SELECT count(*) FROM ticketing.tickets WHERE id = ANY($1::uuid[]) AND job_id IS NOT NULL", ids)
        state = {"tickets_with_a_job": jobs, "unpublished_ticket_events": unpublished, "tickets_knowing_job": known}
        return state if jobs == known == N_TICKETS and unpublished == 0 else None

    await _until("every ticket has its job and ticketing's outbox is drained", settled, timeout=120, every=0.5)
    elapsed_to_settled = time.monotonic() - killed_at

    # --- nothing duplicated -----------------------------------------------------------------------------
    per_serial = await admin_db.fetch(
        "SELECT serial, count(*) AS n FROM ticketing.tickets WHERE serial = ANY($1::text[]) GROUP BY serial",
        ref["serials"])
    assert sorted((r["serial"], r["n"]) for r in per_serial) == [(s, 1) for s in ref["serials"]]
    opened = Counter(r["key"] for r in await admin_db.fetch(
        "SELECT key FROM ticketing.outbox WHERE event_type = $1 AND key = ANY($2::text[])", TicketOpened.TYPE, ids))
    assert opened == Counter(ids), "one TicketOpened event per ticket"
    jobs = Counter(r["ticket_id"] for r in await admin_db.fetch(
        "SELECT ticket_id FROM dispatch.jobs WHERE ticket_id = ANY($1::text[])", ids))
    assert jobs == Counter(ids), "exactly one dispatch job per ticket"
    created = Counter(r["ticket_id"] for r in await admin_db.fetch(
        "SELECT payload->'payload'->>'ticket_id' AS ticket_id FROM dispatch.outbox "
        "WHERE event_type = $1 AND payload->'payload'->>'ticket_id' = ANY($2::text[])", JobCreated.TYPE, ids))
    assert created == Counter(ids), "exactly one JobCreated event per ticket"

    # before the kill, the standby relays (on the survivors) had published nothing
    for svc, counts in published_before_kill.items():
        standby = [c for p, c in zip(replicas.instances[svc], counts, strict=True) if p not in victims]
        assert standby == [0], (svc, counts)

    with capsys.disabled():
        times = ", ".join(f"{k} {v:.1f}s" if v is not None else f"{k} not within 60s" for k, v in takeover.items())
        print(f"\n[replicas] {N_TICKETS} tickets, {transport_errors} requests cut by the kill and retried "
              f"({replays} answered as replays); takeover after SIGKILL: {times}; "
              f"all jobs created and outbox drained {elapsed_to_settled:.1f}s after the kill")


def test_the_instances_logged_no_personal_data_in_clear(replicas: Replicas) -> None:
    """What the eight instances wrote (JSON lines at INFO, and anything on stderr) through the whole module."""
    for ps in replicas.instances.values():
        for p in ps:
            assert p.log_path is not None
            with open(p.log_path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
            assert any('"service"' in x for x in lines), f"{p.name} logged nothing"
            assert personal_data_in_log(lines) == [], p.name
