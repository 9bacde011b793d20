"""Idempotent Kafka consumer: inbox in the same transaction, offsets after commit, DLQ after retries."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .db import unit_of_work
from .events.envelope import IntegrationEvent, registry
from .kafka import ensure_topics, make_producer
from .logging import correlation_id
from .metrics import CONSUMED, CONSUMER_LAG, DLQ_MESSAGES, HANDLER_LATENCY
from .tracing import consume_span

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, IntegrationEvent], Awaitable[None]]

_INBOX = sa.text(
    "INSERT INTO inbox (consumer, event_id, event_type) VALUES (:consumer, :event_id, :event_type) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)

_INBOX_MANY = sa.text(
    "INSERT INTO inbox (consumer, event_id, event_type) "
    "SELECT :consumer, id, type FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[])) AS t(id, type) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


def _headers(msg: ConsumerRecord) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (msg.headers or ())}


def dead_letter_topic(service: str) -> str:
    """Where a service's consumers park messages they cannot handle."""
    return f"{service}.deadletter.v1"


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: EventConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.owner._commit_pending(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("consumer %s assigned %d partitions", self.owner.group_id, len(assigned))


class EventConsumer:
    """Consumes ``topics`` and applies each event with its handler in one unit of work."""

    def __init__(
        self, *, service: str, name: str, topics: list[str], handlers: dict[str, Handler],
        sessions: async_sessionmaker[AsyncSession], bootstrap: str, group_prefix: str = "",
        max_retries: int = 3, retry_backoff_ms: int = 200, partitions: int = 4, max_records: int = 500,
        batch_size: int = 100,
        offset_reset: str = "earliest", tracer: Any = None,
    ) -> None:
        self.service, self.name, self.topics, self.handlers = service, name, topics, handlers
        self.sessions, self.bootstrap = sessions, bootstrap
        self.group_id = f"{group_prefix}{service}.{name}"
        self.max_retries, self.retry_backoff = max_retries, retry_backoff_ms / 1000
        self.partitions, self.max_records, self.batch_size = partitions, max_records, batch_size
        self.offset_reset, self.tracer = offset_reset, tracer
        self.dlq_topic = dead_letter_topic(service)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._pending: dict[TopicPartition, int] = {}
        self._producer: Any = None
        self.ready = asyncio.Event()

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name=f"consumer-{self.group_id}")
        return self._task

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout=20)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()

    async def run(self) -> None:
        """Consume until stopped; reconnect with backoff when Kafka is away."""
        backoff = 0.2
        while not self._stop.is_set():
            try:
                await ensure_topics(self.bootstrap, [*self.topics, self.dlq_topic], self.partitions)
                self._producer = make_producer(self.bootstrap, client_id=f"{self.group_id}-dlq")
                await self._producer.start()
                self._consumer = AIOKafkaConsumer(
                    bootstrap_servers=self.bootstrap, group_id=self.group_id, client_id=self.group_id,
                    enable_auto_commit=False, auto_offset_reset=self.offset_reset, max_poll_records=self.max_records,
                    session_timeout_ms=10000, heartbeat_interval_ms=1000, metadata_max_age_ms=5000,
                )
                self._consumer.subscribe(self.topics, listener=_Rebalance(self))
                await self._consumer.start()
                backoff = 0.2
                await self._loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep consuming whatever broke
                log.warning("consumer %s restarting after %r (in %.1fs)", self.group_id, exc, backoff)
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, 5.0)
            finally:
                await self._shutdown()

    async def _shutdown(self) -> None:
        if self._consumer is not None:
            try:
                await self._commit_pending(None)
            except Exception:  # noqa: BLE001
                log.debug("final commit failed", exc_info=True)
            try:
                await self._consumer.stop()
            except Exception:  # noqa: BLE001
                log.debug("consumer stop failed", exc_info=True)
            self._consumer = None
        if self._producer is not None:
            try:
                await self._producer.stop()
            except Exception:  # noqa: BLE001
                log.debug("dlq producer stop failed", exc_info=True)
            self._producer = None

    async def _loop(self) -> None:
        assert self._consumer is not None
        last_commit = last_lag = time.monotonic()
        while not self._stop.is_set():
            batch = await self._consumer.getmany(timeout_ms=200, max_records=self.max_records)
            if self._consumer.assignment():
                self.ready.set()
            if batch:
                await self._handle(batch)
            now = time.monotonic()
            # Offsets are committed only after the database commit; committing at most every 200 ms
            # keeps small batches cheap — a crash in between redelivers events the inbox already has.
            if self._pending and (now - last_commit > 0.2 or not batch):
                await self._commit_pending(None)
                last_commit = now
            if now - last_lag > 1.0:
                await self._record_lag()
                last_lag = now

    async def _handle(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Apply a poll: partitions concurrently (their database waits overlap), each strictly in order."""
        await asyncio.gather(*(self._handle_partition(tp, msgs) for tp, msgs in batch.items()))

    async def _handle_partition(self, tp: TopicPartition, msgs: list[ConsumerRecord]) -> None:
        for start in range(0, len(msgs), self.batch_size):
            chunk = msgs[start:start + self.batch_size]
            if len(chunk) == 1 or not await self._process_batch(chunk):
                for msg in chunk:  # one by one: retries and dead letters per message
                    await self._process(msg)
            self._pending[tp] = chunk[-1].offset + 1

    async def _process_batch(self, msgs: list[ConsumerRecord]) -> bool:
        """Apply consecutive messages of one partition in ONE unit of work (one commit, in order).

        Returns False, having changed nothing, when any message is malformed or any handler fails; the
        caller then processes them one by one so only the bad message is retried and dead-lettered.
        """
        started = time.perf_counter()
        try:
            events = [registry.parse(m.value) for m in msgs]
        except Exception:  # noqa: BLE001 - includes unknown types: let the per-message path decide
            return False
        outcomes = {"applied": 0, "duplicate": 0, "ignored": 0}
        pairs = [(m, e) for m, e in zip(msgs, events, strict=True) if e.type in self.handlers]
        handled = [e for _m, e in pairs]
        outcomes["ignored"] = len(events) - len(handled)
        try:
            async with unit_of_work(self.sessions) as session:
                # one round trip claims the whole batch in the inbox; redeliveries come back unclaimed
                claimed = {row[0] for row in await session.execute(_INBOX_MANY, {
                    "consumer": self.name, "ids": [e.event_id for e in handled], "types": [e.type for e in handled],
                })} if handled else set()
                for msg, event in pairs:
                    if event.event_id not in claimed:
                        outcomes["duplicate"] += 1
                        continue
                    claimed.discard(event.event_id)  # the same id twice in one batch applies once
                    correlation_id.set(event.correlation_id)
                    with consume_span(self.tracer, msg.topic, event.type, _headers(msg)):
                        await self.handlers[event.type](session, event)
                    outcomes["applied"] += 1
        except Exception as exc:  # noqa: BLE001 - rolled back; fall back to per-message handling
            log.info("consumer %s: batch of %d fell back to single messages: %r", self.group_id, len(msgs), exc)
            return False
        elapsed = time.perf_counter() - started
        for outcome, n in outcomes.items():
            if n:
                CONSUMED.labels(self.service, self.name, outcome).inc(n)
        if outcomes["applied"]:
            HANDLER_LATENCY.labels(self.service, self.name).observe(elapsed / outcomes["applied"])
        return True

    async def _commit_pending(self, only: set[TopicPartition] | None) -> None:
        if self._consumer is None or not self._pending:
            return
        offsets = {tp: OffsetAndMetadata(off, "") for tp, off in self._pending.items() if only is None or tp in only}
        if offsets:
            await self._consumer.commit(offsets)
            for tp in offsets:
                self._pending.pop(tp, None)

    async def _record_lag(self) -> None:
        assert self._consumer is not None
        per_topic: dict[str, int] = {}
        for tp in self._consumer.assignment():
            hw = self._consumer.highwater(tp)
            if hw is None:
                continue
            position = await self._consumer.position(tp)
            per_topic[tp.topic] = per_topic.get(tp.topic, 0) + max(0, hw - position)
        for topic, lag in per_topic.items():
            CONSUMER_LAG.labels(self.service, self.name, topic).set(lag)

    async def _process(self, msg: ConsumerRecord) -> None:
        headers = _headers(msg)
        correlation_id.set(headers.get("correlation_id"))
        last_error: BaseException | None = None
        for attempt in range(1, self.max_retries + 1):
            started = time.perf_counter()
            try:
                event = registry.parse(msg.value)
            except LookupError:
                CONSUMED.labels(self.service, self.name, "ignored").inc()
                return  # a type this consumer does not know: not ours to fail on
            except Exception as exc:  # noqa: BLE001 - malformed: retrying will not help
                last_error = exc
                break
            handler = self.handlers.get(event.type)
            if handler is None:
                CONSUMED.labels(self.service, self.name, "ignored").inc()
                return
            try:
                async with unit_of_work(self.sessions) as session:
                    fresh = (await session.execute(
                        _INBOX, {"consumer": self.name, "event_id": event.event_id, "event_type": event.type}
                    )).first()
                    if fresh is None:
                        CONSUMED.labels(self.service, self.name, "duplicate").inc()
                        return
                    with consume_span(self.tracer, msg.topic, event.type, headers):
                        await handler(session, event)
                HANDLER_LATENCY.labels(self.service, self.name).observe(time.perf_counter() - started)
                CONSUMED.labels(self.service, self.name, "applied").inc()
                return
            except Exception as exc:  # noqa: BLE001 - retried, then dead-lettered
                last_error = exc
                CONSUMED.labels(self.service, self.name, "retry").inc()
                log.warning("consumer %s: attempt %d/%d failed for %s@%d: %r", self.group_id, attempt,
                            self.max_retries, msg.topic, msg.offset, exc)
                if attempt < self.max_retries:
                    await asyncio.sleep(self.retry_backoff * 2 ** (attempt - 1))
        await self._dead_letter(msg, last_error)

    async def _dead_letter(self, msg: ConsumerRecord, error: BaseException | None) -> None:
        detail = "".join(traceback.format_exception_only(type(error), error)).strip() if error else "unknown"
        headers = [
            ("dlq.error", detail[:2000].encode()),
            ("dlq.consumer", self.group_id.encode()),
            ("dlq.original_topic", msg.topic.encode()),
            ("dlq.original_partition", str(msg.partition).encode()),
            ("dlq.original_offset", str(msg.offset).encode()),
            *[(k, v) for k, v in (msg.headers or ()) if not k.startswith("dlq.")],
        ]
        await self._producer.send_and_wait(self.dlq_topic, value=msg.value, key=msg.key, headers=headers)
        DLQ_MESSAGES.labels(self.service, self.name).inc()
        CONSUMED.labels(self.service, self.name, "dead_lettered").inc()
        log.error("consumer %s: %s@%d dead-lettered: %s", self.group_id, msg.topic, msg.offset, detail)
