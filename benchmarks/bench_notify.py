"""make bench-notify: 1,000 events/s into the notifications service; p99 event -> accepted by the SMTP
server; no duplicates under redelivery, counted at the SMTP server.

The service runs as deployed (its own uvicorn process: consumer, sender loops, SMTP pool) against the native
Postgres + Kafka; real aiosmtpd servers in their own processes (benchmarks.smtp_sink: uvloop, SO_REUSEPORT)
count what they accept. Phase 1 publishes
``parts.request.shipped`` events (R-P1 dealer e-mails) paced at RATE/s for SECONDS; latency = SMTP accept time
- the event's occurred_at. Phase 2 publishes every event again (same ids: a Kafka redelivery) plus duplicates
with new ids for a tenth of them (same request: the dedup key), then counts messages per request at the SMTP
server: exactly one each.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from aftersales_shared.dev import devstack
from aftersales_shared.events import parts as prt
from aftersales_shared.kafka import make_producer
from aftersales_shared.testing.processes import ServiceProcess

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "bench" / "notify.md"
RATE = int(os.environ.get("BENCH_NOTIFICATIONS_RATE", "1000"))
SECONDS = int(os.environ.get("BENCH_NOTIFICATIONS_SECONDS", "15"))
DEALERS = 500
SINKS = int(os.environ.get("BENCH_NOTIFICATIONS_SINKS", "2"))
SMTP_POOL = int(os.environ.get("BENCH_NOTIFICATIONS_SMTP_POOL", "64"))


class Sinks:
    """SMTP sink processes (benchmarks.smtp_sink, uvloop) sharing one port through SO_REUSEPORT; each appends a
    line per accepted mail to its own file, read back here."""

    def __init__(self, port: int, n: int, folder: Path) -> None:
        self.port, self.files = port, [folder / f"sink-{i}.tsv" for i in range(n)]
        self.accepted: list[tuple[str, float, str]] = []  # (request id, accepted at, delivery id)
        self._offsets = [0] * n
        self.procs: list[subprocess.Popen[bytes]] = []

    async def start(self) -> None:
        for f in self.files:
            f.unlink(missing_ok=True)
            self.procs.append(subprocess.Popen([sys.executable, "-m", "benchmarks.smtp_sink", "--port",
                                                 str(self.port), "--out", str(f)]))
        for _ in range(100):
            try:
                _r, w = await asyncio.open_connection("127.0.0.1", self.port)
                w.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise RuntimeError("SMTP sink did not start")

    def read(self) -> list[tuple[str, float, str]]:
        for i, f in enumerate(self.files):
            if not f.exists():
                continue
            with f.open("rb") as fh:
                fh.seek(self._offsets[i])
                data = fh.read()
            end = data.rfind(b"\n") + 1
            self._offsets[i] += end
            for line in data[:end].decode().splitlines():
                rid, at, did = line.split("\t")
                self.accepted.append((rid, float(at), did))
        return self.accepted

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(10)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


class Stages:
    """Once a second: how many messages the consumer has queued and how many the sender has handed over."""

    def __init__(self, admin: asyncpg.Connection) -> None:
        self.admin, self.base = admin, 0
        self.samples: list[tuple[float, int, int]] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.base = await self.admin.fetchval("SELECT coalesce(max(id), 0) FROM notifications.messages")
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        t0 = time.perf_counter()
        while True:
            row = await self.admin.fetchrow(
                "SELECT count(*) AS queued, count(*) FILTER (WHERE d.status = 'sent') AS sent "
                "FROM notifications.messages m JOIN notifications.deliveries d ON d.message_id = m.id WHERE m.id > $1",
                self.base)
            self.samples.append((time.perf_counter() - t0, row["queued"], row["sent"]))
            await asyncio.sleep(1)

    def stop(self) -> None:
        if self.task:
            self.task.cancel()

    def at(self, seconds: float) -> tuple[int, int]:
        best = min(self.samples, key=lambda s: abs(s[0] - seconds), default=(0, 0, 0))
        return best[1], best[2]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


async def smtp_baseline(port: int, n: int = 3000, connections: int = 16) -> float:
    """Raw aiosmtplib -> the same sink, no database or Kafka, the message bytes built once: the SMTP path's own
    ceiling on this machine (client and sink sharing the cores with everything else)."""
    import aiosmtplib

    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(connections)]
    for c in clients:
        await c.connect()
    raw = (b"From: bench@aftersales.local\r\nTo: base@bench.test\r\nSubject: =?utf-8?b?6YWN5Lu25bey5Y+R6LSn77ya?="
           b"base\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"5q2j5paH\r\n")

    async def worker(c: aiosmtplib.SMTP, k: int) -> None:
        for _ in range(k):
            await c.sendmail("bench@aftersales.local", ["base@bench.test"], raw)

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
    smtp_port = devstack.free_port()
    box = Sinks(smtp_port, SINKS, devstack.state_dir())
    try:
        await box.start()
        admin = await asyncpg.connect(info.admin_dsn())
        baseline = await smtp_baseline(smtp_port, connections=SMTP_POOL)
    except BaseException:
        box.stop()
        raise
    env = {**os.environ, "APP_ENV": "test", "DB_HOST": "127.0.0.1", "DB_PORT": str(info.pg_port),
           "DB_NAME": devstack.DB_NAME, "DB_USER": "notifications",
           "DB_PASSWORD": info.service_password("notifications"), "DB_POOL_SIZE": "20",
           "KAFKA_BOOTSTRAP_SERVERS": info.bootstrap, "KAFKA_GROUP_PREFIX": f"bench-{run}.",
           "KAFKA_NEW_GROUP_OFFSET": "latest", "NOTIFICATIONS_LOG_LEVEL": "WARNING",
           "NOTIFICATIONS_SMTP": f'{{"host": "127.0.0.1", "port": {smtp_port}, "pool_size": {SMTP_POOL}}}',
           "NOTIFICATIONS_SENDER_BATCH": os.environ.get("BENCH_NOTIFICATIONS_BATCH", "100"),
           "NOTIFICATIONS_SENDER_LOOPS": os.environ.get("BENCH_NOTIFICATIONS_LOOPS", "4"),
           "NOTIFICATIONS_SENDER_IDLE_POLL_MS": "50",
           "AUTH_PUBLIC_KEY_FILE": str(devstack.state_dir() / "jwt" / "dev-public.pem")}
    producer = make_producer(info.bootstrap, client_id=f"bench-notify-{run}")
    try:
        await producer.start()
    except BaseException:
        box.stop()
        await admin.close()
        raise
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
            while not any(r.startswith(f"{run}-w") for r, _a, _d in box.read()):
                await producer.send_and_wait(prt.REQUEST_TOPIC, event(run, n, "B0", request_id=f"{run}-w{n}")
                                             .to_json().encode(), key=f"w{n}".encode())
                n += 1
                await asyncio.sleep(0.5)
            events: list[prt.RequestShipped] = []
            stages = Stages(admin)
            await stages.start()
            procs = [svc.proc.pid]
            cpu0 = cpu_seconds(procs), cpu_seconds([p.pid for p in box.procs]), time.perf_counter()
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
                got = {r for r, _a, _d in box.read() if r in occurred}
                if len(got) >= total:
                    break
                await asyncio.sleep(0.5)
            drained_s = time.perf_counter() - t0
            stages.stop()
            wall = time.perf_counter() - cpu0[2]
            svc_cores = (cpu_seconds(procs) - cpu0[0]) / wall
            sink_cores = (cpu_seconds([p.pid for p in box.procs]) - cpu0[1]) / wall
            queued_at_end, sent_at_end = stages.at(publish_s)
            first = [(r, a) for r, a, _d in box.read() if r in occurred]
            latencies = [a - occurred[r] for r, a in first]

            # phase 2: redeliver everything (same event ids) + new-id duplicates of a tenth of the requests
            dups = [event(run, i, f"B{i % DEALERS}") for i in range(0, total, 10)]
            for e in [*events, *dups]:
                await producer.send(prt.REQUEST_TOPIC, e.to_json().encode(), key=e.aggregate_id.encode())
            await producer.flush()
            sentinel = f"{run}-sentinel"
            await producer.send_and_wait(prt.REQUEST_TOPIC, event(run, 0, "B1", request_id=sentinel).to_json()
                                         .encode(), key=b"s")
            while time.monotonic() < deadline and not any(r == sentinel for r, _a, _d in box.read()):
                await asyncio.sleep(0.5)
            await asyncio.sleep(2)  # a duplicate would have been sent with the sentinel's batches
            per_request: dict[str, int] = {}
            for r, _a, _d in box.read():
                if r in occurred:
                    per_request[r] = per_request.get(r, 0) + 1
            duplicates = sum(c - 1 for c in per_request.values())
            missing = total - len(per_request)
    finally:
        await producer.stop()
        box.stop()
        await admin.close()
    p50, p99 = pct(latencies, 50), pct(latencies, 99)
    ok = p99 <= 2.0 and duplicates == 0 and missing == 0
    text = f"""## Notifications (`make bench-notify`)
Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. `parts.request.shipped` events published to Kafka at {RATE}/s for
{SECONDS} s ({total} events, {DEALERS} dealers with an e-mail contact); the notifications service runs in its own
uvicorn process (consumer -> messages + deliveries; {os.environ.get("BENCH_NOTIFICATIONS_LOOPS", "4")} sender loops of
batches of {os.environ.get("BENCH_NOTIFICATIONS_BATCH", "100")} -> one SMTP pool of {SMTP_POOL} kept-open connections, many
messages per session) on the native stack; {SINKS} aiosmtpd sink process(es) (uvloop, one port through SO_REUSEPORT)
count what they accept. Latency = SMTP accept time - the event's `occurred_at`. Machine: 2 cores shared with four
other helpers' test runs at the same time (see the load average), so every number here moves from run to run.

