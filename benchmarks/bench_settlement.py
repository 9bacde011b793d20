"""Settlement benchmark: a quarter of N ledger entries over M dealers, one statement run, then a re-run.

Run: uv run python -m benchmarks.bench_settlement [--entries 1000000] [--dealers 5000]
Seeds the settlement schema of the local dev stack with generate_series (it EMPTIES that schema first),
starts the real app in-process (migrations; relay and consumers off so only the run is measured),
calls POST /v1/statement-runs over HTTP (ASGI transport) and reports wall time and the Python process's
peak RSS (VmHWM, reset before each measured call) plus the Postgres backend's peak RSS separately.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import resource
import time
from pathlib import Path

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from aftersales_shared.auth import generate_keypair, mint_token
from aftersales_shared.config import AuthSettings, DatabaseSettings, KafkaSettings
from aftersales_shared.dev import devstack
from settlement.config import SettlementSettings
from settlement.main import create_app

QUARTER = "2026Q2"
OUT = Path(__file__).resolve().parents[1] / "docs" / "bench" / "settlement.md"
KINDS = ["registered_sale", "payment", "repair", "home_visit", "return_cost", "complaint_upheld",
         "part_not_returned", "urgent_surcharge", "callback", "sla_breach"]


def _status_kb(pid: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def reset_peak() -> None:
    """Reset this process's peak RSS (Linux: writing 5 to clear_refs) so each step is measured alone."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


async def seed(admin: asyncpg.Connection, entries: int, dealers: int) -> float:
    started = time.perf_counter()
    tables = await admin.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'settlement' "
                               "AND tablename <> 'alembic_version'")
    await admin.execute("TRUNCATE " + ", ".join(f'settlement."{t[0]}"' for t in tables) + " RESTART IDENTITY CASCADE")
    await admin.execute(
        "INSERT INTO settlement.dealers (id, name, territories) "
        "SELECT 'B' || g, 'Bench dealer ' || g, ARRAY['T' || (g % 50)] FROM generate_series(1, $1) g", dealers)
    await admin.execute("""
        INSERT INTO settlement.contracts (id, dealer_id, version, effective_from, fee_model, parameters, created_by)
        SELECT gen_random_uuid(), 'B' || g, 1, DATE '2026-01-01', (ARRAY['a','b','c','d'])[1 + g % 4],
               jsonb_build_object('per_sale_amount', '35.00', 'sales_percent', '1.00', 'budget_percent', '3',
                                  'repair_fee', '80.00', 'home_visit_fee', '30.00', 'complaint_penalty', '200.00'),
               'bench'
        FROM generate_series(1, $1) g""", dealers)
    # most dealers report every month; every 97th misses records, every 89th misses quality feedback
    await admin.execute("""
        INSERT INTO settlement.monthly_reports (dealer_id, month, records, quality_feedback, submitted_at, submitted_by)
        SELECT 'B' || g, m, g % 97 <> 0, g % 89 <> 0, now(), 'bench'
        FROM generate_series(1, $1) g, generate_series(DATE '2026-02-01', DATE '2026-06-01', interval '1 month') m
    """, dealers)
    await admin.execute("""
        INSERT INTO settlement.ledger_entries (dealer_id, kind, amount, quantity, occurred_at, quarter,
                                               booked_quarter, source_type, source_id)
        SELECT 'B' || (1 + g % $2), ($3::text[])[1 + (g / $2) % array_length($3::text[], 1)],
               ((g * 7919) % 100000) / 100.0, 1,
               TIMESTAMPTZ '2026-03-31 16:00:00+00' + ((g * 104729) % 7862400) * interval '1 second',
               $4, $4, 'bench', g::text
        FROM generate_series(1::bigint, $1::bigint) g""", entries, dealers, KINDS, QUARTER)
    await admin.execute("ANALYZE settlement.ledger_entries")
    return time.perf_counter() - started


