"""Dispatch benchmark: assignment decision latency, ticket-opened -> assigned latency, assignment quality.

Run: uv run python -m benchmarks.bench_dispatch [--quick]   (writes docs/bench/dispatch.md)
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import os
import platform
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from aftersales_shared import clock
from aftersales_shared.auth import generate_keypair, mint_token
from aftersales_shared.config import AuthSettings, DatabaseSettings, KafkaSettings
from aftersales_shared.dev import devstack
from aftersales_shared.events.ticketing import TicketOpened, TicketOpenedPayload
from aftersales_shared.testing.plugin import reset_schema, running
from benchmarks import dispatch_day, docblock
from dispatch.config import DispatchSettings
from dispatch.domain.assignment import EngineerState, HaversineEstimator, JobNeed, rank
from dispatch.jobs import queries
from dispatch.main import create_app
from dispatch.models import Job

CENTRE = (31.2304, 121.4737)
LINES = [f"line{i}" for i in range(8)]
REGIONS = [f"31{i:04d}" for i in range(1, 41)]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def settings_for(info, pub: bytes, **kw) -> DispatchSettings:
    return DispatchSettings(
        environment="test", db_schema="dispatch", service_name="dispatch",
        db=DatabaseSettings(host="127.0.0.1", port=info.pg_port, name=devstack.DB_NAME, user="dispatch",
                            password=info.service_password("dispatch"), pool_size=10, max_overflow=10),
        kafka=KafkaSettings(bootstrap_servers=info.bootstrap, relay_poll_interval_ms=100),
        auth=AuthSettings(public_key_pem=pub.decode()), **kw)


async def seed(admin: asyncpg.Connection, n_eng: int, n_jobs: int, rnd: random.Random) -> None:
    await reset_schema(admin, "dispatch")
    now = datetime.now(UTC)
    engs = []
    for i in range(n_eng):
        lat, lon = CENTRE[0] + rnd.uniform(-0.4, 0.4), CENTRE[1] + rnd.uniform(-0.4, 0.4)
        engs.append((f"E{i}", "bench", "manufacturer", json.dumps({rnd.choice(LINES): 3, rnd.choice(LINES): 2}),
                     json.dumps(rnd.sample(REGIONS, 6)), lat, lon, "[]", "[]", 8, 0, True))
    await admin.executemany(
        "INSERT INTO dispatch.engineers (id, name, employer, skills, zones, home_lat, home_lon, shifts, absences,"
        " max_jobs, active_jobs, active) VALUES ($1,$2,$3,$4::jsonb,$5::jsonb,$6,$7,$8::jsonb,$9::jsonb,$10,$11,$12)",
        engs)
    jobs = []
    for j in range(n_jobs):
        eid = f"E{rnd.randrange(n_eng)}"
        jobs.append((f"J{j}", f"T{j}", f"T{j}", "SN", LINES[0], LINES[0], "warranty", "c", "p", "a",
                     rnd.choice(REGIONS), "in_zone", CENTRE[0], CENTRE[1], "f", now, now, "accepted", eid, True,
                     now + timedelta(hours=2), now))
    await admin.executemany(
        "INSERT INTO dispatch.jobs (id, ticket_id, ticket_no, serial, product_line, required_skill, coverage,"
        " customer_name, phone, address, region_code, zone_class, lat, lon, fault_description, opened_at,"
        " created_at, status, engineer_id, holds_capacity, arrive_due, updated_at, pauses, warnings_sent, sla_met)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,'[]','[]','{}')",
        jobs)
    await admin.execute(
        "UPDATE dispatch.engineers e SET active_jobs = LEAST(e.max_jobs, c.n) FROM (SELECT engineer_id, count(*) n"
        " FROM dispatch.jobs GROUP BY engineer_id) c WHERE c.engineer_id = e.id")
    await admin.execute("ANALYZE dispatch.engineers; ANALYZE dispatch.jobs")
    await admin.execute("SET search_path TO dispatch")
    await admin.execute(
        "INSERT INTO dispatch.core_provinces VALUES ('31', 'Shanghai'), ('32', 'Jiangsu'), ('33', 'Zhejiang'),"
        " ('34', 'Anhui') ON CONFLICT DO NOTHING")
    await admin.execute(
        "INSERT INTO dispatch.sla_calendars VALUES ('24x7', 'Asia/Shanghai', true, '[]', false, '[0,1,2,3,4,5,6]',"
        " '{}', now()) ON CONFLICT DO NOTHING")
    await admin.execute(
        "INSERT INTO dispatch.sla_policies VALUES ('default-urban', '', 'urban', '24x7', 60, 1440, 1440, 'arrived',"
        " '[0.5, 0.8]', now()) ON CONFLICT DO NOTHING")


async def decision_latency(client, samples: int, rnd: random.Random) -> dict:
    app = client.app
    times = []
    found = 0
    for _ in range(samples):
        job = Job(id="probe", required_skill=rnd.choice(LINES), region_code=rnd.choice(REGIONS), zone_class="in_zone",
                  lat=CENTRE[0] + rnd.uniform(-0.3, 0.3), lon=CENTRE[1] + rnd.uniform(-0.3, 0.3),
                  arrive_due=clock.now() + timedelta(hours=2))
        async with app.state.sessions() as s:
            t0 = time.perf_counter()
            ranked = await queries.candidates_for(s, app.state.dispatch_cfg, job, clock.now())
            times.append((time.perf_counter() - t0) * 1000)
            found += bool(ranked)
    return {"samples": samples, "p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "max_ms": max(times),
            "with_candidate": found}


async def end_to_end(client, info, token: str, n: int, rate: float, rnd: random.Random) -> dict:
    producer = AIOKafkaProducer(bootstrap_servers=info.bootstrap, linger_ms=0)
    await producer.start()
    headers = {"Authorization": f"Bearer {token}"}
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}

    def make() -> TicketOpenedPayload:
        tid = f"B{rnd.getrandbits(64):x}"
        return TicketOpenedPayload(
            ticket_id=tid, ticket_no=tid, serial="SN", product_line=LINES[0], required_skill=rnd.choice(LINES),
            coverage="warranty", customer_name="bench", phone="1", address="a", region_code=rnd.choice(REGIONS),
            lat=CENTRE[0] + rnd.uniform(-0.2, 0.2), lon=CENTRE[1] + rnd.uniform(-0.2, 0.2), channel="phone",
            fault_description="f", opened_at=datetime.now(UTC))

    async def send(p: TicketOpenedPayload) -> None:
        e = TicketOpened(aggregate_id=p.ticket_id, payload=p)
        sent[p.ticket_id] = time.perf_counter()
        await producer.send_and_wait(e.TOPIC, e.to_json().encode(), key=p.ticket_id.encode())

    async def poll(stop: asyncio.Event) -> None:
        while not stop.is_set():
            r = await client.get("/v1/jobs", params={"limit": 100, "status": "offered"}, headers=headers)
            t = time.perf_counter()
            for j in r.json():
                if j["ticket_id"] in sent and j["ticket_id"] not in seen and j["engineer_id"]:
                    seen[j["ticket_id"]] = t
            await asyncio.sleep(0.1)

    # drain any backlog on the shared topic first: wait until a sentinel ticket shows up
    sentinel = make()
    await send(sentinel)
    stop = asyncio.Event()
    poller = asyncio.create_task(poll(stop))
    t_end = time.perf_counter() + 120
    while sentinel.ticket_id not in seen and time.perf_counter() < t_end:
        await asyncio.sleep(0.1)
    sent.clear()
    seen.clear()
    start = time.perf_counter()
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(send(make())))
        await asyncio.sleep(max(0.0, start + (i + 1) / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    send_rate = n / (time.perf_counter() - start)
    t_end = time.perf_counter() + 60
    while len(seen) < len(sent) and time.perf_counter() < t_end:
        await asyncio.sleep(0.1)
    stop.set()
    await poller
    await producer.stop()
    lat = [(seen[k] - sent[k]) * 1000 for k in seen]
    return {"tickets": n, "rate_per_s": rate, "achieved_rate": send_rate,
            "assigned_seen": len(seen), "p50_ms": pct(lat, 50) if lat else None,
            "p99_ms": pct(lat, 99) if lat else None}


def simulate_day(n_tickets: int, n_eng: int, seed: int) -> dict:
    """One generated day, two strategies on identical input: arrive-milestone share met."""
    rnd = random.Random(seed)
    est = HaversineEstimator()
    engineers = []
    for i in range(n_eng):
        engineers.append((f"E{i}", (CENTRE[0] + rnd.uniform(-0.5, 0.5), CENTRE[1] + rnd.uniform(-0.5, 0.5)),
                          {rnd.choice(LINES[:4]): 3, rnd.choice(LINES[:4]): 2}))
    day0 = datetime(2026, 3, 2, tzinfo=UTC)
    tickets = []
    for k in range(n_tickets):
        opened = day0 + timedelta(seconds=rnd.uniform(0, 86400))
        zc = rnd.choices(["in_zone", "urban", "county"], [0.6, 0.3, 0.1])[0]
        spread = {"in_zone": 0.25, "urban": 0.45, "county": 0.6}[zc]
        due = opened + {"in_zone": timedelta(hours=2), "urban": timedelta(hours=24), "county": timedelta(hours=48)}[zc]
        tickets.append((opened, f"K{k}", rnd.choice(LINES[:4]), zc,
                        (CENTRE[0] + rnd.uniform(-spread, spread), CENTRE[1] + rnd.uniform(-spread, spread)),
                        due, timedelta(minutes=rnd.uniform(45, 150))))
    tickets.sort()

    def run(strategy: str) -> float:
        free_at = {e[0]: day0 for e in engineers}
        loc = {e[0]: e[1] for e in engineers}
        queue: list = []
        met = 0
        events: list[tuple[Any, int, Any, Any]] = [(t[0], 1, t[1], t) for t in tickets]
        heapq.heapify(events)
        while events:
            now, kind, _key, payload = heapq.heappop(events)
            if kind == 1:
                queue.append(payload)
            # try to place queued tickets (ours: earliest deadline first; baseline: arrival order)
            order = sorted(queue, key=lambda t: (t[5] < now, t[5])) if strategy == "ours" else list(queue)
            for t in order:
                free = [e for e in engineers if free_at[e[0]] <= now and t[2] in e[2]]
                if not free:
                    continue
                if strategy == "ours":
                    states = [EngineerState(e[0], e[2], frozenset(["all"]), loc[e[0]], 0, 1) for e in free]
                    need = JobNeed(t[1], t[2], "all", t[3], t[4], t[5])
                    ranked = rank(need, states, est, now, max_lateness=timedelta(days=30))
                    pick = ranked[0].engineer_id
                else:
                    pick = min(free, key=lambda e: est.estimate(loc[e[0]], t[4], t[3]))[0]
                arrive = now + est.estimate(loc[pick], t[4], t[3])
                met += arrive <= t[5]
                free_at[pick] = arrive + t[6]
                loc[pick] = t[4]
                queue.remove(t)
                heapq.heappush(events, (free_at[pick], 2, pick, None))
        return met / len(tickets)

    return {"tickets": n_tickets, "engineers": n_eng, "ours": run("ours"), "baseline_nearest_free": run("baseline")}


async def main(info: devstack.StackInfo, quick: bool) -> None:
    priv, pub = generate_keypair()
    token = mint_token(priv, sub="bench", roles=["admin"])
    rnd = random.Random(7)
    n_eng, n_jobs = (2000, 10000)
    admin = await asyncpg.connect(info.admin_dsn())
    results: dict = {}
    try:
        app = create_app(settings_for(info, pub, run_consumers=False, run_relay=False, run_background=False))
        async with running(app) as client:
            await seed(admin, n_eng, n_jobs, rnd)
            results["decision"] = await decision_latency(client, 200 if quick else 1000, rnd)
        # ticket-opened -> assigned: the dispatch service as deployed, in its own uvicorn process
        port = devstack.free_port()
        env = {**os.environ, **info.service_env("dispatch"), "APP_ENV": "development",
               "AUTH_PUBLIC_KEY_PEM": pub.decode(), "AUTH_PUBLIC_KEY_FILE": "", "DISPATCH_RUN_BACKGROUND": "false"}
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "dispatch.main:create_app", "--factory",
                                 "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
                                env=env, stdout=subprocess.DEVNULL)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                for _ in range(240):
                    try:
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.5)
                results["e2e"] = await end_to_end(http, info, token, 300 if quick else 1000, 100.0, rnd)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        await reset_schema(admin, "dispatch")
        await admin.close()
    results["quality"] = simulate_day(2000, 200, seed=11)
    results["three_way"] = dispatch_day.three_way(2000, 200, seed=11)
    write_report(results, quick)
    docblock.splice("planner-day", three_way_section(results["three_way"]))
    print(json.dumps(results, indent=2, default=str))


def write_report(r: dict, quick: bool) -> None:
    d, e, q = r["decision"], r["e2e"], r["quality"]
    text = f"""# Dispatch benchmark

