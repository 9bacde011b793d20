"""HTTP: a dealer's service agreement terms (/v1/dealers/{id}/terms…): change from a date, in force, history."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from aftersales_shared import clock
from aftersales_shared.app import DbSession, settings_of
from aftersales_shared.schemas import BusinessDate

from ..access import CanManageDealers, CanReadSettlement, problems
from ..dealers.schemas import DealerId
from . import service
from .dependencies import TermDefaults
from .schemas import DealerTermsChangeRead, DealerTermsPut, DealerTermsRead

router = APIRouter(prefix="/v1", tags=["settlement: terms"])


@router.put("/dealers/{dealer_id}/terms", response_model=DealerTermsChangeRead, responses={
    **problems(404, 422), 200: {"description": "The same change was already recorded for that date (no new version)"},
    201: {"model": DealerTermsChangeRead, "description": "A new version of the terms, from effective_from"}})
async def put_terms(dealer_id: DealerId, body: DealerTermsPut, session: DbSession, p: CanManageDealers,
                    response: Response, defaults: TermDefaults) -> dict[str, Any]:
    """Change some of the dealer's terms from ``effective_from`` (today or later); terms left out keep their
    value. Audited. Facts dated before the change keep the terms in force when they happened."""
    row, created = await service.put_terms(session, dealer_id=dealer_id, body=body, actor=p,
                                           today=clock.business_today(), now=clock.now(), defaults=defaults)
    response.status_code = 201 if created else 200
    return row


@router.get("/dealers/{dealer_id}/terms", response_model=DealerTermsRead, responses=problems(404, 422))
async def terms_in_force(dealer_id: DealerId, request: Request, session: DbSession, p: CanReadSettlement,
                         on: Annotated[BusinessDate | None, Query(description="default: today")] = None,
                         ) -> dict[str, Any]:
    """The dealer's terms in force on a date (configured defaults where no change set a term)."""
    day: date = on or clock.business_today()
    return await service.in_force(session, dealer_id=dealer_id, on=day,
                                  defaults=service.defaults_of(settings_of(request)), principal=p)


@router.get("/dealers/{dealer_id}/terms/history", response_model=list[DealerTermsChangeRead],
            responses=problems(404))
async def terms_history(dealer_id: DealerId, session: DbSession, p: CanReadSettlement) -> list[Any]:
    """Every recorded change of the dealer's terms, oldest first (who, when, from which date, why)."""
    return await service.history(session, dealer_id=dealer_id, principal=p)
