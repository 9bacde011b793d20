"""HTTP of part requests (``/v1/part-requests``) and the ship-by watch list (``/v1/ops/ship-commitments``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from aftersales_shared import clock
from aftersales_shared.app import DbSession, settings_of
from aftersales_shared.idempotency import IdempotencyKey
from aftersales_shared.schemas import Limit

from ..access import CanReadRequests, CanRecordPayment, CanRequestParts, CanShipRequests, CanWatchStockAndCommitments
from ..jobs import service as jobs
from . import coverage, hotpath, queries, service
from .schemas import (
    CommitmentRead,
    Document,
    Id,
    Payment,
    RequestCreate,
    RequestRead,
    RequestStatusName,
    RequestSummary,
    Shipment,
    ShippedRequestRead,
)

router = APIRouter(prefix="/v1", tags=["requests"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not the caller's to request (another dealer, another engineer's job)"},
    404: {"description": "No such request (or not visible to the caller)"},
    409: {"description": "Wrong status, a gate is closed (`missing`), or Idempotency-Key reused with another body"},
    422: {"description": "Invalid body or unknown part (`lines.N.part_no`)"},
}


@router.post("/part-requests", status_code=201, response_model=RequestRead, responses=_ERRORS)
async def create_request(body: RequestCreate, request: Request, principal: CanRequestParts,
                         key: IdempotencyKey = None) -> Response:
    """Request parts (engineer for a job, dealer for itself); stock is reserved or the request is backordered.

    One database function call on the raw asyncpg pool, group-committed (hotpath.py, migration parts_0003).
    The job (or ticket) it names is first checked against the job's engineer and dealer as dispatch last said
    (jobs/service.py, access.may_name_job): 403 another engineer's / dealer's job, 409 a job parts does not know
    yet (``job_not_yet_known``, retryable), 422 a ticket that is not the job's."""
    await jobs.check_references(request.app.state.pg, principal, body)
    body = await coverage.gated(request.app.state.pg, body)  # issue 15: a ticket made paid orders as paid (R-P2)
    return await hotpath.create_request(request.app.state.allocations, settings_of(request), principal, body, key,
                                        now=clock.now(), pool=request.app.state.pg)


@router.get("/part-requests", response_model=list[RequestSummary])
async def list_requests(session: DbSession, principal: CanReadRequests,
                        status: Annotated[RequestStatusName | None, Query()] = None,
                        job_id: Annotated[Id | None, Query()] = None,
                        limit: Annotated[Limit, Query()] = 100) -> list[dict[str, Any]]:
    """Requests the caller may see, newest first."""
    return await queries.list_requests(session, principal, status=status, job_id=job_id, limit=limit)


@router.get("/part-requests/{request_id}", response_model=RequestRead, responses=_ERRORS)
async def get_request(request_id: uuid.UUID, session: DbSession, principal: CanReadRequests) -> dict[str, Any]:
    """One request with lines, reservations and shipment."""
    await queries.load(session, str(request_id), principal=principal)
    return await queries.view(session, str(request_id))


@router.post("/part-requests/{request_id}/payment", response_model=RequestRead, responses=_ERRORS)
async def record_payment(request_id: uuid.UUID, body: Payment, request: Request, session: DbSession,
                         _p: CanRecordPayment) -> dict[str, Any]:
    """Payment received for a paid request (R-P2)."""
    await service.record_payment(session, settings_of(request), str(request_id), reference=body.reference,
                                 now=clock.now())
    return await queries.view(session, str(request_id))


@router.post("/part-requests/{request_id}/documents", response_model=RequestRead, responses=_ERRORS)
async def attach_document(request_id: uuid.UUID, body: Document, request: Request, session: DbSession,
                          principal: CanRequestParts) -> dict[str, Any]:
    """Attach the parts-replacement list or the old part's waybill (R-P3)."""
    await service.attach_document(session, settings_of(request), principal, str(request_id), kind=body.kind,
                                  reference=body.reference, now=clock.now())
    return await queries.view(session, str(request_id))


@router.post("/part-requests/{request_id}/ship", response_model=ShippedRequestRead, responses=_ERRORS)
async def ship_request(request_id: uuid.UUID, body: Shipment, request: Request, session: DbSession,
                       _p: CanShipRequests) -> dict[str, Any]:
    """Ship an allocated request whose gates are open; the requester is notified the same day (event).

    ``parts_budget``: the R-P7 draw of a dealer's own request (enforced false: no budget for that quarter)."""
    drawn = await service.ship(session, settings_of(request), str(request_id), carrier=body.carrier,
                               tracking_no=body.tracking_no, standard_freight=body.standard_freight,
                               urgent_freight=body.urgent_freight, now=clock.now())
    return {**await queries.view(session, str(request_id)), "parts_budget": drawn}


@router.post("/part-requests/{request_id}/deliver", response_model=RequestRead, responses=_ERRORS)
async def deliver_request(request_id: uuid.UUID, session: DbSession, principal: CanRequestParts) -> dict[str, Any]:
    """Record delivery."""
    await service.deliver(session, principal, str(request_id), now=clock.now())
    return await queries.view(session, str(request_id))


@router.post("/part-requests/{request_id}/cancel", response_model=RequestRead, responses=_ERRORS)
async def cancel_request(request_id: uuid.UUID, request: Request, session: DbSession,
                         principal: CanRequestParts) -> dict[str, Any]:
    """Cancel an unshipped request and release its reservations."""
    await service.cancel(session, settings_of(request), principal, str(request_id), now=clock.now())
    return await queries.view(session, str(request_id))


@router.get("/ops/ship-commitments", response_model=list[CommitmentRead], tags=["ops"])
async def ship_commitments(request: Request, session: DbSession, _p: CanWatchStockAndCommitments,
                           state: Annotated[Literal["at_risk", "breached"], Query()] = "at_risk",
                           limit: Annotated[Limit, Query()] = 100) -> list[dict[str, Any]]:
    """Open requests at risk of missing (or past) their ship-by time (R-P1), earliest first."""
    return await queries.commitments(session, state=state, now=clock.now(),
                                     window=service.at_risk_window(settings_of(request)), limit=limit)
