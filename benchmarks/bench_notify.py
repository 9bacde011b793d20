"""make bench-notify: 1,000 events/s into the notifications service; p99 event -> accepted by the SMTP
server; no duplicates under redelivery, counted at the SMTP server.

The service runs as deployed (its own uvicorn process: consumer, sender, SMTP pool) against the native
Postgres + Kafka; a real aiosmtpd server in this process counts what it accepts. Phase 1 publishes
``parts.request.shipped`` events (R-P1 dealer e-mails) paced at RATE/s for SECONDS; latency = SMTP accept time
- the event's occurred_at. Phase 2 publishes every event again (same ids: a Kafka redelivery) plus duplicates
with new ids for a tenth of them (same request: the dedup key), then counts messages per request at the SMTP
server: exactly one each.
"""

from __future__ import annotations

import asyncio
import email
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from email.policy import default as default_policy
from pathlib import Path

import asyncpg
from aiosmtpd.controller import Controller

from aftersales_shared.dev import devstack
from aftersales_shared.events import parts as prt
from aftersales_shared.kafka import make_producer
from aftersales_shared.testing.processes import ServiceProcess

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "bench" / "notify.md"
RATE = int(os.environ.get("BENCH_NOTIFICATIONS_RATE", "1000"))
SECONDS = int(os.environ.get("BENCH_NOTIFICATIONS_SECONDS", "15"))
DEALERS = 500


class Box:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: list[tuple[str, float, str]] = []  # (request id, accepted at, delivery id)

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802 - aiosmtpd's hook
        at = time.time()
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        request_id = str(msg["Subject"]).rsplit("：", 1)[-1].strip()
        with self.lock:
            self.accepted.append((request_id, at, str(msg["X-Delivery-Id"])))
        return "250 OK"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


