"""Consumers under faults, on the real Postgres and Kafka: nothing lost to a transient outage, poison parked,
dead letters replayed exactly once (issue 13, item 1)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import REGISTRY

from aftersales_shared.app import ServiceParts, create_service_app
from aftersales_shared.config import AuthSettings, KafkaSettings, ServiceSettings
from aftersales_shared.consumer import EventConsumer, dead_letter_topic
from aftersales_shared.deadletters import replay_dead_letters, topic_partitions
from aftersales_shared.dev import devstack
from aftersales_shared.testing.plugin import running, wait_for

pytestmark = pytest.mark.integration


class _ReconnectingAdmin:
    """``admin_db`` for tests that restart Postgres: a fresh superuser connection whenever the old one died."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: asyncpg.Connection | None = None

    async def _c(self) -> asyncpg.Connection:
        if self.conn is None or self.conn.is_closed():
            self.conn = await asyncpg.connect(self.dsn)
        return self.conn

    async def execute(self, *a: Any) -> Any:
        return await (await self._c()).execute(*a)

    async def fetch(self, *a: Any) -> Any:
        return await (await self._c()).fetch(*a)

    async def fetchval(self, *a: Any) -> Any:
        return await (await self._c()).fetchval(*a)

    async def close(self) -> None:
        if self.conn is not None and not self.conn.is_closed():
            await self.conn.close()


@pytest.fixture
async def admin_db(stack):
    """Overrides the plugin's fixture: this module stops Postgres, which kills a plain connection."""
    admin = _ReconnectingAdmin(stack.admin_dsn())
    yield admin
    await admin.close()


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": "busb", "consumer": "probe"}) or 0.0


async def dead_letters(stack, service: str, run_id: str) -> list[Any]:
    """Every message of ``service``'s dead-letter topic that belongs to this test run."""
    topic = dead_letter_topic(service)
    reader = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    await reader.start()
    found = []
    try:
        tps = await topic_partitions(stack.bootstrap, topic)
        if not tps:
            return []
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        ends = await reader.end_offsets(tps)
        while any([await reader.position(tp) < ends[tp] for tp in tps]):
            for msgs in (await reader.getmany(timeout_ms=500)).values():
                found += [m for m in msgs if run_id.encode() in (m.value or b"")]
    finally:
        await reader.stop()
    return found


@contextlib.asynccontextmanager
async def consumer_of(stack, service_b, probe, topic: str, handler=None, **kw: Any):
    """Service B's consumer of ``topic`` (one per test: no history to wade through) with a service's defaults."""
    sessions, apply, _rows = service_b
    consumer = EventConsumer(service="busb", name="probe", topics=[topic],
                             handlers={probe.Changed.TYPE: handler or apply}, sessions=sessions,
                             bootstrap=stack.bootstrap, group_prefix=f"f{uuid.uuid4().hex[:8]}.", **kw)
    consumer.start()
    try:
        await asyncio.wait_for(consumer.ready.wait(), 60)
        yield consumer
    finally:
        await consumer.stop()


async def test_postgres_down_10s_with_20_events_in_flight_applies_each_once_and_dead_letters_none(
        probe, stack, service_b, run_id):
    """Postgres is stopped (fast shutdown: sessions killed) while 20 events reach the consumer, and started again
    on the same port ~10 s later: every event is applied exactly once and nothing is dead-lettered."""
    _s, _a, rows = service_b
    topic = f"busa.fault-{run_id}.v1"
    retried_before = _sample("consumer_transient_retries_total")
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        async with consumer_of(stack, service_b, probe, topic):
            warm = probe.Changed(aggregate_id="warm", payload=probe.Payload(run_id=run_id, key="warm", seq=0))
            await producer.send_and_wait(topic, warm.to_json().encode(), key=b"warm")

            async def warmed() -> bool:
                return len(await rows(run_id)) == 1

            await wait_for(warmed, timeout=120)  # the pool now holds connections that the stop will kill
            port = stack.pg_port
            await asyncio.to_thread(devstack.stop_postgres, stack)
            assert not devstack.port_open(port)
            try:
                for i in range(20):  # over several keys, so every partition has a message in flight
                    event = probe.Changed(aggregate_id=f"k{i % 5}",
                                          payload=probe.Payload(run_id=run_id, key=f"k{i % 5}", seq=i + 1))
                    await producer.send_and_wait(topic, event.to_json().encode(), key=f"k{i % 5}".encode())
                await asyncio.sleep(10)
                retrying_during_outage = _sample("consumer_retrying_partitions")
            finally:
                await asyncio.to_thread(devstack.start_postgres, stack)
            assert stack.pg_port == port, "Postgres came back on another port"

            async def all_applied() -> bool:
                try:
                    return len(await rows(run_id)) >= 21
                except Exception:  # noqa: BLE001 - the test's own pool meets the restart too
                    return False

            with contextlib.suppress(AssertionError):  # counted below, with the dead letters in the message
                await wait_for(all_applied, timeout=120)
            await asyncio.sleep(1)  # a late duplicate would show up here
        applied = await rows(run_id)
    finally:
        await producer.stop()
    parked = await dead_letters(stack, "busb", run_id)
    assert (len(applied), len(parked)) == (21, 0), f"applied {len(applied)} of 21, dead-lettered {len(parked)}"
    assert len({r.event_id for r in applied}) == 21
    assert sorted(r.seq for r in applied) == list(range(21))
    # the consumer did meet the outage: it waited it out with partitions paused (the alert's gauge), and let go
    assert retrying_during_outage >= 1
    assert _sample("consumer_transient_retries_total") > retried_before
    assert _sample("consumer_retrying_partitions") == 0


