"""Consumers under faults, on the real Postgres and Kafka: nothing lost to a transient outage, poison parked,
dead letters replayed exactly once (issue 13, item 1)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from aftersales_shared import devstack
from aftersales_shared.consumer import EventConsumer, dead_letter_topic
from aftersales_shared.testing.plugin import wait_for

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


async def dead_letters(stack, service: str, run_id: str) -> list[Any]:
    """Every message of ``service``'s dead-letter topic that belongs to this test run."""
    topic = dead_letter_topic(service)
    reader = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    await reader.start()
    found = []
    try:
        await reader.topics()  # fetches the metadata partitions_for_topic reads
        parts = reader.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        if not tps:
            return []
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        ends = await reader.end_offsets(tps)
        while any(await reader.position(tp) < ends[tp] for tp in tps):
            for msgs in (await reader.getmany(timeout_ms=500)).values():
                found += [m for m in msgs if run_id.encode() in (m.value or b"")]
    finally:
        await reader.stop()
    return found


@contextlib.asynccontextmanager
async def consumer_of(stack, service_b, probe, handler=None, **kw: Any):
    """Service B's consumer with the settings a service uses by default."""
    sessions, apply, _rows = service_b
    consumer = EventConsumer(service="busb", name="probe", topics=[probe.Changed.TOPIC],
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
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        async with consumer_of(stack, service_b, probe):
            warm = probe.Changed(aggregate_id="warm", payload=probe.Payload(run_id=run_id, key="warm", seq=0))
            await producer.send_and_wait(probe.Changed.TOPIC, warm.to_json().encode(), key=b"warm")

            async def warmed() -> bool:
                return len(await rows(run_id)) == 1

            await wait_for(warmed, timeout=60)  # the pool now holds connections that the stop will kill
            port = stack.pg_port
            await asyncio.to_thread(devstack.stop_postgres, stack)
            assert not devstack.port_open(port)
            try:
                for i in range(20):  # over several keys, so every partition has a message in flight
                    event = probe.Changed(aggregate_id=f"k{i % 5}",
                                          payload=probe.Payload(run_id=run_id, key=f"k{i % 5}", seq=i + 1))
                    await producer.send_and_wait(probe.Changed.TOPIC, event.to_json().encode(),
                                                 key=f"k{i % 5}".encode())
                await asyncio.sleep(10)
            finally:
                await asyncio.to_thread(devstack.start_postgres, stack)
            assert stack.pg_port == port, "Postgres came back on another port"

            async def all_applied() -> bool:
                try:
                    return len(await rows(run_id)) >= 21
                except Exception:  # noqa: BLE001 - the test's own pool meets the restart too
                    return False

            with contextlib.suppress(AssertionError):  # counted below, with the dead letters in the message
                await wait_for(all_applied, timeout=90)
            await asyncio.sleep(1)  # a late duplicate would show up here
        applied = await rows(run_id)
    finally:
        await producer.stop()
    parked = await dead_letters(stack, "busb", run_id)
    assert (len(applied), len(parked)) == (21, 0), f"applied {len(applied)} of 21, dead-lettered {len(parked)}"
    assert len({r.event_id for r in applied}) == 21
    assert sorted(r.seq for r in applied) == list(range(21))
