"""HTTP API of engineers (HTTP only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.idempotency import IdempotencyKey
from aftersales_shared.schemas import Limit, Offset

from ..access import (
    CanConfigureDispatch,
    CanReadEngineer,
    CanReadJobs,
    CanRecordAbsences,
    visible_engineer,
    visible_engineers,
)
from ..config import DispatchConfig
from ..fields import Id
from ..idempotent import idempotent
from . import service
from .schemas import AbsenceRead, AbsenceRecord, EngineerRead, EngineerSaved, EngineerUpsert

router = APIRouter(prefix="/v1", tags=["engineers"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid token"}, 403: {"description": "role not allowed"},
    422: {"description": "invalid body (problem+json names the field)"},
}


@router.put("/engineers/{engineer_id}", response_model=EngineerSaved, responses=ERRORS)
async def put_engineer(engineer_id: Annotated[Id, Path()], body: EngineerUpsert, session: DbSession,
                       _: CanConfigureDispatch) -> dict[str, Any]:
    """Create or update an engineer (skills per product line, zones, shifts, absences, capacity)."""
    return await service.upsert_engineer(session, engineer_id=engineer_id, body=body)


@router.get("/engineers", response_model=list[EngineerRead], responses=ERRORS)
async def list_engineers(session: DbSession, p: CanReadJobs, limit: Limit = 100,
                         offset: Offset = 0) -> list[EngineerRead]:
    """Engineers in the caller's scope: all (staff), a dealer's own, an engineer itself."""
    rows = await service.list_engineers(session, visible=visible_engineers(p), limit=limit, offset=offset)
    return [EngineerRead.model_validate(e) for e in rows]


ONE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 404: {"description": "no such engineer in the caller's scope"}}


@router.get("/engineers/{engineer_id}", response_model=EngineerRead, responses=ONE_ERRORS)
async def get_engineer(engineer_id: Annotated[Id, Path()], session: DbSession, p: CanReadEngineer) -> EngineerRead:
    """One engineer in the caller's scope; the notifications service reads any engineer's display name (no
    phone is kept here; the last known position is not shown to it)."""
    e = await service.get_engineer(session, engineer_id=engineer_id, visible=visible_engineer(p))
    read = EngineerRead.model_validate(e)
    if p.roles == {"notifier"}:
        read = read.model_copy(update={"last_lat": None, "last_lon": None})
    return read


@router.post("/engineers/{engineer_id}/absences", status_code=201, response_model=AbsenceRead, responses={
    **ONE_ERRORS, 409: {"description": "the Idempotency-Key was used with another body"}})
async def record_absence(engineer_id: Annotated[Id, Path()], body: AbsenceRecord, session: DbSession,
                         p: CanRecordAbsences, request: Request, key: IdempotencyKey = None) -> JSONResponse:
    """The engineer is absent on a day: no route uses that day any more, and the zone-days the engineer's work
    touches are re-planned (one new plan version per zone-day, debounced)."""
    cfg: DispatchConfig = request.app.state.dispatch_cfg

    async def run() -> AbsenceRead:
        got = await service.record_absence(session, cfg, engineer_id=engineer_id, body=body, now=clock.now())
        return AbsenceRead(**got)

    return await idempotent(session, p, key, {"engineer_id": engineer_id, **body.model_dump(mode="json")}, 201, run)
