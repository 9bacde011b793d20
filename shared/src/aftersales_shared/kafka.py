"""Kafka plumbing: topic creation and producer construction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)


async def ensure_topics(bootstrap: str, topics: Iterable[str], partitions: int = 4) -> None:
    """Create missing topics (replication factor 1 for the single local broker)."""
    wanted = sorted(set(topics))
    if not wanted:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(name=t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


def make_producer(bootstrap: str, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer: acks=all, ordered per partition across retries."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=10000,
        retry_backoff_ms=200,
    )


async def kafka_reachable(bootstrap: str, timeout: float = 3.0) -> bool:
    """True when the cluster answers a metadata request within ``timeout`` seconds."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout=timeout)
        await asyncio.wait_for(admin.list_topics(), timeout=timeout)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
    finally:
        try:
            await admin.close()
        except Exception:  # noqa: BLE001
            log.debug("admin close failed", exc_info=True)
