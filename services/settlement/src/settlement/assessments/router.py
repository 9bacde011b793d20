"""HTTP: a dealer's monthly assessment and yearly excellence (/v1/dealers/{id}/assessments|excellence/…)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from aftersales_shared.app import DbSession
from aftersales_shared.schemas import BUSINESS_DATE_MAX, BUSINESS_DATE_MIN, Month

from ..access import CanReadSettlement, problems
from ..dealers.schemas import DealerId
from ..terms.dependencies import TermDefaults
from . import service
from .schemas import AssessmentRead, ExcellenceRead, IssuedAssessmentRead

Year = Annotated[int, Field(ge=BUSINESS_DATE_MIN.year, le=BUSINESS_DATE_MAX.year)]
"""A year of the shared business range (2000…2199)."""

router = APIRouter(prefix="/v1", tags=["settlement: assessments"])


@router.get("/dealers/{dealer_id}/assessments/{month}", response_model=AssessmentRead, responses=problems(404, 422))
async def monthly_assessment(dealer_id: DealerId, session: DbSession, p: CanReadSettlement,
                             month: Annotated[Month, Path()], defaults: TermDefaults) -> dict[str, Any]:
    """Callback rate, satisfaction, complaint rate, SLA attainment, report submitted (R-D7, R-T5); the
    callback target is the dealer's term in force on the month's first day."""
    return await service.monthly(session, dealer_id=dealer_id, month=date.fromisoformat(month + "-01"), principal=p,
                                 defaults=defaults)


@router.get("/dealers/{dealer_id}/assessments/{month}/issued", response_model=IssuedAssessmentRead,
            responses=problems(404, 422))
async def issued_assessment(dealer_id: DealerId, session: DbSession, p: CanReadSettlement,
                            month: Annotated[Month, Path()]) -> dict[str, Any]:
    """The monthly assessment document as issued to the dealer in the first days of the next month (R-D7);
    404 until it is issued."""
    return await service.issued_document(session, dealer_id=dealer_id, month=date.fromisoformat(month + "-01"),
                                         principal=p)


@router.get("/dealers/{dealer_id}/excellence/{year}", response_model=ExcellenceRead, responses=problems(404, 422))
async def yearly_excellence(dealer_id: DealerId, session: DbSession, p: CanReadSettlement,
                            year: Annotated[Year, Path()], defaults: TermDefaults) -> dict[str, Any]:
    """Complaints < 1/1000 of sales, satisfaction ≥ 98 %, quality feedback in ≥ 90 % of months (R-D7) — the
    thresholds of the dealer's terms in force on 1 January."""
    return await service.yearly(session, dealer_id=dealer_id, year=year, principal=p, defaults=defaults)
