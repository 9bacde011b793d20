"""HTTP API of jobs: listings, detail, the field-engineer app, manual assignment (HTTP only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.idempotency import IdempotencyKey, replay_headers
from aftersales_shared.schemas import Limit, Offset

from ..access import (
    CanActAsEngineer,
    CanAssignJobs,
    CanBookAppointments,
    CanReadDispatchConfig,
    CanReadJobs,
    engineer_id_of,
    sees_customer,
    visible_jobs,
)
from ..config import DispatchConfig
from ..fields import Id
from ..idempotent import idempotent
from . import appointments, queries, service
from .schemas import (
    ActionIn,
    ActionRead,
    AppointmentIn,
    AppointmentRead,
    AssignIn,
    JobDetailRead,
    JobRead,
    JobStatus,
    ServiceRecordRead,
    SlotRead,
    SlotsRead,
)

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


SLOT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 404: {"description": "no such job"},
    409: {"description": "the job is started or closed, has no coordinates, or (booking) the slot is not offered "
                         "(problem+json names start), or the Idempotency-Key was used with another body"}}


@router.get("/jobs/{job_id}/slots", tags=["jobs"], response_model=SlotsRead, responses=SLOT_ERRORS)
async def job_slots(job_id: JobId, session: DbSession, _: CanBookAppointments, request: Request) -> SlotsRead:
    """Appointment slots the plan can keep for the job over the next business days (each checked by a trial
    insertion into an engineer's sequence of that day)."""
    job = await queries.get_job(session, job_id)
    got = await appointments.slots(session, cfg(request), job, clock.now())
    return SlotsRead(job_id=job.id, slots=[SlotRead(start=s.start, end=s.end, label=s.label) for s in got])


@router.post("/jobs/{job_id}/appointment", tags=["jobs"], response_model=AppointmentRead, responses=SLOT_ERRORS)
async def book_appointment(job_id: JobId, body: AppointmentIn, session: DbSession, p: CanBookAppointments,
                           request: Request, key: IdempotencyKey = None) -> JSONResponse:
    """Book an offered slot: it becomes the job's window, the job is re-inserted into a route and
    ``dispatch.job.eta_changed`` (``rescheduled``) is emitted. ``Idempotency-Key`` makes a retry safe."""
    async def run() -> AppointmentRead:
        job = await appointments.book(session, cfg(request), job_id=job_id, start=body.start, end=body.end,
                                      now=clock.now())
        assert job.earliest_start is not None and job.booked_end is not None
        return AppointmentRead(job_id=job.id, ticket_id=job.ticket_id, status=job.status,
                               engineer_id=job.engineer_id, planned_arrival=job.planned_arrival,
                               window_start=job.earliest_start, window_end=job.booked_end, version=job.version)

    return await idempotent(session, p, key, {"job_id": job_id, **body.model_dump(mode="json")}, 200, run)
