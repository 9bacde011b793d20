"""Live insertion benchmark (issue 14, item 2): the assignment decision through the live path,
``dispatch.jobs.service.place`` (nearest qualified engineers by SQL, their day sequences read from the database,
``routing_insert.insert_job``, engineer rows locked, the decision re-made on them, job/offer/events written), with
2,000 engineers and ~8,000 jobs already on their routes. Each sample runs in its own transaction, rolled back, so
every decision sees the same routes.

Baselines in the same run: every sample job is decided by the path before the issue 14 follow-up too
(``live_insert_before.place_before``: route data read twice, durations read each decision, one query per moved
ETA) and by the previous round's path (``live_insert_previous.place``: held jobs as ORM objects, the changed routes
checked column by column), each path first in turn, so all see the same routes and the same load of a shared
machine; the decisions (engineer, arrival) are compared.

Run: make bench-live-insert [BENCH_ARGS=--quick]   (prints the numbers; docs/benchmarks.md keeps them)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from datetime import datetime, timedelta
from datetime import time as dtime

import asyncpg

from aftersales_shared.auth import generate_keypair
from aftersales_shared.clock import BUSINESS_TZ
from aftersales_shared.dev import devstack
from aftersales_shared.testing.plugin import reset_schema, running
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.models import Job

from .bench_dispatch import settings_for
from .live_insert_before import place_before
from .live_insert_previous import place as place_previous

CENTRE = (31.2304, 121.4737)
LINES = [f"line{i}" for i in range(8)]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def seed(admin: asyncpg.Connection, n_eng: int, per_eng: int, regions: list[str], zones_each: int,
               day: datetime, rnd: random.Random) -> None:
    await reset_schema(admin, "dispatch")
    engs, js = [], []
    for i in range(n_eng):
        lat, lon = CENTRE[0] + rnd.uniform(-0.4, 0.4), CENTRE[1] + rnd.uniform(-0.4, 0.4)
        zones = rnd.sample(regions, min(zones_each, len(regions)))
        engs.append((f"E{i}", "bench", "manufacturer", json.dumps({LINES[0]: 3, rnd.choice(LINES): 2}),
                     json.dumps(zones), lat, lon, "[]", "[]", 8, 0, True))
        for k in range(per_eng):  # a day's sequence: one job an hour from 09:00, near home
            arrive = day + timedelta(hours=k)
            js.append((f"J{i}-{k}", f"T{i}-{k}", f"T{i}-{k}", "SN", LINES[0], LINES[0], "warranty", "c", "p", "a",
                       zones[0], "county", lat + rnd.uniform(-0.05, 0.05), lon + rnd.uniform(-0.05, 0.05), "f",
                       day - timedelta(hours=12), day - timedelta(hours=12), "accepted", f"E{i}", False,
                       day + timedelta(hours=36), day, arrive))
    await admin.executemany(
        "INSERT INTO dispatch.engineers (id, name, employer, skills, zones, home_lat, home_lon, shifts, absences,"
        " max_jobs, active_jobs, active) VALUES ($1,$2,$3,$4::jsonb,$5::jsonb,$6,$7,$8::jsonb,$9::jsonb,$10,$11,$12)",
        engs)
    await admin.executemany(
        "INSERT INTO dispatch.jobs (id, ticket_id, ticket_no, serial, product_line, required_skill, coverage,"
        " customer_name, phone, address, region_code, zone_class, lat, lon, fault_description, opened_at,"
        " created_at, status, engineer_id, holds_capacity, arrive_due, updated_at, planned_arrival, pauses,"
        " warnings_sent, sla_met, last_action_at)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,'[]','[]','{}',"
        " $17)", js)
    await admin.execute("ANALYZE dispatch.engineers; ANALYZE dispatch.jobs")


async def decisions(app, day: datetime, regions: list[str], samples: int, rnd: random.Random) -> dict:
    """Each sample job decided by the path before (``live_insert_before.place_before``), the previous round's
    (``live_insert_previous.place``) and ``place`` (in turn first, each in its own rolled-back transaction): all
    see the same routes and the same machine load; the same engineer and arrival are checked."""
    cfg = app.state.dispatch_cfg
    now = day
    paths = {"before": place_before, "previous": place_previous, "after": jobs.place}
    times: dict[str, list[float]] = {label: [] for label in paths}
    placed = dict.fromkeys(paths, 0)
    differ = 0
    labels = list(paths)
    for n in range(samples):
        region = rnd.choice(regions)
        lat, lon = CENTRE[0] + rnd.uniform(-0.4, 0.4), CENTRE[1] + rnd.uniform(-0.4, 0.4)
        got = {}
        for label in labels[n % 3:] + labels[:n % 3]:  # each path first in turn
            async with app.state.sessions() as s:
                await s.begin()
                job = Job(id=f"NEW-{n}", ticket_id=f"NT-{n}", ticket_no="x", serial="SN", product_line=LINES[0],
                          required_skill=LINES[0], coverage="warranty", customer_name="c", phone="p", address="a",
                          region_code=region, zone_class="county", lat=lat, lon=lon, fault_description="f",
                          opened_at=now, created_at=now, status="queued", version=1, last_action_at=now, pauses=[],
                          warnings_sent=[], sla_met={}, updated_at=now, holds_capacity=False,
                          arrive_due=now + timedelta(hours=48))
                s.add(job)
                await s.flush()
                t = time.perf_counter()
                ins = await paths[label](s, cfg, job, now)
                times[label].append((time.perf_counter() - t) * 1000)
                placed[label] += ins is not None
                got[label] = (ins.engineer_id, ins.arrival_s) if ins is not None else None
                await s.rollback()
        differ += len({got[label] for label in labels}) > 1
    return {label: {"samples": samples, "placed": placed[label], "p50": pct(xs, 50), "p95": pct(xs, 95),
                    "p99": pct(xs, 99), "max": max(xs)} for label, xs in times.items()} | {"decisions_differ": differ}


async def main(info: devstack.StackInfo, quick: bool) -> None:
    rnd = random.Random(14)
    _, pub = generate_keypair()
    admin = await asyncpg.connect(info.admin_dsn())
    day = datetime.combine(datetime.now(BUSINESS_TZ).date() + timedelta(days=1), dtime(9), BUSINESS_TZ)
    samples = 200 if quick else 1000
    try:
        app = create_app(settings_for(info, pub, run_consumers=False, run_relay=False, run_background=False))
        async with running(app):
            for label, regions, zones_each in (("40 regions, 6 per engineer", [f"31{i:04d}" for i in range(1, 41)], 6),
                                               ("one zone, all 2,000 engineers", ["310101"], 1)):
                await seed(admin, 2000, 4, regions, zones_each, day, rnd)
                await decisions(app, day, regions, 20, rnd)  # warm-up
                print(f"{label}: load average at the start {os.getloadavg()}")
                r = await decisions(app, day, regions, samples, rnd)
                for path in ("before", "previous", "after"):
                    nums = {k: round(v, 2) if isinstance(v, float) else v for k, v in r[path].items()}
                    print(f"{label}, {path}: {json.dumps(nums)}")
                print(f"{label}: decisions that differ between the paths: {r['decisions_differ']}")
                print(f"{label}: load average at the end {os.getloadavg()}")
    finally:
        await admin.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer samples (same data sizes)")
    quick = ap.parse_args().quick
    with devstack.running_stack() as stack:
        asyncio.run(main(stack, quick))
