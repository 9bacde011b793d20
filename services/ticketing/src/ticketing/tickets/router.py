"""HTTP for tickets. Intake reads its own request (the hot path, see ``hotpath.py``); the rest is declared."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.auth import authorize, declares_roles
from aftersales_shared.errors import Conflict
from aftersales_shared.idempotency import check_key, replay_headers
from aftersales_shared.schemas import BusinessDate

from ..access import SERVICE_RECORD_WRITERS, CanReadContactToNotify, CanReadServiceRecords, CanWriteServiceRecords
from ..config import TicketingSettings
from ..fields import CustomerName, DealerId, Phone, SearchText
from ..fields import TicketRef as TicketRefText
from ..metrics import DUPLICATE_TICKETS_REFUSED, IDEMPOTENT_REPLAYS, TICKETS_OPENED
from . import queries, service
from .hotpath import Intake, Replayed
from .schemas import CREATE_DOC, Status, TicketContactRead, TicketCreate, TicketMove, TicketPage, TicketRead

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
TicketRef = Annotated[TicketRefText, Path(description="ticket id or ticket number")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such ticket, or not this dealer's (problem+json)"},
    409: {"description": "the move is not allowed from the ticket's status, or another ticket is open for the "
                         "serial (problem+json)"},
}


def reported_window(request: Request) -> tuple[timedelta, timedelta]:
    """How far back and ahead a report's own time may lie (issue 15, configuration)."""
    s: TicketingSettings = request.app.state.settings
    return timedelta(hours=s.reported_at_max_age_hours), timedelta(seconds=s.reported_at_skew_seconds)


@router.post("", status_code=201, response_model=TicketRead, openapi_extra=CREATE_DOC,
             summary="Open a ticket (call_center, admin); Idempotency-Key makes retries safe",
             responses={409: {"description": "an open ticket exists for the serial (problem+json points to it)"}})
@declares_roles(SERVICE_RECORD_WRITERS)
async def create_ticket(request: Request) -> Any:
    # The busiest route at peak reads its request itself: the same role check, header limits and body model
    # (parsed and validated in one pass by pydantic-core) with the same problem+json answers as declared
    # parameters, without FastAPI's per-request dependency resolution (docs/bench/ticketing.md).
    p = authorize(request, SERVICE_RECORD_WRITERS)
    key = check_key(request.headers.get("idempotency-key"))
    try:
        body = TicketCreate.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    try:
        outcome = await request.app.state.intake.submit(Intake.of(body, p, key, reported_window(request)))
    except Conflict as exc:
        if exc.code == "open_ticket_exists":
            DUPLICATE_TICKETS_REFUSED.inc()
        raise
    if isinstance(outcome, Replayed):
        IDEMPOTENT_REPLAYS.inc()
        return JSONResponse(outcome.response, status_code=outcome.status_code, headers=replay_headers(True))
    TICKETS_OPENED.labels(body.channel, outcome.coverage).inc()
    log.info("ticket %s opened for serial %s (%s)", outcome.ticket_no, body.serial, outcome.coverage)
    return Response(outcome.response.encode(), status_code=201, media_type="application/json")


@router.get("", response_model=TicketPage,
            summary="Search tickets (call_center, admin, ops; dealer: own tickets); cursor pagination")
async def search_tickets(
    session: DbSession, p: CanReadServiceRecords,
    phone: Phone | None = None,
    serial: Annotated[TicketRefText | None, Query(description="the unit's serial")] = None,
    name: CustomerName | None = None,
    ticket_no: Annotated[TicketRefText | None, Query()] = None,
    status: Status | None = None,
    dealer_id: DealerId | None = None,
    opened_from: Annotated[BusinessDate | None, Query(alias="from")] = None,
    opened_to: Annotated[BusinessDate | None, Query(alias="to")] = None,
    q: Annotated[SearchText | None, Query(min_length=2, description="text in the fault description")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[SearchText | None, Query()] = None,
) -> Any:
    rows, next_cursor = await queries.search(
        session, viewer=p, phone=phone, serial=serial, name=name, ticket_no=ticket_no, status=status,
        dealer_id=dealer_id, opened_from=opened_from, opened_to=opened_to, q=q, limit=limit, cursor=cursor)
    return {"items": [service.ticket_read(p, r) for r in rows], "next_cursor": next_cursor}


@router.get("/{ticket}", response_model=TicketRead, responses={404: _ERRORS[404]},
            summary="One ticket with its transition history (call_center, admin, ops; dealer: own)")
async def get_ticket(ticket: TicketRef, session: DbSession, p: CanReadServiceRecords) -> Any:
    return await service.get_ticket(session, ref=ticket, viewer=p)


@router.get("/{ticket}/contact", response_model=TicketContactRead, responses={404: _ERRORS[404]},
            summary="One ticket's customer contact in clear, to send it a message (notifier only, R-T7)")
async def ticket_contact(ticket: TicketRef, session: DbSession, p: CanReadContactToNotify) -> Any:
    return await service.contact_to_notify(session, ref=ticket, viewer=p)


@router.post("/{ticket}/cancel", response_model=TicketRead, responses=_ERRORS,
             summary="Cancel an open ticket (call_center, admin)")
async def cancel_ticket(ticket: TicketRef, body: TicketMove, session: DbSession, p: CanWriteServiceRecords) -> Any:
    return await service.cancel_ticket(session, ref=ticket, viewer=p, reason=body.reason, now=clock.now())


@router.post("/{ticket}/reopen", response_model=TicketRead, responses=_ERRORS,
             summary="Reopen a closed or cancelled ticket (call_center, admin)")
async def reopen_ticket(ticket: TicketRef, body: TicketMove, session: DbSession, p: CanWriteServiceRecords) -> Any:
    return await service.reopen_ticket(session, ref=ticket, viewer=p, reason=body.reason, now=clock.now())