| measure | value |
|---|---|
| publish rate achieved | {total / publish_s:.0f} events/s |
| all {total} accepted by the SMTP server after | {drained_s:.1f} s |
| latency p50 / p99 (event -> accepted by SMTP) | {p50:.3f} s / {p99:.3f} s (target p99 <= 2 s) |
| baseline, same run: raw aiosmtplib -> this aiosmtpd, {SMTP_POOL} connections, no DB/Kafka | {baseline:.0f} mails/s |
| at the end of publishing ({publish_s:.1f} s): queued by the consumer / handed to SMTP by the sender | {queued_at_end} / {sent_at_end} |
| CPU used while draining: the service / the SMTP sink{"s" if SINKS > 1 else ""} | {svc_cores:.2f} / {sink_cores:.2f} cores |
| load average at the end (2 cores shared with other work) | {os.getloadavg()[0]:.1f} |
| redelivery: every event again + {len(dups)} new-id duplicates | {duplicates} duplicate e-mails, {missing} missing |

{"Meets the targets." if ok else "Does NOT meet the targets on this run (see the numbers)."}

Before (2026-11-30 05:29, same machine): p99 135 s, all 15,000 after 151 s, and the baseline itself only
153 mails/s. What moved it (each step measured with `py-spy` on the service and a per-phase timer in the sender):
- The sink ran as a thread of the benchmark process: the producer, the client baseline and aiosmtpd handed the GIL
  back and forth on every SMTP line. In its own process on uvloop, one sink took 866-1,200 mails/s; two sinks
  behind SO_REUSEPORT with 64 client connections 1,600-2,000 mails/s. Result: p99 18 s, 450 mails/s end to end.
