"""The SLA watcher sees every open job (issue 14, item 5), against the real database.

2,000 open jobs are seeded with SQL (rows built through the model and ``sla.refresh_deadlines``, as ``open_job``
builds them), deadlines spread so that a known subset is due; the due ones are the most recently updated, which
today's scan (the 500 least-recently-updated open jobs) never reached. Every due warning and breach
(R-S1 respond, R-S2 arrive; only the highest warning crossed) is emitted exactly once across repeated ticks and
two watchers racing; jobs not due, paused before their alert, or closed get nothing. The R-S8 escalation is its
own ``dispatch.job.escalated``, once, never a second respond breach.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from datetime import timedelta

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.plugin import running
from dispatch import background
from dispatch.domain.sla import due_alerts
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.models import Job, SlaPolicyRow
from dispatch.sla import service as sla

from .conftest import RECORD, action, engineer_body, ticket, uniq

pytestmark = pytest.mark.integration

M = timedelta(minutes=1)
OPEN_JOBS = 2000
COLUMNS = ("id", "ticket_id", "visit", "ticket_no", "serial", "product_line", "required_skill", "coverage",
           "customer_name", "phone", "address", "region_code", "zone_class", "lat", "lon", "fault_description",
           "opened_at", "created_at", "status", "engineer_id", "engineer_dealer_id", "holds_capacity", "policy_id",
           "calendar_code", "respond_due", "arrive_due", "resolve_due", "responded_at", "arrived_at",
           "resolved_at", "pauses", "warnings_sent", "sla_met", "last_action_at", "version", "routing_escalated",
           "routing_checked", "next_due_at", "updated_at")
JSON_COLUMNS = {"pauses", "warnings_sent", "sla_met"}


def _job(n: int, *, opened, status="queued", responded=None, pause_at=None, updated) -> Job:
    return Job(id=f"W{n:05d}", ticket_id=f"WT{n:05d}", visit=1, ticket_no=f"WT{n:05d}", serial="SN",
               product_line="hvac", required_skill="hvac", coverage="warranty", customer_name="Li Lei",
               phone="+8613800000000", address="1 Renmin Rd", region_code="310101", zone_class="in_zone",
               lat=31.23, lon=121.47, fault_description="no cooling", opened_at=opened, created_at=opened,
               status=status, engineer_id=None, engineer_dealer_id=None, holds_capacity=False,
               responded_at=responded, arrived_at=None, resolved_at=None,
               pauses=[{"start": pause_at.isoformat(), "end": None, "reason": "waiting_customer",
                        "resume_status": status}] if pause_at else [],
               warnings_sent=[], sla_met={}, last_action_at=opened, version=1, routing_escalated=False,
               routing_checked=False, updated_at=updated)


async def _seed(app, admin_db, now):
    """2,000 open jobs (+ 100 closed) on the in-zone default policy (24x7: respond 1 h, arrive 2 h, warnings at
    0.5 and 0.8). Returns {job id: group}."""
    async with app.state.sessions() as s:
        prow = await s.get(SlaPolicyRow, "default-in_zone")
        assert prow is not None
        _, cal = await sla.policy_and_calendar(s, Job(zone_class="in_zone", contract_code=None))
    rnd = random.Random(14)
    groups: dict[str, str] = {}
    rows: list[Job] = []
    old = now - timedelta(days=1)

    def add(group: str, **kw) -> None:
        job = _job(len(rows), **kw)
        sla.refresh_deadlines(job, prow, cal, kw.get("pause_at") or kw["opened"])
        if group == "closed":
            job.status, job.next_due_at = "completed", now - 10 * M  # a stale instant must not matter
        groups[job.id] = group
        rows.append(job)

    # not due: young jobs (first warning at 30 min) and jobs that responded (next: arrive 0.5 at 60 min)
    for _ in range(900):
        add("young", opened=now - rnd.uniform(0.5, 29.5) * M, updated=old)
    for _ in range(200):
        opened = now - rnd.uniform(31, 58) * M
        add("responded", opened=opened, status="accepted", responded=opened + 5 * M, updated=old)
    # paused before their first warning: the alert waits for the resume
    for _ in range(100):
        opened = now - rnd.uniform(40, 300) * M
        add("paused", opened=opened, status="paused", pause_at=opened + 20 * M, updated=old)
    # due, most recently updated: what today's scan never reached
    for _ in range(200):
        add("respond_half", opened=now - rnd.uniform(31, 47.5) * M, updated=now)
    for _ in range(200):
        add("respond_0.8", opened=now - rnd.uniform(48.5, 59.5) * M, updated=now)
    for _ in range(200):
        add("respond_breach_arrive_half", opened=now - rnd.uniform(61, 95) * M, updated=now)
    tie = now - 200 * M  # 200 jobs due at the same instant: the keyset's id tiebreak
    for _ in range(200):
        add("all_breached", opened=tie, updated=now)
    for _ in range(100):
        add("closed", opened=now - 300 * M, updated=now)
    assert sum(g != "closed" for g in groups.values()) == OPEN_JOBS
    await admin_db.copy_records_to_table("jobs", schema_name="dispatch", columns=list(COLUMNS), records=[
        tuple(json.dumps(getattr(j, c)) if c in JSON_COLUMNS else getattr(j, c) for c in COLUMNS) for j in rows])
    await admin_db.execute("ANALYZE dispatch.jobs")
    return groups, rows, prow, cal


def _expected(rows, prow, cal, now, sent: dict[str, set[str]]) -> dict[str, list[tuple]]:
    """The reference: what checking every open job at ``now`` would emit (today's rule, every job reached)."""
    pol = sla.policy_of(prow)
    out: dict[str, list[tuple]] = {}
    for job in rows:
        if job.status not in ("queued", "accepted", "paused"):
            continue
        clocks = sla.job_clocks(job)
        for c in clocks.clocks(pol):
            alerts, keys = due_alerts(cal, c, clocks.pauses, now, pol.warn_fractions, sent.setdefault(job.id, set()))
            sent[job.id] |= keys
            out.setdefault(job.id, []).extend((a.kind, a.milestone, a.fraction) for a in alerts)
    return {k: v for k, v in out.items() if v}


async def _alerts(admin_db) -> dict[str, list[tuple]]:
    rows = await admin_db.fetch("SELECT key, event_type, payload FROM dispatch.outbox WHERE event_type IN "
                                "('dispatch.job.sla_warning', 'dispatch.job.sla_breached') ORDER BY id")
    out: dict[str, list[tuple]] = {}
    for r in rows:
        p = json.loads(r["payload"])["payload"]
        kind = "breach" if r["event_type"].endswith("breached") else "warning"
        out.setdefault(r["key"], []).append((kind, p["milestone"], p["fraction"]))
    return out


async def test_R_S1_R_S2_watcher_with_2000_open_jobs_alerts_every_due_job_once_across_ticks_and_racing_watchers(
        clean, dispatch_settings, admin_db):
    async with running(create_app(dispatch_settings())) as client:
        sessions = client.app.state.sessions
        now = clock.now()
        groups, rows, prow, cal = await _seed(client.app, admin_db, now)
        sent: dict[str, set[str]] = {}
        expected = _expected(rows, prow, cal, now, sent)
        # the subset due is the one the seed meant, and today's 500-row scan would not have reached it
        assert {groups[j] for j in expected} == {"respond_half", "respond_0.8", "respond_breach_arrive_half",
                                                 "all_breached"}
        assert len(expected) == 800
        assert Counter(tuple(v) for k, v in expected.items() if groups[k] == "respond_half") == {
            (("warning", "respond", 0.5),): 200}
        assert Counter(tuple(v) for k, v in expected.items() if groups[k] == "respond_0.8") == {
            (("warning", "respond", 0.8),): 200}  # only the highest warning crossed
        assert Counter(tuple(v) for k, v in expected.items() if groups[k] == "all_breached") == {
            (("breach", "respond", None), ("breach", "arrive", None)): 200}

        # two watchers race over the same tick, in batches of 500 on separate connections
        first = await asyncio.gather(background.watch_sla(sessions, now), background.watch_sla(sessions, now))
        assert sum(first) == sum(len(v) for v in expected.values())
        assert await background.watch_sla(sessions, now) == 0  # the same tick again: nothing new
        assert await _alerts(admin_db) == expected

        # 45 minutes later, racing again: the next alerts of every job, still once each
        later = now + 45 * M
        more = _expected(rows, prow, cal, later, sent)
        assert {groups[j] for j in more} >= {"young", "responded", "respond_half"}
        second = await asyncio.gather(background.watch_sla(sessions, later), background.watch_sla(sessions, later))
        assert sum(second) == sum(len(v) for v in more.values())
        assert await background.watch_sla(sessions, later) == 0
        got = await _alerts(admin_db)
        assert got == {k: expected.get(k, []) + more.get(k, []) for k in expected.keys() | more.keys()}
        # exactly once per milestone and kind: no (job, alert) twice, nothing for paused or closed jobs
        flat = [(k, a) for k, v in got.items() for a in v]
        assert len(flat) == len(set(flat))
        assert not {groups[k] for k in got} & {"paused", "closed"}
        # every open job's next instant lies after the tick (or nothing is pending)
        behind = await admin_db.fetchval(
            "SELECT count(*) FROM dispatch.jobs WHERE status <> 'completed' AND next_due_at <= $1", later)
        assert behind == 0


async def test_R_S8_escalation_is_its_own_event_once_and_never_a_second_respond_breach(
        clean, dispatch_settings, admin_db):
    async with running(create_app(dispatch_settings())) as client:
        cfg, sessions = client.app.state.dispatch_cfg, client.app.state.sessions
        now = clock.now()
        async with unit_of_work(sessions) as s:  # nobody has the skill: the job stays queued
            job = await jobs.open_job(s, cfg, ticket(uniq("none"), opened_at=now - 5 * 60 * M), now)
        for _ in range(2):
            await background.watch_sla(sessions, now)
            async with unit_of_work(sessions) as s:
                await sla.check_routing(s, cfg, now + 5 * 60 * M)  # R-S8 counts from receipt
        rows = await admin_db.fetch("SELECT event_type, payload FROM dispatch.outbox WHERE key = $1", job.id)
        types = Counter(r["event_type"] for r in rows)
        assert types["dispatch.job.escalated"] == 1
        breaches = [json.loads(r["payload"])["payload"]["milestone"] for r in rows
                    if r["event_type"] == "dispatch.job.sla_breached"]
        assert breaches.count("respond") == 1  # the watcher's, once; the escalation adds none
        escalated = next(json.loads(r["payload"])["payload"] for r in rows
                         if r["event_type"] == "dispatch.job.escalated")
        assert escalated["reason"] == "unrouted"
        assert escalated["deadline"].startswith((job.created_at + cfg.route_check).date().isoformat())


async def test_next_due_follows_milestones_pause_resume_and_completion(clean, dispatch_settings, admin,
                                                                       auth_headers, admin_db):
    skill = uniq("hvac")

    async def next_due(job_id):
        return await admin_db.fetchval("SELECT next_due_at FROM dispatch.jobs WHERE id = $1", job_id)

    async with running(create_app(dispatch_settings())) as client:
        await client.put("/v1/engineers/E1", json=engineer_body(skill), headers=admin)
        async with unit_of_work(client.app.state.sessions) as s:
            job = await jobs.open_job(s, client.app.state.dispatch_cfg, ticket(skill), clock.now())
        opened = job.opened_at
        assert await next_due(job.id) == opened + 30 * M  # urban (core province): respond 1 h, warning at 0.5
        eng = auth_headers("engineer", sub="E1", engineer_id="E1")
        url = f"/v1/jobs/{job.id}/actions"
        assert (await client.post(url, json=action("accept"), headers=eng)).status_code == 200
        assert await next_due(job.id) == opened + 12 * 60 * M  # respond met: arrive (24 h) warning at 0.5
        assert (await client.post(url, json=action("depart"), headers=eng)).status_code == 200
        assert (await client.post(url, json=action("pause", reason="waiting_customer"), headers=eng)).status_code == 200
        assert await next_due(job.id) is None  # paused before the alert: it waits for the resume
        assert (await client.post(url, json=action("resume"), headers=eng)).status_code == 200
        resumed = await next_due(job.id)
        assert resumed is not None and resumed >= opened + 12 * 60 * M  # the pause pushed it out
        assert (await client.post(url, json=action("arrive", lat=31.23, lon=121.47), headers=eng)).status_code == 200
        assert (await client.post(url, json=action("complete", record=RECORD), headers=eng)).status_code == 200
        assert await next_due(job.id) is None  # closed: nothing more to come


async def test_R_S8_routing_counts_from_receipt_not_from_a_backdated_report(clean, dispatch_settings, admin_db):
    """R-S7 starts the SLA clock at the customer's report (``reported_at``, keyed in 5 h late here), but R-S8's
    internal routing (2 h check, 4 h escalation) counts from when dispatch received the job: a late-keyed report
    is not flagged nor escalated at once."""
    async with running(create_app(dispatch_settings())) as client:
        cfg, sessions = client.app.state.dispatch_cfg, client.app.state.sessions
        now = clock.now()
        late = ticket(uniq("none")).model_copy(update={"reported_at": now - 5 * 60 * M, "opened_at": now})
        async with unit_of_work(sessions) as s:  # nobody has the skill: the job stays queued
            job = await jobs.open_job(s, cfg, late, now)
        assert job.opened_at == now - 5 * 60 * M  # R-S7: the SLA clock starts at the report
        async with unit_of_work(sessions) as s:
            assert await sla.check_routing(s, cfg, now) == 0
        flags = "SELECT routing_checked, routing_escalated FROM dispatch.jobs WHERE id = $1"
        assert tuple(await admin_db.fetchrow(flags, job.id)) == (False, False)
        async with unit_of_work(sessions) as s:
            assert await sla.check_routing(s, cfg, now + 3 * 60 * M) == 0
        assert tuple(await admin_db.fetchrow(flags, job.id)) == (True, False)
        async with unit_of_work(sessions) as s:
            assert await sla.check_routing(s, cfg, now + 5 * 60 * M) == 1
        assert tuple(await admin_db.fetchrow(flags, job.id)) == (True, True)
