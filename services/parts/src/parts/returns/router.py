"""HTTP of old-part returns (R-P4, ``/v1/returns``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from aftersales_shared import clock
from aftersales_shared.app import DbSession, settings_of
from aftersales_shared.schemas import Limit

from ..access import CanReadRequests, CanReceiveReturns
from . import service
from .schemas import ReturnRead, ReturnReceipt, ReturnReceiptRead

router = APIRouter(prefix="/v1", tags=["returns"])
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "No such return"},
                                            409: {"description": "Already received or missed"},
                                            422: {"description": "A reusable part needs a warehouse"}}


@router.get("/returns", response_model=list[ReturnRead])
async def list_returns(session: DbSession, principal: CanReadRequests,
                       status: Annotated[Literal["due", "received", "missed"] | None, Query()] = None,
                       limit: Annotated[Limit, Query()] = 100) -> list[dict[str, Any]]:
    """Expected old-part returns the caller may see."""
    return await service.list_returns(session, principal, status=status, limit=limit)


@router.post("/returns/{return_id}/receive", response_model=ReturnReceiptRead, responses=_ERRORS)
async def receive_return(return_id: uuid.UUID, body: ReturnReceipt, request: Request, session: DbSession,
                         principal: CanReceiveReturns) -> dict[str, Any]:
    """An old part arrived: appraisal reusable (back to stock, refurbished) or scrap (R-P4)."""
    return await service.receive(session, settings_of(request), str(return_id), appraisal=body.appraisal,
                                 warehouse_id=body.warehouse_id, actor=principal.sub, now=clock.now())
