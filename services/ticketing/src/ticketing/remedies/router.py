"""HTTP for 三包 remedies (issue 15): carry one out on a ticket's unit, list a ticket's remedies (HTTP only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.idempotency import IdempotencyKey, replay_headers

from ..access import CanCarryOutRemedies, CanReadServiceRecords
from ..config import TicketingSettings
from ..fields import TicketRef as TicketRefText
from . import service
from .schemas import RemedyCreate, RemedyList, RemedyRead

router = APIRouter(prefix="/v1/tickets", tags=["remedies"])
TicketRef = Annotated[TicketRefText, Path(description="ticket id or ticket number")]
_NOT_FOUND: dict[str, Any] = {"description": "no such ticket (or not one the caller may act on / see), or the "
                                             "ticket's unit is not in the installed base (problem+json)"}


@router.post("/{ticket}/remedies", status_code=201, response_model=RemedyRead, responses={
    404: _NOT_FOUND,
    409: {"description": "the unit's rights do not allow this remedy today (problem+json with ``rule``: R-W4 or "
                         "R-W5, field ``kind``), the unit is already retired, or ``new_serial`` exists"},
    422: {"description": "invalid body, or the Idempotency-Key was used with another request (problem+json)"}},
    summary="Carry out a return, exchange, unit or component replacement (R-W4/R-W5) on the ticket's unit "
            "(call_center, admin; engineer: a ticket its job moved); emits ticketing.unit.remedy_completed")
async def carry_out(ticket: TicketRef, body: RemedyCreate, request: Request, session: DbSession,
                    p: CanCarryOutRemedies, key: IdempotencyKey = None) -> JSONResponse:
    settings: TicketingSettings = request.app.state.settings
    remedy, replayed = await service.carry_out(session, ref=ticket, viewer=p, body=body, key=key,
                                               mode=settings.remedy_new_unit_warranty, now=clock.now())
    out = jsonable_encoder(RemedyRead.model_validate(remedy))
    return JSONResponse(out, status_code=201, headers=replay_headers(replayed))


@router.get("/{ticket}/remedies", response_model=RemedyList, responses={404: _NOT_FOUND},
            summary="The remedies carried out on a ticket (call_center, admin, ops; dealer: own tickets)")
async def list_remedies(ticket: TicketRef, session: DbSession, p: CanReadServiceRecords) -> Any:
    return await service.list_for_ticket(session, ref=ticket, viewer=p)
