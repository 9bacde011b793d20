"""Planning scales out on Kafka (issue 14, item 4): two zone-days (1,000 jobs / 100 engineers each) planned by one
planner process vs two planner processes of the consumer group ``planner``, as deployed.

The stack (``make run``'s PostgreSQL + Kafka), the dispatch schema seeded through the service (zones and engineers
over the API, jobs through ``jobs.open_job``, planning data set on the rows), then the planner workers as their own
uvicorn processes (``DISPATCH_PLANNER_ONLY=true``, like ``make run``'s ``dispatch-planner``). Both zone-days are
requested at once (``plans.request_plan``: the ``dispatch.plan.requested`` events keyed by zone, relayed from the
outbox); wall = first request -> last plan done. ``dispatch.plan.v1`` has 4 partitions: the two zones are chosen so
that their keys fall on partitions 0 and 3, which two members of the group always hold apart (range or round-robin
assignment); two zones on one partition would plan one after the other whatever the number of processes.

Run: uv run python -m benchmarks.bench_planner_scale [--limit S]   (``make bench-planner-scale``; writes the
``planner-scale`` block of the planner section of docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa
from aiokafka.partitioner import DefaultPartitioner

from aftersales_shared import clock
from aftersales_shared.auth import generate_keypair, mint_token
from aftersales_shared.db import unit_of_work
from aftersales_shared.dev import devstack
from aftersales_shared.events.ticketing import TicketOpenedPayload
from aftersales_shared.testing.plugin import reset_schema, running
from benchmarks import docblock
from benchmarks.bench_dispatch import settings_for
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.models import Job, PlanRow
from dispatch.plans import service as plans

CENTRE = (31.2304, 121.4737)
LINES = ["ac", "boiler", "fridge", "washer", "tv", "water"]
PARTITIONS = 4


def zones_apart() -> tuple[str, str]:
    """Two region codes whose keys land on partitions 0 and 3 of ``dispatch.plan.v1``."""
    part = DefaultPartitioner()
    ps = list(range(PARTITIONS))
    found: dict[int, str] = {}
    for n in range(1, 1000):
        code = f"31{n:04d}"
        found.setdefault(part(code.encode(), ps, ps), code)
        if 0 in found and PARTITIONS - 1 in found:
            return found[0], found[PARTITIONS - 1]
    raise RuntimeError("no region codes on partitions 0 and 3")


async def seed(client: Any, token: str, zone: str, n_jobs: int, n_eng: int, rnd: random.Random,
               day: Any) -> None:
    h = {"Authorization": f"Bearer {token}"}
    r = await client.put(f"/v1/zones/{zone}", headers=h, json={"name": zone, "zone_class": "county",
                                                                "lat": CENTRE[0], "lon": CENTRE[1]})
    assert r.status_code == 200, r.text
    app = client.app
    ids = []
    async with unit_of_work(app.state.sessions) as s:  # jobs first: no engineer yet, so they stay queued
        for k in range(n_jobs):
            tid = f"{zone}-T{k}"
            loc = (CENTRE[0] + rnd.uniform(-0.15, 0.15), CENTRE[1] + rnd.uniform(-0.18, 0.18))
            line = rnd.choice(LINES)
            job = await jobs.open_job(s, app.state.dispatch_cfg, TicketOpenedPayload(
                ticket_id=tid, ticket_no=tid, serial="SN", product_line=line, required_skill=line,
                coverage="warranty", customer_name="bench", phone="1", address="a", region_code=zone,
                lat=loc[0], lon=loc[1], channel="phone", fault_description="f",
                opened_at=clock.now() - timedelta(minutes=5)), clock.now())
            slot = rnd.random()
            hour = 8 if slot < 0.45 else 13 if slot < 0.9 else rnd.choice([9, 10, 11, 14, 15])
            job.earliest_start = datetime.combine(day, datetime.min.time(), clock.BUSINESS_TZ) + timedelta(hours=hour)
            job.service_minutes = rnd.randint(15, 60)
            job.required_skills = {line: rnd.choices([1, 2, 3], [6, 3, 1])[0]}
            ids.append(job.id)
    templates = [{ln: rnd.choice([1, 2, 3]) for ln in rnd.sample(LINES, rnd.choice([2, 3]))} for _ in range(12)]
    for i in range(n_eng):
        home = (CENTRE[0] + rnd.uniform(-0.15, 0.15), CENTRE[1] + rnd.uniform(-0.18, 0.18))
        r = await client.put(f"/v1/engineers/{zone}-E{i:03d}", headers=h, json={
            "name": "bench", "employer": "manufacturer", "skills": templates[i % 12], "zones": [zone],
            "home_lat": home[0], "home_lon": home[1], "max_jobs": 8, "shift_start": "08:00", "shift_end": "18:00"})
        assert r.status_code == 200, r.text


def start_planners(info: devstack.StackInfo, pub: bytes, n: int) -> list[subprocess.Popen[bytes]]:
    procs = []
    for _ in range(n):
        env = {**os.environ, **info.service_env("dispatch"), "APP_ENV": "development",
               "AUTH_PUBLIC_KEY_PEM": pub.decode(), "AUTH_PUBLIC_KEY_FILE": "", "DISPATCH_PLANNER_ONLY": "true",
               "DISPATCH_RUN_BACKGROUND": "false", "DISPATCH_RUN_MIGRATIONS_ON_START": "false"}
        port = devstack.free_port()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "dispatch.main:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log", "--log-level", "warning"], env=env,
            stdout=subprocess.DEVNULL))
        procs[-1].port = port  # type: ignore[attr-defined]
    return procs


async def wait_ready(procs: list[subprocess.Popen[bytes]]) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        for p in procs:
            for _ in range(240):
                try:
                    if (await http.get(f"http://127.0.0.1:{p.port}/readyz")).status_code == 200:  # type: ignore[attr-defined]
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.5)
    await asyncio.sleep(15)  # the group's rebalance: every member holds its partitions


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=60)


async def plan_both(app: Any, zones: tuple[str, str], day: Any, admin: asyncpg.Connection) -> dict[str, Any]:
    ids = []
    t0 = time.perf_counter()
    for z in zones:
        async with unit_of_work(app.state.sessions) as s:
            row, created = await plans.request_plan(s, app.state.dispatch_cfg, zone=z, day=day, requested_by="bench",
                                                    now=clock.now(), today=clock.business_today())
            assert created
            ids.append(row.id)
    while True:
        rows = await admin.fetch("SELECT id, status, created_at, started_at, finished_at, score FROM dispatch.plans"
                                 " WHERE id = ANY($1::text[])", ids)
        if all(r["status"] in ("done", "failed") for r in rows):
            break
        if time.perf_counter() - t0 > 1800:
            raise TimeoutError("plans not done in 30 min")
        await asyncio.sleep(0.5)
    wall = time.perf_counter() - t0
    first = min(r["created_at"] for r in rows)
    return {"wall": wall, "status": [r["status"] for r in rows],
            "spans": [((r["started_at"] - first).total_seconds(), (r["finished_at"] - first).total_seconds())
                      for r in rows]}


async def main(info: devstack.StackInfo, limit: float, n_jobs: int, n_eng: int) -> dict[str, Any]:
    priv, pub = generate_keypair()
    token = mint_token(priv, sub="bench", roles=["admin"])
    admin = await asyncpg.connect(info.admin_dsn())
    zones = zones_apart()
    day = clock.business_today() + timedelta(days=1)
    out: dict[str, Any] = {"zones": zones, "limit": limit, "jobs": n_jobs, "engineers": n_eng}
    try:
        await reset_schema(admin, "dispatch")
        app = create_app(settings_for(info, pub, run_consumers=False, run_relay=True, run_background=False,
                                      plan_time_limit_seconds=limit))
        async with running(app) as client:
            rnd = random.Random(7)
            t0 = time.perf_counter()
            for z in zones:
                await seed(client, token, z, n_jobs, n_eng, rnd, day)
            out["seed_s"] = time.perf_counter() - t0
            for n in (1, 2):
                procs = start_planners(info, pub, n)
                try:
                    await wait_ready(procs)
                    out[f"p{n}"] = await plan_both(app, zones, day, admin)
                    print(n, out[f"p{n}"], flush=True)
                finally:
                    stop(procs)
                async with app.state.sessions() as s:  # the next round plans the same zone-days again
                    await s.execute(sa.update(Job).values(plan_id=None, planned_arrival=None))
                    await s.execute(sa.delete(PlanRow).where(PlanRow.status == "requested"))
                    await s.commit()
    finally:
        await reset_schema(admin, "dispatch")
        await admin.close()
    out["load"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return out


def section(r: dict[str, Any]) -> str:
    p1, p2 = r["p1"], r["p2"]

    def spans(p: dict[str, Any]) -> str:
        return "; ".join(f"{a:.0f}-{b:.0f} s" for a, b in p["spans"])

    return f"""## Two zones, one vs two planner processes (`make bench-planner-scale`)

Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores / Debian 12 / Python {platform.python_version()},
PyVRP 0.14.1; PostgreSQL 15 + Kafka 4.2.0 native (`make run`'s stack). **The machine is shared with other helpers'
test runs** (load average at the end {r['load']}), and each planner process plans in one spawned worker, so two
planners need both cores to themselves to show the full factor.
Two zone-days ({r['jobs']:,} jobs / {r['engineers']} engineers each, booked 上午/下午 slots, skills with levels),
solver limit {r['limit']:.0f} s per plan; planner workers = uvicorn processes with `DISPATCH_PLANNER_ONLY=true` in
the consumer group `planner` on `dispatch.plan.v1` (4 partitions; zones {r['zones'][0]} / {r['zones'][1]} on
partitions 0 / 3). Wall = both plans requested -> both done; spans = each plan claimed -> done, after the first request (one process claims both at once and its one solver worker plans them one after the other).

| planner processes | wall for both zone-days | each plan (start-end) | status |
|---:|---:|---|---|
| 1 | {p1['wall']:.1f} s | {spans(p1)} | {', '.join(p1['status'])} |
| 2 | {p2['wall']:.1f} s | {spans(p2)} | {', '.join(p2['status'])} |

Two processes: {p1['wall'] / p2['wall']:.2f}x faster for two zones (ideal 2x: two zones in the time of one).
"""


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=float, default=30.0, help="solver seconds per plan")
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--engineers", type=int, default=100)
    a = ap.parse_args()
    with devstack.running_stack() as stack:
        res = asyncio.run(main(stack, a.limit, a.jobs, a.engineers))
    text = section(res)
    print(text)
    docblock.splice("planner-scale", text)
