"""HTTP of the dealer's parts terms (``/v1/dealers/{dealer_id}/parts-terms``): change from a date, in force,
history (R-P1 ship clock, R-P4 return days, R-P5 base-stock percentage)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from aftersales_shared import clock
from aftersales_shared.app import DbSession, settings_of
from aftersales_shared.schemas import BusinessDate

from .. import access
from ..access import CanReadPartsTerms, CanSetPartsTerms
from ..requests.schemas import Id
from . import service
from .schemas import PartsTermsChangeRead, PartsTermsPut, PartsTermsRead

router = APIRouter(prefix="/v1/dealers", tags=["terms"])
DealerId = Annotated[Id, Path()]
_ERRORS: dict[int | str, dict[str, Any]] = {403: {"description": "A dealer asked for another dealer's terms"},
                                            422: {"description": "Invalid body, or a change dated before today"}}


@router.put("/{dealer_id}/parts-terms", response_model=PartsTermsChangeRead, responses={
    **_ERRORS, 200: {"description": "The same change was already recorded for that date (no new version)"},
    201: {"model": PartsTermsChangeRead, "description": "A new version of the terms, from effective_from"}})
async def put_terms(dealer_id: DealerId, body: PartsTermsPut, session: DbSession, principal: CanSetPartsTerms,
                    response: Response) -> dict[str, Any]:
    """Change some of the dealer's parts terms from ``effective_from`` (today or later); the others keep their
    value. Every change is kept (who, when, why)."""
    row, created = await service.put_terms(session, dealer_id=dealer_id, body=body, actor=principal.sub,
                                           today=clock.business_today(), now=clock.now())
    response.status_code = 201 if created else 200
    return row


@router.get("/{dealer_id}/parts-terms", response_model=PartsTermsRead, responses=_ERRORS)
async def terms_in_force(dealer_id: DealerId, request: Request, session: DbSession, principal: CanReadPartsTerms,
                         on: Annotated[BusinessDate | None, Query(description="default: today")] = None,
                         ) -> dict[str, Any]:
    """The dealer's parts terms in force on a date (configured defaults where no change set a term)."""
    access.dealer_in_scope(principal, dealer_id, what="parts terms")
    return await service.in_force(session, settings_of(request), dealer_id=dealer_id,
                                  on=on or clock.business_today())


@router.get("/{dealer_id}/parts-terms/history", response_model=list[PartsTermsChangeRead],
            responses={403: _ERRORS[403]})
async def terms_history(dealer_id: DealerId, session: DbSession, principal: CanReadPartsTerms) -> list[Any]:
    """Every recorded change of the dealer's parts terms, oldest first."""
    access.dealer_in_scope(principal, dealer_id, what="parts terms")
    return await service.history(session, dealer_id=dealer_id)
