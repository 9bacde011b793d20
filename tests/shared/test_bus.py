"""The event backbone on a real Postgres and a real Kafka broker (foundation tests 1-5)."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from aftersales_shared.consumer import EventConsumer, dead_letter_topic
from aftersales_shared.dev import devstack
from aftersales_shared.outbox import OutboxRelay
from aftersales_shared.testing.plugin import wait_for

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def pipeline(stack, service_b, probe, *, bootstrap: str | None = None, group: str | None = None):
    """Relay of service A + consumer of service B, running until the block ends."""
    sessions, apply, _rows = service_b
    bootstrap = bootstrap or stack.bootstrap
    relay = OutboxRelay(service="busa", schema="busa", dsn=probe.settings(stack, "busa").asyncpg_dsn(),
                        bootstrap=bootstrap, poll_interval=0.2, topics={probe.Changed.TOPIC})
    consumer = EventConsumer(service="busb", name="probe", topics=[probe.Changed.TOPIC],
                             handlers={probe.Changed.TYPE: apply}, sessions=sessions, bootstrap=bootstrap,
                             group_prefix=group or f"t{uuid.uuid4().hex[:8]}.", max_retries=3, retry_backoff_ms=20)
    relay.start()
    consumer.start()
    try:
        yield relay, consumer
    finally:
        await consumer.stop()
        await relay.stop()


async def test_event_written_with_change_in_A_is_applied_by_consumer_in_B(probe, stack, service_a, service_b, run_id):
    _s, _a, rows = service_b
    async with pipeline(stack, service_b, probe):
        await service_a(run_id, "unit-1", 1)

        async def applied() -> bool:
            return len(await rows(run_id)) == 1

        await wait_for(applied)
    [(event_id, key, seq)] = await rows(run_id)
    assert (key, seq) == ("unit-1", 1)


async def test_duplicate_delivery_changes_nothing(probe, stack, service_a, service_b, run_id):
    """The same event id delivered twice (a redelivery) is applied once (inbox)."""
    _s, _a, rows = service_b
    event = probe.Changed(aggregate_id="k", payload=probe.Payload(run_id=run_id, key="k", seq=7))
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        async with pipeline(stack, service_b, probe) as (_relay, consumer):
            for _ in range(3):
                await producer.send_and_wait(probe.Changed.TOPIC, event.to_json().encode(), key=b"k")
            marker = probe.Changed(aggregate_id="k", payload=probe.Payload(run_id=run_id, key="k", seq=8))
            await producer.send_and_wait(probe.Changed.TOPIC, marker.to_json().encode(), key=b"k")

            async def marker_applied() -> bool:
                return any(r.seq == 8 for r in await rows(run_id))

            await wait_for(marker_applied)
    finally:
        await producer.stop()
    assert [r.seq for r in await rows(run_id)] == [7, 8]


async def test_poison_message_goes_to_dead_letter_topic_and_partition_keeps_flowing(probe, stack, service_b, run_id):
    _s, _a, rows = service_b
    key = b"same-key"  # same key = same partition: the poison must not block what follows
    poison = probe.Changed(aggregate_id="p", payload=probe.Payload(run_id=run_id, key="p", seq=-1))
    after = probe.Changed(aggregate_id="p", payload=probe.Payload(run_id=run_id, key="p", seq=2))
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    dlq = AIOKafkaConsumer(dead_letter_topic("busb"), bootstrap_servers=stack.bootstrap,
                           group_id=f"dlq-reader-{run_id}", auto_offset_reset="earliest")
    try:
        async with pipeline(stack, service_b, probe):
            await producer.send_and_wait(probe.Changed.TOPIC, b"{not json at all", key=key)
            await producer.send_and_wait(probe.Changed.TOPIC, poison.to_json().encode(), key=key)
            await producer.send_and_wait(probe.Changed.TOPIC, after.to_json().encode(), key=key)

            async def next_applied() -> bool:
                return [r.seq for r in await rows(run_id)] == [2]

            await wait_for(next_applied)
        await dlq.start()
        found: dict[str, dict[str, str]] = {}
        deadline = asyncio.get_running_loop().time() + 30
        while len(found) < 2 and asyncio.get_running_loop().time() < deadline:
            batch = await dlq.getmany(timeout_ms=500)
            for msgs in batch.values():
                for m in msgs:
                    headers = {k: v.decode() for k, v in m.headers}
                    if m.value == b"{not json at all":
                        found["garbage"] = headers
                    elif run_id.encode() in m.value:
                        found["poison"] = headers
    finally:
        await producer.stop()
        await dlq.stop()
    assert set(found) == {"garbage", "poison"}
    assert "negative sequence" in found["poison"]["dlq.error"]
    assert found["poison"]["dlq.original_topic"] == probe.Changed.TOPIC
    assert found["garbage"]["dlq.error"]


async def test_per_aggregate_order_1000_events_over_50_keys(probe, stack, service_a, service_b, run_id):
    _s, _a, rows = service_b
    async with pipeline(stack, service_b, probe):
        # writers interleave keys concurrently; within a key the sequence is written in order
        async def writer(k: int) -> None:
            for seq in range(20):
                await service_a(run_id, f"key-{k}", seq)

        await asyncio.gather(*(writer(k) for k in range(50)))

        async def all_applied() -> bool:
            return len(await rows(run_id)) >= 1000

        await wait_for(all_applied, timeout=120)
    per_key: dict[str, list[int]] = defaultdict(list)
    for r in await rows(run_id):
        per_key[r.key].append(r.seq)
    assert len(per_key) == 50
    assert all(seqs == list(range(20)) for seqs in per_key.values())


async def test_no_loss_when_broker_is_down_500_changes_arrive_exactly_once(probe, stack, service_a, service_b, run_id):
    """A private broker is stopped, 500 changes are written, the broker returns: all 500 arrive once."""
    kdir = Path(tempfile.mkdtemp(prefix="kafka-outage-"))
    broker = devstack.StackInfo(
        pg_port=stack.pg_port, pg_password="", pg_dir="", kafka_port=devstack.free_port(),
        kafka_controller_port=devstack.free_port(),
        kafka_cluster_id=devstack.new_cluster_id(),
    )
    await asyncio.to_thread(devstack.start_kafka, broker, kdir=kdir)
    _s, _a, rows = service_b
    try:
        async with pipeline(stack, service_b, probe, bootstrap=broker.bootstrap) as (relay, consumer):
            await service_a(run_id, "warm-up", 0)

            async def warmed() -> bool:
                return len(await rows(run_id)) == 1

            await wait_for(warmed, timeout=120)
            await asyncio.to_thread(devstack.stop_kafka, broker, save=False)
            for i in range(500):
                await service_a(run_id, f"k{i % 25}", i + 1)
            await asyncio.sleep(2)  # the relay is now failing and backing off
            assert len(await rows(run_id)) == 1
            await asyncio.to_thread(devstack.start_kafka, broker, kdir=kdir)

            async def all_arrived() -> bool:
                return len(await rows(run_id)) >= 501

            await wait_for(all_arrived, timeout=180)
            await asyncio.sleep(1)  # a late duplicate would show up here
        applied = await rows(run_id)
        assert len(applied) == 501
        assert len({r.event_id for r in applied}) == 501
        assert sorted(r.seq for r in applied) == list(range(501))
    finally:
        await asyncio.to_thread(devstack.stop_kafka, broker, save=False)


async def test_idle_relay_is_woken_by_notify_not_by_polling(probe, stack, service_a, service_b, run_id):
    """With a 120 s poll interval, an event written while the relay sleeps arrives long before any poll."""
    sessions, apply, rows = service_b
    relay = OutboxRelay(service="busa", schema="busa", dsn=probe.settings(stack, "busa").asyncpg_dsn(),
                        bootstrap=stack.bootstrap, poll_interval=120.0, topics={probe.Changed.TOPIC})
    consumer = EventConsumer(service="busb", name="probe", topics=[probe.Changed.TOPIC],
                             handlers={probe.Changed.TYPE: apply}, sessions=sessions, bootstrap=stack.bootstrap,
                             group_prefix=f"w{uuid.uuid4().hex[:8]}.")
    relay.start()
    consumer.start()
    try:
        await asyncio.wait_for(consumer.ready.wait(), 60)
        await service_a(run_id, "warm", 0)

        async def warmed() -> bool:
            return len(await rows(run_id)) == 1

        await wait_for(warmed, timeout=120)
        await asyncio.sleep(1.5)  # the relay has found nothing and dozes on LISTEN
        written_at = asyncio.get_running_loop().time()
        await service_a(run_id, "wake", 1)

        async def woke() -> bool:
            return len(await rows(run_id)) == 2

        await wait_for(woke, timeout=30, every=0.05)
        assert asyncio.get_running_loop().time() - written_at < 30  # only NOTIFY can explain this
    finally:
        await consumer.stop()
        await relay.stop()
