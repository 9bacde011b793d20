"""HTTP: the retention job's report of what it archived (R-T4; /v1/retention/runs) for ops and finance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Limit, Offset

from ..access import CanReadRetentionRuns, problems
from . import service
from .schemas import RetentionRunRead

router = APIRouter(prefix="/v1", tags=["settlement: retention"])


@router.get("/retention/runs", response_model=list[RetentionRunRead], responses=problems(422))
async def list_runs(session: DbSession, p: CanReadRetentionRuns, offset: Annotated[Offset, Query()] = 0,
                    limit: Annotated[Limit, Query()] = 100) -> list[dict[str, Any]]:
    """The retention job's daily runs, newest first: what each moved to the archive, per dealer."""
    return await service.list_runs(session, limit=limit, offset=offset)
