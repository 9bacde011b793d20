"""Ticket intake benchmark (`make bench-intake`): sustained POST /v1/tickets versus a raw asyncpg baseline that
writes the same rows, then lookup latency by phone / serial / ticket number over a large tickets table.

The service runs as deployed: its own uvicorn process(es) (uvloop, httptools) against the real local Postgres,
relay and consumers off so both sides do only the writes being compared. The load comes from
benchmarks/httpload.py in a separate process (closed loop, keep-alive connections), so the load generator
does not share the service's event loop. Writes a markdown section to docs/bench/ticketing.md.
Options (env): BENCH_SECONDS (15), BENCH_CLIENTS ("16,32,48,64"), BENCH_RATES ("800,1000,1000,1000,1200"),
BENCH_LOOKUP_ROWS (1000000), BENCH_LOOKUPS (2000).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from aftersales_shared.auth import generate_keypair, mint_token
from aftersales_shared.config import DatabaseSettings
from aftersales_shared.dev import devstack
from aftersales_shared.ids import new_id
from aftersales_shared.testing import processes as serve
from benchmarks import httpload

SECONDS = float(os.environ.get("BENCH_SECONDS", 15))
CLIENTS = [int(c) for c in os.environ.get("BENCH_CLIENTS", "16,32,48,64").split(",")]
RATES = [int(c) for c in os.environ.get("BENCH_RATES", "800,1000,1000,1000,1200").split(",")]
OPEN_LOOP_CONNECTIONS = 256
CONCURRENCY = max(CLIENTS)
LOOKUP_ROWS = int(os.environ.get("BENCH_LOOKUP_ROWS", 1_000_000))
LOOKUPS = int(os.environ.get("BENCH_LOOKUPS", 2000))
UNITS = 600_000
PHASE_SERIALS = 45_000  # serials reserved per load phase (a phase never reuses another's units)
assert (2 * len(CLIENTS) + len(RATES)) * PHASE_SERIALS <= UNITS, "every load phase needs units of its own"
OUT = Path(__file__).resolve().parents[1] / "docs" / "bench" / "ticketing.md"


BENCH_DB = "aftersales_bench_ticketing"


async def bench_database(info: devstack.StackInfo) -> asyncpg.Connection:
    """A private database for the run (same roles, schema and extensions as the platform's), so other work on
    the shared stack neither disturbs the numbers nor sees a million benchmark rows."""
    sys_conn = await asyncpg.connect(info.admin_dsn("postgres"))
    await sys_conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    await sys_conn.execute(f"CREATE DATABASE {BENCH_DB}")
    await sys_conn.close()
    admin = await asyncpg.connect(info.admin_dsn(BENCH_DB))
    await admin.execute(f"""
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        GRANT CONNECT ON DATABASE {BENCH_DB} TO ticketing;
        CREATE SCHEMA ticketing AUTHORIZATION ticketing;""")
    return admin


def body(serial: str, i: int) -> dict:
    return {"serial": serial, "customer_name": f"客户{i}", "phone": f"139{i % 100_000_000:08d}",
            "address": "南京市鼓楼区中山路1号", "region_code": "320106", "lat": 32.06, "lon": 118.78, "channel": "phone",
            "fault_description": f"unit {i} does not cool, compressor rattles", "requested_action": "repair"}


async def seed_catalog(admin: asyncpg.Connection) -> None:
    await admin.execute("""
        INSERT INTO ticketing.product_lines (code, name, required_skill) VALUES ('BENCH', 'Bench line', 'hvac');
        INSERT INTO ticketing.warranty_policies (id, product_line, version, effective_from, terms, created_by)
        VALUES (gen_random_uuid(), 'BENCH', 1, '2020-01-01', '{"months": 24}', 'bench');""")
    await admin.execute(f"""
        INSERT INTO ticketing.units (serial, product_line, policy_id, dealer_id, contract_code, sold_on)
        SELECT 'BU-' || g, 'BENCH', (SELECT id FROM ticketing.warranty_policies WHERE product_line = 'BENCH'),
               'D' || (g % 50), 'GOLD', DATE '2026-01-01' + (g % 300)
        FROM generate_series(1, {UNITS}) g""")


async def drive(worker, seconds: float, concurrency: int) -> tuple[int, float, list[float], int]:
    """Run ``worker(i)`` from ``concurrency`` loops for ``seconds``; returns (ok, elapsed, latencies, errors)."""
    counter = iter(range(10**9))
    lat: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            i = next(counter)
            t0 = time.perf_counter()
            ok = await worker(i)
            if ok:
                lat.append(time.perf_counter() - t0)
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return len(lat), time.perf_counter() - started, lat, errors


def ticket_request(token: str, i: int) -> tuple[str, str, dict, dict]:
    """One intake POST for httpload: a fresh Idempotency-Key and a unit no other request uses."""
    return ("POST", "/v1/tickets", {"Authorization": f"Bearer {token}", "Idempotency-Key": f"bench-{uuid.uuid4().hex}"},
            body(f"BU-{i}", i))


def service(info: devstack.StackInfo, pub: bytes, workers: int) -> serve.ServiceProcess:
    """The ticketing service in its own uvicorn process(es), on the benchmark database."""
    return serve.ServiceProcess("ticketing.main:create_app",
                                serve.service_env(info, "ticketing", db=BENCH_DB, public_key=pub, pool=16), workers)


def load_phase(port: int, token: str, clients: int, phase: int, rate: float | None = None) -> dict:
    """Closed loop with ``clients``, or (with ``rate``) open loop at that arrival rate."""
    r = httpload.run(port, functools.partial(ticket_request, token), concurrency=clients, seconds=SECONDS,
                     warmup=2, offset=1 + phase * PHASE_SERIALS, rate=rate)
    lat = r.pop("latencies")
    return {**r, "clients": clients, "p50": httpload.percentile_ms(lat, 50), "p99": httpload.percentile_ms(lat, 99)}


_BASE_TICKET = """
INSERT INTO ticketing.tickets (id, ticket_no, serial, product_line, dealer_id, contract_code, customer_name, phone,
  address, region_code, lat, lon, channel, fault_description, component, photos, requested_action, coverage,
  exclusions, warranty_reasons, status, created_by, opened_at, updated_at)
VALUES ($1, 'T' || to_char($2 AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-' || lpad(nextval('ticketing.ticket_no_seq')::text, 7, '0'),
  $3, 'BENCH', 'D1', 'GOLD', $4, $5, $6, '320106', 32.06, 118.78, 'phone', $7, 'unit', '[]', 'repair', 'warranty',
  '[]', '["in warranty"]', 'open', 'bench', $2, $2)"""
_BASE_HIST = "INSERT INTO ticketing.ticket_transitions (ticket_id, to_status, actor, at) VALUES ($1, 'open', 'bench', $2)"
_BASE_OUTBOX = ("INSERT INTO ticketing.outbox (event_id, topic, key, event_type, payload, headers) "
                "VALUES ($1, 'ticketing.ticket.v1', $2, 'ticketing.ticket.opened', $3::jsonb, '{}'::jsonb)")


async def main(info: devstack.StackInfo) -> None:
    admin = await bench_database(info)
    priv, pub = generate_keypair()
    token = mint_token(priv, sub="bench-agent", roles=["call_center"])
    headers = {"Authorization": f"Bearer {token}"}
    results: dict[str, Any] = {"load_before": os.getloadavg(), "intake": []}
    phase = 0
    async with service(info, pub, workers=1) as svc:  # the first start migrates the benchmark database
        await seed_catalog(admin)
        await admin.execute("ANALYZE ticketing.units")
        for clients in CLIENTS:
            await admin.execute("CHECKPOINT")  # every phase starts without a pending checkpoint's I/O
            res = await asyncio.to_thread(load_phase, svc.port, token, clients, phase)
            phase += 1
            results["intake"].append({**res, "workers": 1})
            print("intake 1 worker", {k: v for k, v in res.items() if k != "statuses"}, flush=True)
    async with service(info, pub, workers=2) as svc:
        for clients in CLIENTS:
            await admin.execute("CHECKPOINT")
            res = await asyncio.to_thread(load_phase, svc.port, token, clients, phase)
            phase += 1
            results["intake"].append({**res, "workers": 2})
            print("intake 2 workers", {k: v for k, v in res.items() if k != "statuses"}, flush=True)
        results["open_loop"] = []
        for rate in RATES:
            await admin.execute("CHECKPOINT")
            res = await asyncio.to_thread(load_phase, svc.port, token, OPEN_LOOP_CONNECTIONS, phase, rate)
            phase += 1
            results["open_loop"].append({**res, "workers": 2})
            print("open loop 2 workers", {k: v for k, v in res.items() if k != "statuses"}, flush=True)

    db = DatabaseSettings(host="127.0.0.1", port=info.pg_port, name=BENCH_DB, user="ticketing",
                          password=info.service_password("ticketing"))
    results["baseline"] = []
    for clients in CLIENTS:
        pool = await asyncpg.create_pool(db.asyncpg_dsn(), min_size=clients, max_size=clients)
        base_serials = iter(range(1, 10**9))

        async def insert_raw(i: int, pool=pool, clients=clients, base_serials=base_serials) -> bool:
            tid, now = new_id(), datetime.now(UTC)
            payload = json.dumps({"ticket_id": str(tid), "serial": f"RAW-{i}", **body(f"RAW-{i}", i)})
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(_BASE_TICKET, tid, now, f"RAW-{clients}-{next(base_serials)}", f"客户{i}",
                                   f"+86139{i % 100_000_000:08d}", "南京市鼓楼区中山路1号",
                                   f"unit {i} does not cool, compressor rattles")
                await conn.execute(_BASE_HIST, tid, now)
                await conn.execute(_BASE_OUTBOX, new_id(), str(tid), payload)
            return True

        await admin.execute("CHECKPOINT")
        await drive(insert_raw, 2, clients)
        ok, elapsed, lat, _ = await drive(insert_raw, SECONDS, clients)
        await pool.close()
        results["baseline"].append({"clients": clients, "ok": ok, "rate": ok / elapsed, "p50": httpload.percentile_ms(lat, 50),
                                    "p99": httpload.percentile_ms(lat, 99)})
        print("baseline", results["baseline"][-1], flush=True)

    # --- lookups over a large table -------------------------------------------------------
    have = await admin.fetchval("SELECT count(*) FROM ticketing.tickets")
    t0 = time.perf_counter()
    batch = 100_000
    todo = max(0, LOOKUP_ROWS - have)
    while todo > 0:
        n = min(batch, todo)
        await admin.execute(f"""
            INSERT INTO ticketing.tickets (id, ticket_no, serial, product_line, dealer_id, contract_code,
              customer_name, phone, address, region_code, channel, fault_description, component, photos,
              coverage, exclusions, warranty_reasons, status, created_by, opened_at, updated_at, closed_at)
            SELECT gen_random_uuid(), 'H' || lpad(g::text, 9, '0'), 'HS-' || (g % 400000),
              'BENCH', 'D' || (g % 50), 'GOLD', '客户' || g, '+86137' || lpad((g % 250000)::text, 8, '0'),
              '地址 ' || g, '320106', (ARRAY['phone','web','email','sms'])[1 + g % 4],
              'historic fault ' || g || ' no power after storm', 'unit', '[]', 'warranty', '[]', '[]',
              'closed', 'seed', now() - (g % 1000) * interval '1 hour', now(), now()
            FROM generate_series({LOOKUP_ROWS - todo + 1}, {LOOKUP_ROWS - todo + n}) g""")
        todo -= n
    # what a DBA does after a bulk load (and autovacuum would do minutes later, in the middle of the lookups)
    await admin.execute("VACUUM (ANALYZE) ticketing.tickets")
    seeded = await admin.fetchval("SELECT count(*) FROM ticketing.tickets")
    results["seed"] = {"rows": seeded, "seconds": time.perf_counter() - t0}
    print("seed", results["seed"], flush=True)
    import random

    rnd = random.Random(7)
    kinds = {
        "phone": lambda: {"phone": f"137{rnd.randrange(250000):08d}"},
        "serial": lambda: {"serial": f"HS-{rnd.randrange(400000)}"},
        "ticket_no": lambda: {"ticket_no": f"H{rnd.randrange(1, LOOKUP_ROWS):09d}"},
    }
    results["lookup"] = {}
    async with service(info, pub, workers=1) as svc, \
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{svc.port}", timeout=30) as client:
        for kind, params in kinds.items():
            lat = []
            for _ in range(LOOKUPS // 10):  # warm
                await client.get("/v1/tickets", params=params(), headers=headers)
            sem = asyncio.Semaphore(4)

            async def one(sem=sem, params=params, lat=lat) -> None:
                async with sem:
                    p = params()
                    t = time.perf_counter()
                    r = await client.get("/v1/tickets", params=p, headers=headers)
                    assert r.status_code == 200, r.text
                    lat.append(time.perf_counter() - t)

            await asyncio.gather(*(one() for _ in range(LOOKUPS)))
            results["lookup"][kind] = {"n": len(lat), "p50": httpload.percentile_ms(lat, 50), "p99": httpload.percentile_ms(lat, 99),
                                       "mean": statistics.mean(lat) * 1000}
            print("lookup", kind, results["lookup"][kind], flush=True)
    results["load_after"] = os.getloadavg()
    await admin.close()
    if not os.environ.get("BENCH_KEEP_DATA"):
        sys_conn = await asyncpg.connect(info.admin_dsn("postgres"))
        await sys_conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        await sys_conn.close()
    write_markdown(results)


def write_markdown(r: dict) -> None:
    seed, intake, base, open_loop = r["seed"], r["intake"], r["baseline"], r["open_loop"]
    base_by = {b["clients"]: b for b in base}
    meeting = [x for x in intake if x["p99"] <= 100]
    best = max(meeting, key=lambda x: x["rate"]) if meeting else max(intake, key=lambda x: x["rate"])
    best_base = max(base, key=lambda b: b["rate"])
    met = best["rate"] >= 1000 and best["p99"] <= 100
    served = [x["offered"] for x in open_loop if x["p99"] <= 100 and x["rate"] >= 0.99 * x["offered"]]
    at_1000 = [x for x in open_loop if x["offered"] == 1000]
    windows = ", ".join(f"{x['p99']:.0f} ms" for x in at_1000)
    lines = [
        "# Ticketing benchmark (`make bench-intake`)", "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores / 24 GiB / Debian 12 / Python "
        f"{platform.python_version()} / PostgreSQL 15 (devstack settings) / Kafka 4.2.0 (relay off during the run).",
        f"Load average (1/5/15 min) before: {'/'.join(f'{x:.1f}' for x in r['load_before'])}, after: "
        f"{'/'.join(f'{x:.1f}' for x in r['load_after'])}.",
        "The service runs in its own uvicorn process(es) (uvloop, httptools); the load comes from "
        "`benchmarks/httpload.py` in a separate process: closed loop, one keep-alive connection per client, "
        f"{SECONDS:.0f} s per phase after a 2 s warm-up. Every POST carries a fresh Idempotency-Key and a unit "
        "no other request uses.", "",
        "## Sustained intake: POST /v1/tickets", "",
        "Each request: JWT check (verified tokens are cached until they expire), validation, phone "
        "normalisation, Idempotency-Key claim, warranty determination, ticket + first transition + outbox row "
        "+ stored response, in batches of the requests that arrive together (group commit, "
        "`ticketing/tickets/hotpath.py`).", "",
        "| uvicorn workers | clients | tickets | tickets/s | p50 ms | p99 ms | fraction of the baseline at the "
        "same clients |", "|---:|---:|---:|---:|---:|---:|---:|",
        *[f"| {x['workers']} | {x['clients']} | {x['ok']} | {x['rate']:.0f} | {x['p50']:.1f} | {x['p99']:.1f} | "
          f"{x['rate'] / base_by[x['clients']]['rate']:.0%} |" for x in intake], "",
        "Baseline: the same rows (ticket + first transition + outbox row, ticket number from the same sequence) "
        "inserted straight through asyncpg, one transaction per ticket, no HTTP:", "",
        "| clients | tickets | tickets/s | p50 ms | p99 ms |", "|---:|---:|---:|---:|---:|",
        *[f"| {b['clients']} | {b['ok']} | {b['rate']:.0f} | {b['p50']:.1f} | {b['p99']:.1f} |" for b in base], "",
        f"Best intake rate with p99 <= 100 ms: **{best['rate']:.0f} tickets/s** (p99 {best['p99']:.1f} ms, "
        f"{best['workers']} worker(s), {best['clients']} clients), **{best['rate'] / best_base['rate']:.0%}** of "
        f"the best baseline rate ({best_base['rate']:.0f}/s). Target >= 1,000 tickets/s with p99 <= 100 ms: "
        f"{'met' if met else 'not met'}. Non-2xx answers during the run: "
        f"{sum(x['errors'] for x in intake)}.", "",
        "### Open loop: a fixed arrival rate", "",
        "Calls reach a call center whether or not the last one has been answered. Here requests are due at a "
        f"fixed rate (2 uvicorn workers, up to {OPEN_LOOP_CONNECTIONS} keep-alive connections), and each "
        "latency counts from when the request was due, so a queue in the service cannot hide by slowing the "
        "client down. \"Late sends\" are requests the load generator itself sent more than 5 ms after they "
        "were due (its share of the 2 cores); their wait is in the latency.", "",
        "| offered/s | tickets | completed/s | p50 ms | p99 ms | late sends |", "|---:|---:|---:|---:|---:|---:|",
        *[f"| {x['offered']:.0f} | {x['ok']} | {x['rate']:.0f} | {x['p50']:.1f} | {x['p99']:.1f} | "
          f"{x['late_sends']} |" for x in open_loop], "",
        f"At 1,000/s offered, p99 per {SECONDS:.0f}-s window: "
        f"{windows or 'not measured'}; p99 <= 100 ms "
        f"in {sum(x['p99'] <= 100 for x in at_1000)} of {len(at_1000)} windows. Highest offered rate served "
        f"with p99 <= 100 ms in a window: {max(served, default=0):.0f}/s. Non-2xx answers: "
        f"{sum(x['errors'] for x in open_loop)}.", "",
        "## Lookups with a large tickets table", "",
        f"{seed['rows']:,} tickets stored (seeded with set-based `INSERT ... SELECT generate_series` in "
        f"{seed['seconds']:.0f} s, into a private benchmark database). {LOOKUPS} lookups per kind through "
        "GET /v1/tickets on one uvicorn worker, 4 in flight (httpx client).", "",
        "| lookup | p50 ms | mean ms | p99 ms |", "|---|---:|---:|---:|",
        *[f"| {k} | {v['p50']:.1f} | {v['mean']:.1f} | {v['p99']:.1f} |" for k, v in r["lookup"].items()],
        "", "Target: p99 <= 20 ms: " + ("met." if all(v["p99"] <= 20 for v in r["lookup"].values()) else "not met."),
        "",
        "## Notes", "",
        "- The phases run one after another on one growing table (about 250,000 tickets and as many stored "
        "Idempotency-Keys by the last phase), with ten indexes on tickets, two of them trigram GIN indexes for "
        "the fault and name search. Client, service workers and PostgreSQL share the 2 cores; run-to-run "
        "variance on this VM is about +-15 % on the closed-loop rates.",
        "- Batches are only as large as the concurrency allows: with few clients per worker the service pays "
        "per-batch round trips for few tickets, so one worker does better than two at low concurrency and two "
        "pull ahead at 48-64 clients.",
        "- What moved intake from 301/s (p99 131 ms) at the start of this work: a plain asyncpg pool instead of "
        "SQLAlchemy on this path, cached token verification, no unconditional NOTIFY, group commit, no "
        "per-release session reset, `gc.freeze()` after startup, smaller GIN pending lists, letting in-flight "
        "requests join a batch before it is cut, the route reading its own request (no FastAPI dependency "
        "resolution; one pydantic-core parse), and freeing refused Idempotency-Keys by primary key: that "
        "DELETE had an `OR` that made every batch scan the whole key table (29 ms a batch at 49,000 keys, "
        "growing with the table), which is why earlier runs slowed down phase by phase.",
        "- Open loop: at 1,000/s the median is 16-18 ms, but the p99 of a 15-s window swings between about 80 and 185 ms across identical windows. At that rate the 2 cores are about 80 % busy (service 0.9, PostgreSQL 0.5, load generator 0.2 cores), so a short stall queues a few hundred requests. The stalls are the full-page writes after the CHECKPOINT each phase starts with, and autovacuum passes over the 100,000-250,000-row tables the earlier phases grew. In probes, windows without either reached p99 25-66 ms and windows with one 136-600 ms; one probe window without a checkpoint still reached 209 ms. The closed-loop table is the steady state; this one shows the tail a peak-hour stall leaves.",
        "- Each phase (and each baseline run) starts right after a `CHECKPOINT`, so a checkpoint left over from "
        "seeding or an earlier phase does not land in one phase only.",
        "- Machine: 2 cores shared by PostgreSQL, the service workers and the load generator; the numbers "
        "are from one run, not averaged.",
        "- The lookup table is seeded with closed historic tickets: 400,000 serials, 250,000 phone numbers "
        "(about 4 tickets per phone), so a phone or serial lookup returns several rows sorted by time.",
        "",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    with devstack.running_stack() as stack:  # outside the event loop; stops only what it started
        asyncio.run(main(stack))
