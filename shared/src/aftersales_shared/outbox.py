"""Transactional outbox: the writer (same transaction as the change) and the relay to Kafka."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from .events.envelope import IntegrationEvent
from .kafka import ensure_topics, make_producer
from .logging import correlation_id
from .metrics import OUTBOX_FAILED, OUTBOX_OLDEST_AGE, OUTBOX_PENDING, OUTBOX_PUBLISHED, RELAY_ACTIVE

log = logging.getLogger(__name__)

# NOTIFY serialises the commits of every notifying transaction, so writers notify only when the
# relay sleeps: a sleeping relay holds an exclusive advisory lock that a writer's shared try-lock
# cannot get. A busy relay polls on its own and writers skip the NOTIFY (and its commit lock).
# One statement per event: the insert and the conditional wake-up share a round trip.
WAKE_RELAY_SQL = ("CASE WHEN pg_try_advisory_xact_lock_shared(hashtext('outbox_sleep:' || current_schema())) "
                  "THEN NULL ELSE pg_notify('outbox_' || current_schema(), '') END")
"""An SQL expression that wakes a sleeping relay (for writers that insert outbox rows in their own statement)."""
_INSERT = sa.text(
    "INSERT INTO outbox (event_id, topic, key, event_type, payload, headers) "
    "SELECT :event_id, :topic, :key, :event_type, CAST(:payload AS jsonb), CAST(:headers AS jsonb) "
    f"FROM (SELECT {WAKE_RELAY_SQL}) AS wake"
)


def row_for(event: IntegrationEvent, key: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The outbox row of an event (for services that insert it inside their own statement)."""
    if event.correlation_id is None and correlation_id.get():
        event = event.model_copy(update={"correlation_id": correlation_id.get()})
    hdrs = {"event_type": event.type}
    if event.correlation_id:
        hdrs["correlation_id"] = event.correlation_id
    from .tracing import current_traceparent  # local import: tracing is optional

    tp = current_traceparent()
    if tp:
        hdrs["traceparent"] = tp
    hdrs.update(headers or {})
    if not event.TOPIC:
        raise ValueError(f"{type(event).__name__} has no TOPIC")
    return {
        "event_id": event.event_id,
        "topic": event.TOPIC,
        "key": key or event.aggregate_id,
        "event_type": event.type,
        "payload": event.to_json(),
        "headers": json.dumps(hdrs),
    }