Machine: 2 cores / 24 GiB / Debian 12 / Python 3.11, PostgreSQL 15, Kafka 4.2.0 (native devstack). Decision latency is measured in-process; ticket opened → assigned runs against the dispatch service in its own uvicorn process (consumer, relay and API as deployed), with the load generator and poller in the benchmark process.
Command: `uv run python -m benchmarks.bench_dispatch{' --quick' if quick else ''}` ({datetime.now(UTC):%Y-%m-%d}).

## Assignment decision latency (2,000 engineers, 10,000 open jobs in the database)
Candidate query (GIN on skills/zones, capacity filter) + feasibility + ranking for one new job, {d['samples']} samples.

| p50 | p99 | max | jobs with a feasible candidate | target |
|---|---|---|---|---|
| {d['p50_ms']:.1f} ms | {d['p99_ms']:.1f} ms | {d['max_ms']:.1f} ms | {d['with_candidate']}/{d['samples']} | p99 <= 20 ms |

## Ticket opened (Kafka) -> job assigned, visible through `GET /v1/jobs`
{e['tickets']} ticket-opened events produced at {e['rate_per_s']:.0f}/s (achieved {e['achieved_rate']:.0f}/s); the API
was polled every 100 ms, so latencies include up to ~100 ms of polling granularity. Assigned and seen:
{e['assigned_seen']}/{e['tickets']}.

