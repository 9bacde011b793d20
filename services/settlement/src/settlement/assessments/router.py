"""HTTP: a dealer's monthly assessment and yearly excellence (/v1/dealers/{id}/assessments|excellence/…)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path

from aftersales_shared.app import DbSession
from aftersales_shared.errors import Unprocessable

from ..access import CanReadSettlement, problems
from ..dealers.schemas import DealerId
from . import service
from .schemas import AssessmentRead, ExcellenceRead

router = APIRouter(prefix="/v1", tags=["settlement: assessments"])


@router.get("/dealers/{dealer_id}/assessments/{month}", response_model=AssessmentRead, responses=problems(404, 422))
async def monthly_assessment(dealer_id: DealerId, session: DbSession, p: CanReadSettlement,
                             month: Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]) -> dict[str, Any]:
    """Callback rate, satisfaction, complaint rate, SLA attainment, report submitted (R-D7, R-T5)."""
    try:
        day = date.fromisoformat(month + "-01")
    except ValueError as exc:
        raise Unprocessable("month must be YYYY-MM", field="month") from exc
    return await service.monthly(session, dealer_id=dealer_id, month=day, principal=p)


@router.get("/dealers/{dealer_id}/excellence/{year}", response_model=ExcellenceRead, responses=problems(404, 422))
async def yearly_excellence(dealer_id: DealerId, session: DbSession, p: CanReadSettlement,
                            year: Annotated[int, Path(ge=2000, le=2200)]) -> dict[str, Any]:
    """Complaints < 1/1000 of sales, satisfaction ≥ 98 %, quality feedback in ≥ 90 % of months (R-D7)."""
    return await service.yearly(session, dealer_id=dealer_id, year=year, principal=p)
