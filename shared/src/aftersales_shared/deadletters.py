"""Dead letters: inspect a service's dead-letter topic and replay it once the cause is fixed.

A consumer parks a message it cannot apply (malformed, or a handler that keeps failing deterministically) on
``<service>.deadletter.v1`` with ``dlq.*`` headers naming the original topic, partition, offset, consumer and
error. **Replay** re-publishes each dead letter not replayed yet to its original topic (same key, value and
headers, plus ``dlq.replayed_from``); the replay position is the committed offset of the group
``<prefix><service>.deadletter-replay``, so a second replay re-publishes nothing. Re-publishing is safe even
twice: every consumer's inbox ignores an event id it already applied. A malformed message (not an event) is
skipped: it can never be applied.

- ``GET /v1/admin/dead-letters`` and ``POST /v1/admin/dead-letters/replay`` on every service (admin role,
  mounted by ``create_service_app``);
- ``python -m aftersales_shared.deadletters list|replay SERVICE`` (``make dlq-replay SERVICE=...``), with
  ``KAFKA_BOOTSTRAP_SERVERS``/``KAFKA_GROUP_PREFIX`` from the environment, else the local devstack's broker.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from .auth import Principal, Role, require_roles
from .consumer import dead_letter_topic
from .kafka import make_producer
from .logging import mask_personal_data
from .metrics import DLQ_REPLAYED


def replay_group(service: str, group_prefix: str = "") -> str:
    """The consumer group whose committed offsets mark how far a service's dead letters were replayed."""
    return f"{group_prefix}{service}.deadletter-replay"


class DeadLetterRead(BaseModel):
    """One parked message: where it came from and why (never its payload: it may carry personal data)."""

    partition: int
    offset: int
    timestamp: datetime | None
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    consumer: str | None
    error: str | None
    event_id: str | None
    event_type: str | None
    replayed: bool


class DeadLetterPage(BaseModel):
    service: str
    topic: str
    total: int
    pending: int
    """Dead letters not replayed yet."""
    items: list[DeadLetterRead]
    """The most recent ``limit`` dead letters, oldest first."""


class ReplayResult(BaseModel):
    service: str
    replayed: int
    skipped_malformed: int
    by_topic: dict[str, int]


@dataclass
class _Letter:
    record: ConsumerRecord
    headers: dict[str, str]
    event: dict[str, Any] | None  # None: not a JSON event (malformed)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _read(msg: ConsumerRecord) -> _Letter:
    headers = {k: v.decode(errors="replace") for k, v in (msg.headers or ())}
    try:
        event = json.loads(msg.value)
        event = event if isinstance(event, dict) and "event_id" in event and "type" in event else None
    except (TypeError, ValueError):
        event = None
    return _Letter(msg, headers, event)


async def topic_partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The partitions of ``topic`` (none when it does not exist yet), asked of the broker."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described.get("error_code"):
        return []
    return sorted((TopicPartition(topic, p["partition"]) for p in described["partitions"]), key=lambda tp: tp.partition)


async def _scan(bootstrap: str, service: str, group_prefix: str, *, from_committed: bool
                ) -> tuple[AIOKafkaConsumer, list[_Letter], dict[TopicPartition, int], dict[TopicPartition, int]]:
    """Read the dead-letter topic up to its current end: from the replay position or from the beginning.

    Returns the (started) reader, the letters, the end offsets and the replay positions; the caller stops the reader.
    """
    topic = dead_letter_topic(service)
    tps = await topic_partitions(bootstrap, topic)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=replay_group(service, group_prefix),
                              enable_auto_commit=False, auto_offset_reset="earliest",
                              client_id=f"{service}-deadletters")
    await reader.start()
    try:
        if not tps:
            return reader, [], {}, {}
        reader.assign(tps)
        ends = await reader.end_offsets(tps)
        positions: dict[TopicPartition, int] = {}
        for tp in tps:
            committed = await reader.committed(tp)
            positions[tp] = committed or 0
            if from_committed and committed:
                reader.seek(tp, committed)
            else:
                await reader.seek_to_beginning(tp)
        letters: list[_Letter] = []
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            behind = [tp for tp in tps if await reader.position(tp) < ends[tp]]
            if not behind:
                break
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"could not read {topic} to its end within 60 s")
            batch = await reader.getmany(*behind, timeout_ms=1000)
            for tp, msgs in batch.items():
                letters += [_read(m) for m in msgs if m.offset < ends[tp]]
        letters.sort(key=lambda x: (x.record.timestamp, x.record.partition, x.record.offset))
        return reader, letters, ends, positions
    except BaseException:
        await reader.stop()
        raise