async def add_events(
    session: AsyncSession, *events: IntegrationEvent, key: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Queue events in the caller's transaction; they are published only if it commits."""
    if not events:
        return
    await session.execute(_INSERT, [row_for(e, key, headers) for e in events])



class OutboxRelay:
    """Publishes outbox rows in id order; one active relay per schema (advisory lock)."""

    def __init__(
        self, *, service: str, schema: str, dsn: str, bootstrap: str, batch_size: int = 500,
        poll_interval: float = 0.5, retention_hours: int = 72, partitions: int = 4,
        topics: set[str] | None = None,
    ) -> None:
        self.service, self.schema, self.dsn, self.bootstrap = service, schema, dsn, bootstrap
        self.batch_size, self.poll_interval = batch_size, poll_interval
        self.retention_hours, self.partitions = retention_hours, partitions
        self.topics = topics or set()
        self.channel = f"outbox_{schema}"
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.is_leader = False
        self._lock_key = f"outbox_relay:{schema}"
        self._sleep_key = f"outbox_sleep:{schema}"
        self.busy_pause = 0.005

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay-{self.service}")
        return self._task

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout=15)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()

    async def run(self) -> None:
        """Run until stopped, surviving Postgres and Kafka outages with exponential backoff."""
        backoff = 0.1
        while not self._stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self.dsn, server_settings={"search_path": self.schema, "application_name": f"{self.service}-relay"}
                )
                if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", self._lock_key):
                    await conn.close()
                    conn = None
                    await self._sleep(max(self.poll_interval, 1.0))  # standby: another relay is active
                    continue
                self.is_leader = True
                RELAY_ACTIVE.labels(self.service).set(1)
                await conn.add_listener(self.channel, lambda *_: self._wake.set())
                await self._lead(conn)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep relaying whatever broke
                OUTBOX_FAILED.labels(self.service).inc()
                log.warning("outbox relay for %s paused: %s; retry in %.1fs", self.schema, exc, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self.is_leader = False
                RELAY_ACTIVE.labels(self.service).set(0)
                if conn is not None and not conn.is_closed():
                    await conn.close(timeout=5)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def _lead(self, conn: asyncpg.Connection) -> None:
        producer = None
        last_housekeeping = 0.0
        kafka_backoff = 0.1
        try:
            while not self._stop.is_set():
                if time.monotonic() - last_housekeeping > 30:
                    await self._housekeeping(conn)
                    last_housekeeping = time.monotonic()
                self._wake.clear()
                try:
                    if producer is None:
                        if self.topics:
                            await ensure_topics(self.bootstrap, self.topics, self.partitions)
                        producer = make_producer(self.bootstrap, client_id=f"{self.service}-relay")
                        await producer.start()
                    sent = await self._publish_batch(conn, producer)
                    kafka_backoff = 0.1
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                    raise  # the database side broke: reconnect from run()
                except Exception as exc:  # noqa: BLE001 - Kafka unavailable: keep rows, rebuild producer
                    OUTBOX_FAILED.labels(self.service).inc()
                    log.warning("relay %s: publish failed (%r); retry in %.1fs", self.schema, exc, kafka_backoff)
                    if producer is not None:
                        await _quietly_stop(producer)
                        producer = None
                    await self._sleep(kafka_backoff)
                    kafka_backoff = min(kafka_backoff * 2, 5.0)
                    continue
                if sent >= self.batch_size:
                    continue
                if sent:
                    await self._sleep(self.busy_pause)  # rows are flowing: gather a batch, stay awake
                    continue
                await self._doze(conn)
        finally:
            if producer is not None:
                await _quietly_stop(producer)

    async def _doze(self, conn: asyncpg.Connection) -> None:
        """Sleep until NOTIFY (or the poll interval); writers notify only while we hold the sleep lock."""
        if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", self._sleep_key):
            await self._sleep(self.busy_pause)  # a writer is mid-transaction: it will not notify, poll soon
            return
        try:
            pending = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL)")
            if not pending:  # rows committed before we took the lock were seen by this check
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
                except TimeoutError:
                    pass
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", self._sleep_key)

    async def _publish_batch(self, conn: asyncpg.Connection, producer: Any) -> int:
        async with conn.transaction():
            rows = await conn.fetch(
                "SELECT id, topic, key, payload::text AS payload, headers::text AS headers FROM outbox "
                "WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch_size,
            )
            if not rows:
                return 0
            futures: list[asyncio.Future] = []
            try:
                for r in rows:
                    hdrs = [(k, str(v).encode()) for k, v in json.loads(r["headers"]).items()]
                    futures.append(await producer.send(r["topic"], value=r["payload"].encode(),
                                                       key=r["key"].encode(), headers=hdrs))
                await asyncio.wait_for(asyncio.gather(*futures), timeout=30)
            except BaseException:
                for f in futures:
                    if not f.done():
                        f.cancel()
                raise
            await conn.execute(
                "UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows],
            )
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def _housekeeping(self, conn: asyncpg.Connection) -> None:
        pending, oldest = await conn.fetchrow(
            "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) "
            "FROM outbox WHERE published_at IS NULL"
        )
        OUTBOX_PENDING.labels(self.service).set(pending)
        OUTBOX_OLDEST_AGE.labels(self.service).set(float(oldest))
        await conn.execute(
            "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - make_interval(hours => $1)",
            self.retention_hours,
        )


async def _quietly_stop(producer: Any) -> None:
    try:
        await asyncio.wait_for(producer.stop(), timeout=10)
    except Exception:  # noqa: BLE001 - a broken producer is discarded anyway
        log.debug("producer stop failed", exc_info=True)
