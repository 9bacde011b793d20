"""HTTP for a ticket's coverage after intake (issue 15): read it with its history, override it (HTTP only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from aftersales_shared import clock
from aftersales_shared.app import DbSession

from ..access import CanReadServiceRecords, CanWriteServiceRecords
from ..fields import TicketRef as TicketRefText
from . import service
from .schemas import CoverageOverride, CoverageRead

router = APIRouter(prefix="/v1/tickets", tags=["coverage"])
TicketRef = Annotated[TicketRefText, Path(description="ticket id or ticket number")]
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "no such ticket, or not this dealer's (problem+json)"}}


@router.get("/{ticket}/coverage", response_model=CoverageRead, responses=_ERRORS,
            summary="A ticket's coverage, why, and every change after intake (call_center, admin, ops; dealer: own)")
async def get_coverage(ticket: TicketRef, session: DbSession, p: CanReadServiceRecords) -> Any:
    return await service.read(session, ref=ticket, viewer=p)


@router.put("/{ticket}/coverage", response_model=CoverageRead, responses=_ERRORS,
            summary="Override a ticket's coverage with a reason, audited (call_center, admin)")
async def override_coverage(ticket: TicketRef, body: CoverageOverride, session: DbSession,
                            p: CanWriteServiceRecords) -> Any:
    return await service.override(session, ref=ticket, viewer=p, coverage=body.coverage, reason=body.reason,
                                  now=clock.now())
