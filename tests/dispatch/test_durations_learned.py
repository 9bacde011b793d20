"""Service durations learned from completed jobs' labour minutes (issue 14 item 1), against the real database.

Completions are stored as the app stores them (a ``service_records`` row, the job completed); the
``dispatch.job.completed`` handler (``consumers.on_job_completed``, the consumer group ``durations``) re-learns the
job's product line x fault class and the line from them: nothing below the minimum sample count, then a trimmed mean
that a forgotten timer does not move; a redelivered event changes nothing; a manual override wins; the durations API
shows the learned value and sample count; a plan's service minutes follow.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.events import dispatch as ev
from aftersales_shared.testing.plugin import running
from dispatch import consumers
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from dispatch.models import Job, ServiceRecord

from .conftest import ticket, uniq

pytestmark = pytest.mark.integration


async def complete(client, skill: str, labour: int, *, fault_class: str | None = "compressor",
                   remote: bool = False, engineer_id: str | None = None) -> str:
    """One job of the line opened and completed with a service record (by ``engineer_id``), then its completed
    event handled."""
    app = client.app
    async with unit_of_work(app.state.sessions) as s:
        job = await jobs.open_job(s, app.state.dispatch_cfg, ticket(skill), clock.now())
        job.fault_class, job.status = fault_class, "completed"
        s.add(ServiceRecord(job_id=job.id, engineer_id=engineer_id, work_done="fixed", root_cause=None, parts_used=[],
                            labour_minutes=labour, customer_name=None, signature_ref=None, photos=[], remote=remote,
                            completed_at=clock.now()))
        job_id = job.id
    await handle(client, job_id)
    return job_id


async def handle(client, job_id: str) -> None:
    async with unit_of_work(client.app.state.sessions) as s:
        job = await s.scalar(select(Job).where(Job.id == job_id))
        assert job is not None
        event = ev.JobCompleted(aggregate_id=job_id, payload=ev.JobCompletedPayload(
            job_id=job_id, ticket_id=job.ticket_id, at=clock.now(), serial=job.serial,
            product_line=job.product_line, coverage=job.coverage, home_visit=True, work_done="fixed"))
        await consumers.on_job_completed(s, event, cfg=client.app.state.dispatch_cfg)


def row(listed, skill, fault_class):
    return next(d for d in listed if (d["product_line"], d["fault_class"]) == (skill, fault_class))


async def test_durations_are_learned_from_completions_with_a_minimum_count_and_an_override_wins(
        clean, dispatch_settings, admin):
    skill = uniq("hvac")
    settings = dispatch_settings(duration_min_samples=5, duration_window=50, duration_trim=0.2)
    async with running(create_app(settings)) as client:
        r = await client.put("/v1/service-durations", headers=admin,
                             json={"product_line": skill, "fault_class": "compressor", "minutes": 120})
        assert r.status_code == 200, r.text
        assert r.json() == {"product_line": skill, "fault_class": "compressor", "skill_level": None, "minutes": 120,
                            "override": False,
                            "learned_minutes": None, "samples": 0, "effective_minutes": 120}
        for labour in (40, 50, 60, 70):
            await complete(client, skill, labour)
        listed = (await client.get("/v1/service-durations", headers=admin)).json()
        got = row(listed, skill, "compressor")
        assert (got["learned_minutes"], got["samples"], got["effective_minutes"]) == (None, 4, 120)  # below 5

        last = await complete(client, skill, 9000)  # a forgotten timer: trimmed away (20 % of 5 = 1 each side)
        await complete(client, skill, 30, remote=True)  # a remote resolution: no service on site, not a sample
        listed = (await client.get("/v1/service-durations", headers=admin)).json()
        got = row(listed, skill, "compressor")
        assert (got["learned_minutes"], got["samples"], got["effective_minutes"]) == (60, 5, 60)
        assert row(listed, skill, None)["samples"] == 5  # the line as a whole, no configured value
        assert row(listed, skill, None)["minutes"] is None

        await handle(client, last)  # redelivery: recomputed from the records, the same value
        assert (await client.get("/v1/service-durations", headers=admin)).json() == listed

        # a plan uses the learned value for the line x fault class
        async with unit_of_work(client.app.state.sessions) as s:
            job = await jobs.open_job(s, client.app.state.dispatch_cfg, ticket(skill), clock.now())
            job.fault_class = "compressor"
            jid = job.id
        assert (await client.get(f"/v1/jobs/{jid}/planning", headers=admin)).json()["service_minutes"] == 60

        # a manual override wins over the learned value
        r = await client.put("/v1/service-durations", headers=admin, json={
            "product_line": skill, "fault_class": "compressor", "minutes": 95, "override": True})
        assert r.json()["effective_minutes"] == 95 and r.json()["learned_minutes"] == 60
        assert (await client.get(f"/v1/jobs/{jid}/planning", headers=admin)).json()["service_minutes"] == 95