async def main(info: devstack.StackInfo, entries: int, dealers: int) -> None:
    private, public = generate_keypair()
    settings = SettlementSettings(
        environment="test", db_schema="settlement", service_name="settlement", run_relay=False, run_consumers=False,
        db=DatabaseSettings(host="127.0.0.1", port=info.pg_port, name=devstack.DB_NAME, user="settlement",
                            password=info.service_password("settlement")),
        kafka=KafkaSettings(bootstrap_servers=info.bootstrap),
        auth=AuthSettings(public_key_pem=public.decode()),
    )
    headers = {"Authorization": "Bearer " + mint_token(private, sub="bench-finance", roles=["finance"])}
    app = create_app(settings)
    admin = await asyncpg.connect(info.admin_dsn())
    results: list[tuple[str, float, int, int, str]] = []
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
        seed_s = await seed(admin, entries, dealers)
        print(f"seeded {entries} entries / {dealers} dealers in {seed_s:.1f}s", flush=True)
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
            async def measured(label: str) -> dict:
                reset_peak()
                t0 = time.perf_counter()
                r = await client.post("/v1/statement-runs", json={"quarter": QUARTER}, headers=headers)
                elapsed = time.perf_counter() - t0
                r.raise_for_status()
                body = r.json()
                rss = _status_kb("self", "VmHWM")
                pg_pids = [row[0] for row in await admin.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'settlement'")]
                pg_peak = max((_status_kb(str(p), "VmHWM") for p in pg_pids), default=0)
                outcome = f"created {len(body['created'])}, unchanged {len(body['unchanged'])}"
                results.append((label, elapsed, rss, pg_peak, outcome))
                print(f"{label}: {elapsed:.2f}s, python peak RSS {rss / 1024:.0f} MiB, "
                      f"postgres backend peak {pg_peak / 1024:.0f} MiB, {outcome}", flush=True)
                return body

            await measured("first run (all statements new)")
            await measured("re-run, no changed inputs")
            await admin.execute(
                "INSERT INTO settlement.ledger_entries (dealer_id, kind, amount, quantity, occurred_at, quarter, "
                "booked_quarter, source_type, source_id) SELECT 'B' || g, 'return_cost', 10.00, 1, "
                "TIMESTAMPTZ '2026-05-01 00:00:00+00', $1, $1, 'bench-change', g::text FROM generate_series(1, 50) g",
                QUARTER)
            await measured("re-run after 50 dealers' inputs changed")
    lines = await admin.fetchval("SELECT count(*) FROM settlement.statement_lines")
    await admin.close()
    maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write_report(entries, dealers, seed_s, results, lines, maxrss_mib)


def write_report(entries: int, dealers: int, seed_s: float, results, lines: int, maxrss_mib: float) -> None:
    rows = "\n".join(f"| {lbl} | {t:.2f} | {rss / 1024:.0f} | {pg / 1024:.0f} | {o} |" for lbl, t, rss, pg, o in results)
    text = f"""# Settlement benchmark

`make bench-settlement` (`uv run python -m benchmarks.bench_settlement`), measured {time.strftime('%Y-%m-%d')}.

Machine: 2 cores / 24 GiB / Debian 12 / Python {platform.python_version()}, PostgreSQL 15, Kafka 4.2.0
(relay and consumers switched off during the measurement so only the run is timed).

Data: quarter {QUARTER}, **{entries:,} ledger entries over {dealers:,} dealers** (seeded with `generate_series`
in {seed_s:.1f} s), contracts spread over the four fee models, monthly reports with a few dealers missing
records / quality feedback (so forfeits and penalties are exercised). The run writes {lines:,} statement lines
in total over the three calls.

| step | wall time (s) | Python peak RSS (MiB) | Postgres backend peak RSS (MiB) | outcome |
|---|---|---|---|---|
{rows}

- Targets: run ≤ 60 s, Python process ≤ 1 GiB resident. Python peak RSS is `VmHWM` of the benchmark
  process (which hosts the app in-process), reset before each call via `/proc/self/clear_refs`;
  `ru_maxrss` over the whole process life (including app start-up and seeding) was {maxrss_mib:.0f} MiB.
- Postgres memory is reported separately: the peak RSS (`VmHWM`) of the service's backend processes,
  which includes the shared buffers they touched.
- How: the ledger is aggregated in Postgres (`GROUP BY dealer, kind, origin quarter`), so Python only sees
  about one row per dealer and kind; the pure fee rules run once per dealer; statements, lines, carry-over
  balances and audit rows are written with `INSERT ... SELECT FROM unnest(...)`. A re-run compares an inputs
  hash per dealer and writes nothing when inputs are unchanged.
"""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--dealers", type=int, default=5_000)
    a = ap.parse_args()
    with devstack.running_stack() as stack:  # outside the event loop; stops only what it started
        asyncio.run(main(stack, a.entries, a.dealers))
