"""HTTP of the dealer's quarterly parts budget (R-P7, ``/v1/dealers/{dealer_id}/parts-budget/{quarter}``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from aftersales_shared import clock
from aftersales_shared.app import DbSession, settings_of
from aftersales_shared.schemas import Quarter

from .. import access
from ..access import CanReadPartsBudget, CanSetPartsBudget
from ..requests.schemas import Id
from . import service
from .schemas import PartsBudgetPut, PartsBudgetRead

router = APIRouter(prefix="/v1/dealers", tags=["budget"])
DealerId = Annotated[Id, Path()]
QuarterPath = Annotated[Quarter, Path(description="calendar quarter 2000Q1…2199Q4, e.g. 2026Q4")]
_ERRORS: dict[int | str, dict[str, Any]] = {403: {"description": "A dealer asked for another dealer's budget"},
                                            404: {"description": "No budget recorded for that quarter"},
                                            422: {"description": "Invalid quarter or body"}}


@router.put("/{dealer_id}/parts-budget/{quarter}", response_model=PartsBudgetRead, responses={
    **_ERRORS, 200: {"description": "Replaced: the quarter's remittance re-recorded, the budget re-computed"},
    201: {"model": PartsBudgetRead, "description": "Created: the first remittance recorded for the quarter"}})
async def put_parts_budget(dealer_id: DealerId, quarter: QuarterPath, body: PartsBudgetPut, request: Request,
                           response: Response, session: DbSession, principal: CanSetPartsBudget) -> dict[str, Any]:
    """Record the dealer's remittance (回款) for a quarter; the budget is ``percent`` of it (default
    PARTS_BUDGET_PERCENT). A new remittance re-computes the budget; what shipments already used stays.
    201 when created, 200 when updated."""
    row, created = await service.put(session, settings_of(request), dealer_id=dealer_id, quarter=quarter,
                                     remittance=body.remittance, percent=body.percent, actor=principal.sub,
                                     now=clock.now())
    response.status_code = 201 if created else 200
    return row


@router.get("/{dealer_id}/parts-budget/{quarter}", response_model=PartsBudgetRead, responses=_ERRORS)
async def get_parts_budget(dealer_id: DealerId, quarter: QuarterPath, session: DbSession,
                           principal: CanReadPartsBudget) -> dict[str, Any]:
    """The dealer's parts budget for a quarter: budget, used (list-price value shipped), remaining, excess."""
    access.dealer_in_scope(principal, dealer_id, what="parts budget")
    return await service.get(session, dealer_id, quarter)