- Building an `EmailMessage` and letting aiosmtplib flatten it parsed every header through the email package's
  header registry: a fifth of the service's CPU. The SMTP channel now writes the bytes itself (RFC 2047 subject,
  base64 UTF-8 body, a stable `Message-ID` per delivery) and hands them over with `sendmail`.
- The consumer ran one INSERT round trip per event (40 % of the service's samples); a consumer batch's messages
  now go to the database pipelined in one `executemany` just before the batch's commit. After that the consumer
  kept up (all events queued by the end of publishing) and the sender was the bottleneck: the send phase of a
  batch of 200 over 16 connections took 250-1,200 ms while the service used only 0.3-0.4 cores, i.e. the sender
  was waiting on round trips (each mail is MAIL/RCPT/DATA/body, four of them) on a machine whose run queue is
  2-3 times its cores, not computing.
- So the sender now runs several loops side by side (SKIP LOCKED keeps their batches apart; one loop's database
  work overlaps the others' sends) with smaller batches, over more kept-open connections (defaults now
  `NOTIFICATIONS_SENDER_LOOPS=4`, `NOTIFICATIONS_SENDER_BATCH=100`; the SMTP pool is the relay's setting).

Every run of 2026-11-30 (15 s at 1,000/s; the machine's 2 cores shared with four other helpers' test runs):

| change | loops x batch, pool, sinks | p99 | all accepted after | baseline (same run) | load |
|---|---|---|---|---|---|
| before | 1 x 500, 16, 1 thread | 135 s | 151 s | 153/s | 9.5 |
| sink in its own process | 1 x 500, 16, 1 | 18.1 s | 33.4 s | 866/s | 1.6 |
| + SMTP bytes built once | 1 x 500, 16, 1 | 18.8 s | 34.0 s | 1,109/s | 5.2 |
| + consumer batch pipelined, 2 loops | 2 x 200, 16, 1 | 14.4 s | 29.6 s | 1,197/s | 6.6 |
| + 2 sinks, 32 connections | 2 x 200, 32, 2 | 7.9 s | 23.2 s | 1,957/s | 5.5 |
| 3 loops, 64 connections | 3 x 200, 64, 2 | 3.2 s | 17.8 s | 1,605/s | 5.6 |
| 4 loops of 100 (the defaults) | 4 x 100, 64, 2 | **1.3 s** | 16.1 s | 1,614/s | 5.7 |
| the same, again | 4 x 100, 64, 2 | 5.3 s | 19.4 s | 1,785/s | 4.0 |
| 6 loops of 50 | 6 x 50, 64, 2 | 2.5 s | 16.1 s | 1,332/s | 4.9 |
| the defaults, after the other work landed | 4 x 100, 64, 2 | 15.7 s | 30.7 s | 538/s | 6.9 |

Why the target is met in some runs and missed in others: the event -> SMTP path now needs 0.3-0.5 cores of the
service and 0.2-0.3 of the sinks at 1,000/s, and the consumer keeps up in every run (all events queued by the
end of publishing); what varies is the SMTP round trips. Each mail is four request/response exchanges between
two processes, and with a run queue of 4-7 on 2 cores each exchange waits for a CPU slot. The raw baseline in
the same run (aiosmtplib straight into the same sinks, no database, no Kafka) measures that ceiling: when it is
at 1,600/s or more the pipeline meets p99 <= 2 s or comes close; at 538/s (the last run) the SMTP path alone is
below the target rate and no change in the service can meet it. On a machine not shared with other test runs
(or with the sinks on their own host, as a real relay is) the margin is the baseline's.
"""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    with devstack.running_stack() as stack:  # outside the event loop; stops only what it started
        code = asyncio.run(main(stack))
    sys.exit(code)
