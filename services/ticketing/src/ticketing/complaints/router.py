"""HTTP for complaints."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Request

from aftersales_shared import clock
from aftersales_shared.app import DbSession

from ..access import CanFileComplaints, CanReadServiceRecords, CanWriteServiceRecords
from ..fields import DealerId
from . import service
from .schemas import ComplaintCreate, ComplaintRead, ComplaintResolve, ComplaintStatus

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such complaint, or not this dealer's (problem+json)"},
    409: {"description": "the complaint is already resolved (problem+json)"},
}


@router.post("", status_code=201, response_model=ComplaintRead,
             summary="File a complaint (call_center, admin, notifier: a customer's reply); emits ComplaintFiled")
async def file_complaint(body: ComplaintCreate, request: Request, session: DbSession,
                         p: CanFileComplaints) -> Any:
    return await service.file_complaint(session, complaint=body, viewer=p, now=clock.now(),
                                        configured_hours=request.app.state.settings.complaint_response_hours)


@router.post("/{complaint_id}/resolve", response_model=ComplaintRead, responses=_ERRORS,
             summary="Resolve a complaint: upheld or not, against whom (call_center, admin); emits ComplaintResolved")
async def resolve_complaint(complaint_id: UUID, body: ComplaintResolve, session: DbSession,
                            p: CanWriteServiceRecords) -> Any:
    return await service.resolve_complaint(session, complaint_id=complaint_id, resolution=body, viewer=p,
                                           now=clock.now())


@router.get("", response_model=list[ComplaintRead],
            summary="List complaints (call_center, admin, ops; dealer: own), newest first")
async def list_complaints(session: DbSession, p: CanReadServiceRecords, dealer_id: DealerId | None = None,
                          status: ComplaintStatus | None = None, overdue: bool = False) -> Any:
    return await service.list_complaints(session, viewer=p, dealer_id=dealer_id, status=status, overdue=overdue,
                                         now=clock.now())


@router.get("/{complaint_id}", response_model=ComplaintRead, responses={404: _ERRORS[404]},
            summary="One complaint (call_center, admin, ops; dealer: own)")
async def get_complaint(complaint_id: Annotated[UUID, Path()], session: DbSession, p: CanReadServiceRecords) -> Any:
    return await service.get_complaint(session, complaint_id=complaint_id, viewer=p, now=clock.now())
