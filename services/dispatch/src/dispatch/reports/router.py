"""HTTP API of reports (HTTP only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from aftersales_shared.app import DbSession
from aftersales_shared.schemas import BusinessDate

from ..access import CanReadSlaReports, visible_jobs
from . import service
from .schemas import Dimension, SlaAttainmentRead

router = APIRouter(prefix="/v1", tags=["reports"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid token"}, 403: {"description": "role not allowed"},
    422: {"description": "invalid dates (problem+json names the field)"},
}


@router.get("/reports/sla-attainment", response_model=SlaAttainmentRead, responses=ERRORS)
async def sla_attainment(session: DbSession, p: CanReadSlaReports, date_from: BusinessDate,
                         date_to: BusinessDate,
                         by: Dimension = "zone_class") -> SlaAttainmentRead:
    """Share of milestones met, by milestone and one dimension, over jobs opened in [from, to];
    a dealer's report covers its own engineers' jobs."""
    return await service.sla_attainment(session, visible=visible_jobs(p), date_from=date_from, date_to=date_to,
                                        by=by)
