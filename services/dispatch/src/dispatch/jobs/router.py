"""HTTP API of jobs: listings, detail, the field-engineer app, manual assignment (HTTP only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.idempotency import replay_headers
from aftersales_shared.schemas import Limit, Offset

from ..access import (
    CanActAsEngineer,
    CanAssignJobs,
    CanReadDispatchConfig,
    CanReadJobs,
    engineer_id_of,
    sees_customer,
    visible_jobs,
)
from ..config import DispatchConfig
from ..fields import Id
from . import service
from .schemas import ActionIn, ActionRead, AssignIn, JobDetailRead, JobRead, JobStatus, ServiceRecordRead

router = APIRouter(prefix="/v1")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid token"}, 403: {"description": "role not allowed"},
    404: {"description": "no such job in the caller's scope"},
    422: {"description": "invalid body, path or query (problem+json names the field)"},
}
ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 409: {"description": "not allowed in the job's status, offer closed, or client_action_id reused"},
    422: {"description": "invalid body, or device_time before the job's last action or after the server clock "
                         "plus the allowed skew (problem+json names the field)"}}
ASSIGN_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 404: {"description": "no such job or engineer"},
    409: {"description": "the job moved since the version sent (names the current assignee and version), "
                         "is past assignment, or the engineer is at capacity"}}

JobId = Annotated[Id, Path()]


def cfg(request: Request) -> DispatchConfig:
    config: DispatchConfig = request.app.state.dispatch_cfg
    return config


@router.get("/jobs", tags=["jobs"], response_model=list[JobRead], responses=ERRORS)
async def list_jobs(session: DbSession, p: CanReadJobs,
                    status: Annotated[JobStatus | None, Query()] = None,
                    engineer_id: Annotated[Id | None, Query()] = None,
                    ticket_id: Annotated[Id | None, Query()] = None,
                    limit: Annotated[Limit, Query(le=500)] = 100, offset: Offset = 0) -> list[JobRead]:
    """Jobs in the caller's scope, newest first; ``?ticket_id=`` lists every visit's job."""
    jobs = await service.list_jobs(session, visible=visible_jobs(p), status=status, engineer_id=engineer_id,
                                   ticket_id=ticket_id, limit=limit, offset=offset)
    return [JobRead.of(j, clear=sees_customer(p, j)) for j in jobs]


@router.get("/me/jobs", tags=["app"], response_model=list[JobRead], responses=ERRORS)
async def my_jobs(session: DbSession, p: CanActAsEngineer, include_closed: bool = False) -> list[JobRead]:
    """The calling engineer's jobs (open ones unless include_closed)."""
    jobs = await service.engineer_jobs(session, engineer_id=engineer_id_of(p), include_closed=include_closed)
    return [JobRead.of(j, clear=sees_customer(p, j)) for j in jobs]


@router.get("/queue", tags=["jobs"], response_model=list[JobRead], responses=ERRORS)
async def queue(session: DbSession, p: CanReadDispatchConfig,
                limit: Annotated[Limit, Query(le=500)] = 100) -> list[JobRead]:
    """Jobs waiting for an engineer, most urgent first."""
    return [JobRead.of(j, clear=sees_customer(p, j)) for j in await service.waiting_jobs(session, limit=limit)]


@router.get("/jobs/{job_id}", tags=["jobs"], response_model=JobDetailRead, responses=ERRORS)
async def get_job(job_id: JobId, session: DbSession, p: CanReadJobs) -> JobDetailRead:
    """Job detail: customer contact (masked unless the caller must call the customer), SLA deadlines, the
    service record once completed."""
    job, rec = await service.job_detail(session, job_id=job_id, visible=visible_jobs(p))
    clear = sees_customer(p, job)
    record = None if rec is None else ServiceRecordRead.model_validate(rec).masked(clear)
    return JobDetailRead.of(job, clear=clear, service_record=record)


@router.post("/jobs/{job_id}/actions", tags=["app"], response_model=ActionRead, responses=ACTION_ERRORS)
async def job_action(job_id: JobId, body: ActionIn, session: DbSession, p: CanActAsEngineer, request: Request,
                     response: Response) -> dict[str, Any]:
    """One app action (accept, decline, depart, arrive, pause, resume, remote_resolve, lend/collect spare,
    complete). A repeated client_action_id is a no-op returning the first result (``Idempotent-Replayed``)."""
    result, replayed = await service.perform_action(session, cfg(request), job_id=job_id,
                                                    engineer_id=engineer_id_of(p), body=body, now=clock.now())
    response.headers.update(replay_headers(replayed))
    return result


@router.post("/jobs/{job_id}/assign", tags=["jobs"], response_model=JobRead, responses=ASSIGN_ERRORS)
async def assign(job_id: JobId, body: AssignIn, session: DbSession, p: CanAssignJobs, request: Request) -> JobRead:
    """Manual assignment by a dispatcher, against the job's ``version`` as the dispatcher last read it."""
    job = await service.manual_assign(session, cfg(request), job_id=job_id, engineer_id=body.engineer_id,
                                      expected_version=body.version, now=clock.now())
    return JobRead.of(job, clear=sees_customer(p, job))