async def list_dead_letters(bootstrap: str, service: str, *, group_prefix: str = "", limit: int = 100
                            ) -> DeadLetterPage:
    """The service's dead letters (metadata and error, not payloads), each marked replayed or not."""
    reader, letters, _ends, positions = await _scan(bootstrap, service, group_prefix, from_committed=False)
    await reader.stop()
    items = []
    for letter in letters:
        m, h = letter.record, letter.headers
        items.append(DeadLetterRead(
            partition=m.partition, offset=m.offset,
            timestamp=datetime.fromtimestamp(m.timestamp / 1000, UTC) if m.timestamp else None,
            original_topic=h.get("dlq.original_topic"), original_partition=_int(h.get("dlq.original_partition")),
            original_offset=_int(h.get("dlq.original_offset")), consumer=h.get("dlq.consumer"),
            error=mask_personal_data(h["dlq.error"]) if "dlq.error" in h else None,
            event_id=str(letter.event["event_id"]) if letter.event else None,
            event_type=str(letter.event["type"]) if letter.event else None,
            replayed=m.offset < positions.get(TopicPartition(m.topic, m.partition), 0),
        ))
    pending = sum(not i.replayed for i in items)
    return DeadLetterPage(service=service, topic=dead_letter_topic(service), total=len(items), pending=pending,
                          items=items[-limit:] if limit else [])


async def replay_dead_letters(bootstrap: str, service: str, *, group_prefix: str = "") -> ReplayResult:
    """Re-publish every dead letter not replayed yet to its original topic, then move the replay position."""
    reader, letters, ends, _positions = await _scan(bootstrap, service, group_prefix, from_committed=True)
    result = ReplayResult(service=service, replayed=0, skipped_malformed=0, by_topic={})
    try:
        if not letters:
            if ends:
                await reader.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
            return result
        producer = make_producer(bootstrap, client_id=f"{service}-deadletter-replay")
        await producer.start()
        try:
            for letter in letters:
                m, h = letter.record, letter.headers
                topic = h.get("dlq.original_topic")
                if letter.event is None or not topic:
                    result.skipped_malformed += 1
                    continue
                headers = [(k, v) for k, v in (m.headers or ()) if not k.startswith("dlq.")]
                headers.append(("dlq.replayed_from", f"{m.topic}:{m.partition}:{m.offset}".encode()))
                await producer.send_and_wait(topic, value=m.value, key=m.key, headers=headers)
                result.replayed += 1
                result.by_topic[topic] = result.by_topic.get(topic, 0) + 1
        finally:
            await producer.stop()
        # only after every re-publish was acknowledged: a crash before this replays again (harmless: inbox)
        await reader.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
        DLQ_REPLAYED.labels(service).inc(result.replayed)
        return result
    finally:
        await reader.stop()


# --- the admin endpoints (mounted on every service by create_service_app) -------------------------------

router = APIRouter(prefix="/v1/admin/dead-letters", tags=["admin"])
CanReplayDeadLetters = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
_DOC: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid bearer token"}, 403: {"description": "Not an admin"},
    503: {"description": "Kafka is unreachable; retry later"},
}


@router.get("", response_model=DeadLetterPage, responses=_DOC, summary="This service's dead letters (admin)")
async def get_dead_letters(request: Request, _p: CanReplayDeadLetters,
                           limit: Annotated[int, Query(ge=0, le=1000)] = 100) -> DeadLetterPage:
    settings = request.app.state.settings
    return await list_dead_letters(settings.kafka.bootstrap_servers, settings.service_name,
                                   group_prefix=settings.kafka.group_prefix, limit=limit)


@router.post("/replay", response_model=ReplayResult, responses=_DOC,
             summary="Re-publish the dead letters not replayed yet to their original topics (admin; idempotent)")
async def post_replay(request: Request, _p: CanReplayDeadLetters) -> ReplayResult:
    settings = request.app.state.settings
    return await replay_dead_letters(settings.kafka.bootstrap_servers, settings.service_name,
                                     group_prefix=settings.kafka.group_prefix)