async def messages_of(stack, topic: str, run_id: str) -> list[Any]:
    """Every message of ``topic`` carrying this run's id."""
    reader = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    await reader.start()
    found = []
    try:
        tps = await topic_partitions(stack.bootstrap, topic)
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        ends = await reader.end_offsets(tps)
        while any([await reader.position(tp) < ends[tp] for tp in tps]):
            for msgs in (await reader.getmany(timeout_ms=500)).values():
                found += [m for m in msgs if run_id.encode() in (m.value or b"")]
    finally:
        await reader.stop()
    return found


async def test_deterministic_failure_is_dead_lettered_then_replayed_exactly_once(
        probe, stack, service_b, run_id, jwt_keys, auth_headers):
    """A handler bug parks the event (after the bounded retries, not forever); once fixed, the admin replay applies
    it exactly once; a second replay (admin endpoint or the function behind the CLI) re-publishes nothing."""
    _s, apply, rows = service_b
    topic = f"busa.replay-{run_id}.v1"
    broken = True

    async def handler(session, event):
        if broken:
            raise KeyError("a handler bug: no such tariff")
        await apply(session, event)

    prefix = f"r{uuid.uuid4().hex[:8]}."
    settings = ServiceSettings(
        environment="test", service_name="busb", db_schema="busb", db=probe.settings(stack, "busb"),
        kafka=KafkaSettings(bootstrap_servers=stack.bootstrap, group_prefix=prefix),
        auth=AuthSettings(public_key_pem=jwt_keys[1].decode()),
        run_migrations_on_start=False, run_relay=False, run_consumers=False,
    )
    app = create_service_app(settings, ServiceParts(title="busb", migrations_dir=Path("."), routers=[]))
    admin = auth_headers("admin")
    event = probe.Changed(aggregate_id="r", payload=probe.Payload(run_id=run_id, key="r", seq=1))
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        async with consumer_of(stack, service_b, probe, topic, handler=handler, max_retries=3, retry_backoff_ms=20), \
                running(app) as client:
            await producer.send_and_wait(topic, event.to_json().encode(), key=b"r")

            async def parked() -> bool:
                page = (await client.get("/v1/admin/dead-letters", headers=admin)).json()
                return any(i["event_id"] == str(event.event_id) for i in page["items"])

            await wait_for(parked, timeout=120)
            page = (await client.get("/v1/admin/dead-letters", headers=admin)).json()
            [letter] = [i for i in page["items"] if i["event_id"] == str(event.event_id)]
            assert letter["original_topic"] == topic and "no such tariff" in letter["error"]
            assert letter["replayed"] is False and "payload" not in letter
            assert await rows(run_id) == []
            assert (await client.get("/v1/admin/dead-letters", headers=auth_headers("ops"))).status_code == 403

            broken = False  # the fix is deployed
            first = await client.post("/v1/admin/dead-letters/replay", headers=admin)
            assert first.status_code == 200, first.text
            assert first.json()["by_topic"].get(topic) == 1

            async def applied() -> bool:
                return len(await rows(run_id)) == 1

            await wait_for(applied, timeout=120)
            second = await client.post("/v1/admin/dead-letters/replay", headers=admin)
            assert second.json()["by_topic"].get(topic) is None
            again = await replay_dead_letters(stack.bootstrap, "busb", group_prefix=prefix)
            assert again.by_topic.get(topic) is None
            page = (await client.get("/v1/admin/dead-letters", headers=admin)).json()
            assert [i["replayed"] for i in page["items"] if i["event_id"] == str(event.event_id)] == [True]
            await asyncio.sleep(1)  # a late duplicate would show up here
        assert len(await messages_of(stack, topic, run_id)) == 2  # the original and the one replay
        assert [r.seq for r in await rows(run_id)] == [1]
        assert len(await dead_letters(stack, "busb", run_id)) == 1  # not dead-lettered again
    finally:
        await producer.stop()
