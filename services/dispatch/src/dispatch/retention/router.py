"""HTTP: dispatch's retention job's report of what it archived (R-T4; /v1/retention/runs) for ops and admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Limit, Offset

from ..access import CanReadRetentionRuns
from . import service
from .schemas import RetentionRunRead

router = APIRouter(prefix="/v1", tags=["retention"])


@router.get("/retention/runs", response_model=list[RetentionRunRead], responses={
    401: {"description": "no or invalid token"}, 403: {"description": "role not allowed"},
    422: {"description": "invalid query (problem+json names the field)"}},
    summary="The R-T4 retention job's daily runs, newest first: what each archived (ops, admin)")
async def list_runs(session: DbSession, p: CanReadRetentionRuns, offset: Annotated[Offset, Query()] = 0,
                    limit: Annotated[Limit, Query()] = 100) -> list[dict[str, Any]]:
    return await service.runs(session, limit=limit, offset=offset)