async def smtp_baseline(port: int, n: int = 1000, connections: int = 16) -> float:
    """Raw aiosmtplib -> the same aiosmtpd server, no database or Kafka: the SMTP path's own ceiling here."""
    from email.message import EmailMessage

    import aiosmtplib

    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(connections)]
    for c in clients:
        await c.connect()

    async def worker(c: aiosmtplib.SMTP, k: int) -> None:
        for i in range(k):
            m = EmailMessage()
            m["From"], m["To"], m["Subject"] = "bench@aftersales.local", "base@bench.test", f"配件已发货：base-{i}"
            m.set_content("x")
            await c.send_message(m)

    t = time.perf_counter()
    await asyncio.gather(*(worker(c, n // connections) for c in clients))
    rate = n / (time.perf_counter() - t)
    for c in clients:
        await c.quit()
    return rate


def event(run: str, n: int, dealer: str, *, request_id: str | None = None) -> prt.RequestShipped:
    rid = request_id or f"{run}-{n}"
    return prt.RequestShipped(aggregate_id=rid, payload={
        "request_id": rid, "dealer_id": dealer, "at": datetime.now(UTC), "status": "shipped",
        "shipment_id": f"s-{rid}", "carrier": "SF", "tracking_no": f"SF{n:08d}"})


async def main(info: devstack.StackInfo) -> int:
    run = uuid.uuid4().hex[:6]
    box = Box()
    smtp_port = devstack.free_port()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    admin = await asyncpg.connect(info.admin_dsn())
    baseline = await smtp_baseline(smtp_port)
    env = {**os.environ, "APP_ENV": "test", "DB_HOST": "127.0.0.1", "DB_PORT": str(info.pg_port),
           "DB_NAME": devstack.DB_NAME, "DB_USER": "notifications",
           "DB_PASSWORD": info.service_password("notifications"), "DB_POOL_SIZE": "20",
           "KAFKA_BOOTSTRAP_SERVERS": info.bootstrap, "KAFKA_GROUP_PREFIX": f"bench-{run}.",
           "KAFKA_NEW_GROUP_OFFSET": "latest", "NOTIFICATIONS_LOG_LEVEL": "WARNING",
           "NOTIFICATIONS_SMTP": f'{{"host": "127.0.0.1", "port": {smtp_port}, "pool_size": 16}}',
           "NOTIFICATIONS_SENDER_BATCH": "500", "NOTIFICATIONS_SENDER_IDLE_POLL_MS": "50",
           "AUTH_PUBLIC_KEY_FILE": str(devstack.state_dir() / "jwt" / "dev-public.pem")}
    producer = make_producer(info.bootstrap, client_id=f"bench-notify-{run}")
    await producer.start()
    svc = ServiceProcess("notifications.main:create_app", env)
    try:
        async with svc:
            for d in range(DEALERS):
                await admin.execute(
                    "INSERT INTO notifications.contacts (recipient_key, email, updated_at) VALUES ($1, $2, now()) "
                    "ON CONFLICT (recipient_key) DO UPDATE SET email = EXCLUDED.email",
                    f"dealer:B{d}", f"b{d}@bench.test")
            # warm up until the consumer group is positioned ("latest") and a message comes through
            n = 0
            while not any(r.startswith(f"{run}-w") for r, _a, _d in box.accepted):
                await producer.send_and_wait(prt.REQUEST_TOPIC, event(run, n, "B0", request_id=f"{run}-w{n}")
                                             .to_json().encode(), key=f"w{n}".encode())
                n += 1
                await asyncio.sleep(0.5)
            events: list[prt.RequestShipped] = []
            t0 = time.perf_counter()
            total = RATE * SECONDS
            tick = 0.01
            per_tick = max(1, int(RATE * tick))
            sent = 0
            while sent < total:
                batch = [event(run, sent + i, f"B{(sent + i) % DEALERS}") for i in range(min(per_tick, total - sent))]
                for e in batch:
                    await producer.send(prt.REQUEST_TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())
                events.extend(batch)
                sent += len(batch)
                ahead = t0 + sent / RATE - time.perf_counter()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            await producer.flush()
            publish_s = time.perf_counter() - t0
            occurred = {e.payload.request_id: e.payload.at.timestamp() for e in events}
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                with box.lock:
                    got = {r for r, _a, _d in box.accepted if r in occurred}
                if len(got) >= total:
                    break
                await asyncio.sleep(0.5)
            drained_s = time.perf_counter() - t0
            with box.lock:
                first = [(r, a) for r, a, _d in box.accepted if r in occurred]
            latencies = [a - occurred[r] for r, a in first]

            # phase 2: redeliver everything (same event ids) + new-id duplicates of a tenth of the requests
            dups = [event(run, i, f"B{i % DEALERS}") for i in range(0, total, 10)]
            for e in [*events, *dups]:
                await producer.send(prt.REQUEST_TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())
            await producer.flush()
            sentinel = f"{run}-sentinel"
            await producer.send_and_wait(prt.REQUEST_TOPIC, event(run, 0, "B1", request_id=sentinel).to_json()
                                         .encode(), key=b"s")
            while time.monotonic() < deadline and not any(r == sentinel for r, _a, _d in box.accepted):
                await asyncio.sleep(0.5)
            await asyncio.sleep(2)  # a duplicate would have been sent with the sentinel's batches
            with box.lock:
                per_request: dict[str, int] = {}
                for r, _a, _d in box.accepted:
                    if r in occurred:
                        per_request[r] = per_request.get(r, 0) + 1
            duplicates = sum(c - 1 for c in per_request.values())
            missing = total - len(per_request)
    finally:
        await producer.stop()
        controller.stop()
        await admin.close()
    p50, p99 = pct(latencies, 50), pct(latencies, 99)
    ok = p99 <= 2.0 and duplicates == 0 and missing == 0
    text = f"""## Notifications (`make bench-notify`)
Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. `parts.request.shipped` events published to Kafka at {RATE}/s for
{SECONDS} s ({total} events, {DEALERS} dealers with an e-mail contact); the notifications service runs in its own
uvicorn process (consumer -> messages + deliveries, sender -> SMTP pool of 16) on the native stack; a real
aiosmtpd server counts what it accepts. Latency = SMTP accept time - the event's `occurred_at`.

| measure | value |
|---|---|
| publish rate achieved | {total / publish_s:.0f} events/s |
| all {total} accepted by the SMTP server after | {drained_s:.1f} s |
| latency p50 / p99 (event -> accepted by SMTP) | {p50:.3f} s / {p99:.3f} s (target p99 <= 2 s) |
| baseline, same run: raw aiosmtplib -> this aiosmtpd, 16 connections, no DB/Kafka | {baseline:.0f} mails/s |
| load average at the end (2 cores shared with other work) | {os.getloadavg()[0]:.1f} |
| redelivery: every event again + {len(dups)} new-id duplicates | {duplicates} duplicate e-mails, {missing} missing |

{"Meets the targets." if ok else "Does NOT meet the targets on this run (see the numbers)."}
"""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    with devstack.running_stack() as stack:  # outside the event loop; stops only what it started
        code = asyncio.run(main(stack))
    sys.exit(code)