| p50 | p99 | target |
|---|---|---|
| {e['p50_ms'] or float('nan'):.0f} ms | {e['p99_ms'] or float('nan'):.0f} ms | p99 <= 1 s |

## Quality: a generated day of {q['tickets']:,} tickets, {q['engineers']} engineers (same input, same run)
Tickets spread over 24 h around Shanghai, 60 % in-zone (2 h arrive), 30 % urban (24 h), 10 % county (48 h);
service 45-150 min; one job at a time per engineer; travel = haversine x 1.3 / zone speed.

| strategy | arrive milestones met |
|---|---|
| dispatch scorer (least lateness, travel, load; queue ordered by deadline) | {q['ours']:.1%} |
| baseline: nearest free qualified engineer, first come first served | {q['baseline_nearest_free']:.1%} |

The quality simulation is a pure in-memory discrete-event run of the domain scorer (no database), so it
isolates the assignment policy from I/O.

{three_way_section(r["three_way"])}
"""
    out = Path(__file__).resolve().parents[1] / "docs" / "bench" / "dispatch.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


def three_way_section(w: dict) -> str:
    """The generated day three ways (``benchmarks/dispatch_day.py``): a markdown section."""
    today = w["today"]
    rows = [("today's dispatcher (`assignment.rank`, one job at a time, ETA = now + travel)", today),
            ("insertion only (`routing_insert.insert_job` as tickets open)", w["insertion"]),
            (f"insertion + nightly plan (`plan_day` at 22:00 the evening before for the {w['known_at_night']} "
             "24 h/48 h tickets known then)", w["nightly"]),
            ("insertion only, 2 h overtime allowed, 24 candidates (sensitivity)", w["insertion_tight"])]
    lines = [f"## Three ways on one generated day: {w['tickets']:,} tickets, {w['engineers']} engineers "
             f"(seed {w['seed']}, same input, same run; `benchmarks/dispatch_day.py`)", "",
             "| strategy | arrive met (target >= 98 %) | unserved | km (target <= 0.5x today) | x today | "
             "engineers used | overtime h | plan / insert s | verifier violations |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows:
        secs = f"{r.get('plan_s', 0):.0f} / {r.get('insert_s', 0):.1f}" if "insert_s" in r else "-"
        lines.append(f"| {name} | {r['met']:.2%} | {r['unserved']} | {r['km']:,.0f} | {r['km'] / today['km']:.2f} | "
                     f"{r['engineers_used']} | {r['overtime_min'] / 60:,.0f} | {secs} | {r['violations']} |")
    lines += ["", "Input: `bench_dispatch`'s generated day (same draws; on it, today's dispatcher meets 90.4 %: the dispatch "
              "section's quality table) with the 24 h / 48 h tickets opened 12 h earlier (12:00 the day before .. 12:00), so that a "
              "nightly plan has work: on this input today's dispatcher meets the number in the first row. Engineers "
              "work the day round the clock from home and back (shift 00:00-24:00; the generated load, ~3,250 h of "
              "service for 200 engineers, needs it); overtime = hours back home after 24:00 (today's dispatcher "
              "keeps working until its queue is empty). Same travel model for all: haversine x 1.3 at the "
              "destination's zone-class speed, whole seconds. Insertion: 6 h overtime allowed, the 64 nearest "
              "qualified engineers evaluated exactly, late allowed at 10 % of the 1,000 penalty (R-S9), in-zone "
              "tickets urgent (may displace). The final plan is the executed day (travel and service as "
              "estimated) and is re-walked by `routing_verify.verify`; met = service starts by the arrive deadline. "
              "The nightly plan runs on a 20 s time limit, so its km vary by a few % from run to run.",
              "",
              f"Sensitivity row: with 2 h overtime, in-zone tickets of the last hours no longer fit before the "
              f"return limit ({w['insertion_tight']['unserved']} unserved), and `insert_job`'s urgent displacement "
              f"left {w['insertion_tight']['violations']} routes back after the return limit (the verifier's `shift_end`; the displaced-into route is not re-checked against the "
              "shift end, `domain/routing_insert.py`, reported to the live-insertion work).",
              "",
              f"Machine: {platform.machine()} {os.cpu_count()} cores, Debian 12, Python {platform.python_version()}, "
              f"PyVRP 0.14.1; run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on a machine shared with other "
              "helpers' test runs (plan/insert seconds are wall time under that load)."]
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer samples (same data sizes)")
    ap.add_argument("--day-only", action="store_true", help="only the in-process three-way day (no stack)")
    args = ap.parse_args()
    quick = args.quick
    if args.day_only:
        w = dispatch_day.three_way(2000, 200, seed=11)
        print(three_way_section(w))
        docblock.splice("planner-day", three_way_section(w))
        sys.exit(0)
    with devstack.running_stack() as stack:  # outside the event loop; stops only what it started
        asyncio.run(main(stack, quick))
