"""HTTP API of reports (HTTP only)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter

from aftersales_shared.app import DbSession

from ..access import CanReadSlaReports, visible_jobs
from . import service
from .schemas import Dimension, SlaAttainmentRead

router = APIRouter(prefix="/v1", tags=["reports"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid token"}, 403: {"description": "role not allowed"},
    422: {"description": "invalid dates (problem+json names the field)"},
}


@router.get("/reports/sla-attainment", response_model=SlaAttainmentRead, responses=ERRORS)
async def sla_attainment(session: DbSession, p: CanReadSlaReports, date_from: date, date_to: date,
                         by: Dimension = "zone_class") -> SlaAttainmentRead:
    """Share of milestones met, by milestone and one dimension, over jobs opened in [from, to];
    a dealer's report covers its own engineers' jobs."""
    return await service.sla_attainment(session, visible=visible_jobs(p), date_from=date_from, date_to=date_to,
                                        by=by)
