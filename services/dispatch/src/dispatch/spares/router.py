"""HTTP API of spare units (R-S6): the pool, the overdue list, conversion, a job's spare suggestion (HTTP only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.auth import scope_of
from aftersales_shared.idempotency import IdempotencyKey
from aftersales_shared.schemas import Limit, Offset

from ..access import CanConvertSpares, CanManageSpares, CanReadJobs, CanReadSpares, visible_jobs, visible_spares
from ..config import DispatchConfig
from ..fields import Id
from ..idempotent import idempotent
from ..jobs import service as jobs
from . import service
from .schemas import SpareCollect, SpareConvert, SpareCreate, SpareRead, SpareStatus, SpareSuggestion

router = APIRouter(prefix="/v1", tags=["spares"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid token"}, 403: {"description": "role not allowed"},
    404: {"description": "no such spare unit (or service centre, job) in the caller's scope"},
    422: {"description": "invalid body, path or query (problem+json names the field)"},
}

SpareId = Annotated[Id, Path()]


def cfg(request: Request) -> DispatchConfig:
    config: DispatchConfig = request.app.state.dispatch_cfg
    return config


@router.post("/spares", status_code=201, response_model=SpareRead, responses={
    **ERRORS, 409: {"description": "the serial is already registered (names serial), or the Idempotency-Key was "
                                   "used with another body"}})
async def register_spare(body: SpareCreate, session: DbSession, p: CanManageSpares, request: Request,
                         key: IdempotencyKey = None) -> JSONResponse:
    """A spare unit enters a service centre's pool (available); a dealer registers into its own centres."""
    scope = scope_of(p)

    async def run() -> SpareRead:
        now = clock.now()
        spare = await service.register(session, cfg(request), body,
                                       dealer_scope=scope.dealer_id if scope.kind == "dealer" else None, now=now)
        return service.read(spare, now)

    return await idempotent(session, p, key, body.model_dump(mode="json"), 201, run)


@router.get("/spares", response_model=list[SpareRead], responses=ERRORS)
async def list_spares(session: DbSession, p: CanReadSpares,
                      status: Annotated[SpareStatus | None, Query()] = None,
                      overdue: Annotated[bool, Query(description="only lent spares past their due-back time "
                                                                 "(the ops list), longest overdue first")] = False,
                      product_line: Annotated[Id | None, Query()] = None,
                      centre_id: Annotated[Id | None, Query()] = None,
                      limit: Annotated[Limit, Query(le=500)] = 100, offset: Offset = 0) -> list[SpareRead]:
    """Spare units in the caller's scope: where each is (centre, or the job it is lent to), its condition."""
    now = clock.now()
    rows = await service.list_spares(session, visible=visible_spares(p), status=status, overdue=overdue,
                                     product_line=product_line, centre_id=centre_id, now=now, limit=limit,
                                     offset=offset)
    return [service.read(s, now) for s in rows]


@router.get("/spares/{spare_id}", response_model=SpareRead, responses=ERRORS)
async def get_spare(spare_id: SpareId, session: DbSession, p: CanReadSpares) -> SpareRead:
    return service.read(await service.get_spare(session, spare_id, visible=visible_spares(p)), clock.now())


@router.post("/spares/{spare_id}/convert", response_model=SpareRead, responses={
    **ERRORS, 409: {"description": "the spare is already sold or written off (names to)"}})
async def convert_spare(spare_id: SpareId, body: SpareConvert, session: DbSession, p: CanConvertSpares) -> SpareRead:
    """The spare leaves the pool for good, sold or written off, with a reason; a spare out at a customer ends its
    loan, so its job may close."""
    now = clock.now()
    return service.read(await service.convert(session, spare_id, body, visible=visible_spares(p), now=now), now)


@router.post("/spares/{spare_id}/collect", response_model=SpareRead, responses={
    **ERRORS, 409: {"description": "the spare is not lent, or its job is still open (its engineer collects it); "
                                   "names spare_id"}})
async def collect_spare(spare_id: SpareId, body: SpareCollect, session: DbSession, p: CanManageSpares) -> SpareRead:
    """R-S6: a spare lent to a job that ended without it (cancelled: due back at once) is collected — available
    again, in repair when it comes back faulty."""
    now = clock.now()
    return service.read(await service.collect_ended(session, spare_id, condition=body.condition,
                                                    visible=visible_spares(p), now=now), now)


@router.get("/jobs/{job_id}/spare-suggestion", response_model=SpareSuggestion, responses=ERRORS)
async def spare_suggestion(job_id: Annotated[Id, Path()], session: DbSession, p: CanReadJobs,
                           request: Request) -> SpareSuggestion:
    """Whether the job should get a spare unit now (entitled by its SLA policy, resolve deadline at risk, none out
    yet) and the available spares of its product line it may get, nearest centre first."""
    job, _ = await jobs.job_detail(session, job_id=job_id, visible=visible_jobs(p))
    return await service.suggestion(session, cfg(request), job, clock.now())
