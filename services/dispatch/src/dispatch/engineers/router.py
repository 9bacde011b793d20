"""HTTP API of engineers (HTTP only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Limit, Offset

from ..access import CanConfigureDispatch, CanReadJobs, visible_engineers
from ..fields import Id
from . import service
from .schemas import EngineerRead, EngineerSaved, EngineerUpsert

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
