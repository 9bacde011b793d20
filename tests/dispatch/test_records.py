"""Records kept as the contract says (R-T4, issue 16 item 6) in dispatch, against the real database: a completed
job's service record cannot be updated or deleted — not even by the service's own database role (migration
dispatch_0015); a correction is a new record (a reopened ticket's next job has its own)."""

from __future__ import annotations

import asyncpg
import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.dev import devstack
from aftersales_shared.testing.plugin import running
from dispatch.jobs import service as jobs
from dispatch.main import create_app

from .conftest import RECORD, action, engineer_body, ticket, uniq

pytestmark = pytest.mark.integration


async def test_R_T4_a_completed_jobs_service_record_cannot_be_updated_or_deleted_by_the_service_role(
        clean, dispatch_settings, admin, auth_headers, stack):
    async with running(create_app(dispatch_settings())) as client:
        skill, eng_id = uniq("wash"), uniq("E")
        r = await client.put(f"/v1/engineers/{eng_id}", json=engineer_body(skill, dealer_id="D1"), headers=admin)
        assert r.status_code == 200, r.text
        async with unit_of_work(client.app.state.sessions) as s:
            job = await jobs.open_job(s, client.app.state.dispatch_cfg, ticket(skill), clock.now())
        eng = auth_headers("engineer", sub=eng_id, engineer_id=eng_id)
        for body in (action("accept"), action("arrive", lat=31.23, lon=121.47), action("complete", record=RECORD)):
            r = await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)
            assert r.status_code == 200, r.text
        assert r.json()["status"] == "completed"

    service = await asyncpg.connect(host="127.0.0.1", port=stack.pg_port, database=devstack.DB_NAME,
                                    user="dispatch", password=stack.service_password("dispatch"))
    try:
        before = await service.fetchrow("SELECT * FROM dispatch.service_records WHERE job_id = $1", job.id)
        assert before is not None
        for sql in ("UPDATE dispatch.service_records SET work_done = 'rewritten' WHERE job_id = $1",
                    "UPDATE dispatch.service_records SET labour_minutes = labour_minutes + 1 WHERE job_id = $1",
                    "DELETE FROM dispatch.service_records WHERE job_id = $1"):
            with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="R-T4"):
                await service.execute(sql, job.id)
        after = await service.fetchrow("SELECT * FROM dispatch.service_records WHERE job_id = $1", job.id)
        assert dict(after) == dict(before)
    finally:
        await service.close()
