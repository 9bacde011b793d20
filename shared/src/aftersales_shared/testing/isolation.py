"""A test's own share of the broker: ids, consumer groups and offsets no other test (or run) touches.

The test stack's topics keep every event earlier tests and, with ``KEEP_STACK=1`` or CI's second run, earlier
runs published. A test therefore

- names everything that travels on Kafka with ``uniq(...)`` (``J-1f3a...``, never ``J-1``), and asserts on its
  own rows;
- runs a service's consumers under a group prefix of its own (``own_kafka(label)`` gives the settings'
  overrides), committed at the topics' current end before the app starts (``start_at_end``), so the consumers
  see every event the test causes and none of the topics' history.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ..kafka import ensure_topics


def uniq(prefix: str) -> str:
    """An id of this test alone: ``uniq("J")`` -> ``"J-1f3a9c0b2d"``."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def own_kafka(label: str = "t") -> dict[str, Any]:
    """Kafka settings overrides for one test's app(s): a consumer-group prefix nobody else uses.

    Pass them to ``infra_settings(service, **own_kafka("parts"))``; share one dict between the apps of a test
    that must see each other's events. Then ``start_at_end`` before the apps start: ``new_group_offset="latest"``
    alone would lose what the test publishes before its consumers have joined.
    """
    return {"group_prefix": f"{label}-{uuid.uuid4().hex[:8]}-", "new_group_offset": "latest"}


async def start_groups_at_end(bootstrap: str, groups: Mapping[str, Iterable[str]], partitions: int = 4) -> None:
    """Commit each (new) consumer group's offsets at the current end of its topics."""
    groups = {g: list(ts) for g, ts in groups.items()}
    names = sorted({t for topics in groups.values() for t in topics})
    if not names:
        return
    await ensure_topics(bootstrap, names, partitions)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        known = {d["topic"]: sorted(p["partition"] for p in d["partitions"])
                 for d in await admin.describe_topics(names)}
    finally:
        await admin.close()
    for group, topics in groups.items():
        tps = [TopicPartition(t, p) for t in topics for p in known[t]]
        assert tps, f"no partitions known for {topics}"
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await c.start()
        try:
            c.assign(tps)
            await c.commit(await c.end_offsets(tps))
        finally:
            await c.stop()


def service_groups(settings: Any, specs: Iterable[Any]) -> dict[str, list[str]]:
    """The consumer groups a service app built from ``settings`` will join, with their topics."""
    prefix = settings.kafka.group_prefix
    return {f"{prefix}{settings.service_name}.{spec.name}": list(spec.topics) for spec in specs}


async def start_at_end(*apps: tuple[Any, Iterable[Any]]) -> None:
    """``await start_at_end((settings, consumer_specs(settings)), ...)`` before the apps start."""
    assert apps
    groups: dict[str, list[str]] = {}
    for settings, specs in apps:
        assert settings.kafka.group_prefix, "give the test's consumers a group prefix of their own (own_kafka)"
        groups.update(service_groups(settings, specs))
    first = apps[0][0].kafka
    await start_groups_at_end(first.bootstrap_servers, groups, first.topic_partitions)
