"""HTTP for callback tasks and the monthly dealer report."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Month

from ..access import CanReadServiceRecords, CanRecordSatisfaction, CanWriteServiceRecords
from ..fields import DealerId
from . import service
from .schemas import CallbackOutcome, CallbackRead, CallbackStatus, DealerMonthlyReport, SatisfactionIn

router = APIRouter(tags=["callbacks and satisfaction"])


@router.get("/v1/callbacks", response_model=list[CallbackRead],
            summary="Callback tasks, oldest first (call_center, admin, ops; dealer: own)")
async def list_callbacks(session: DbSession, p: CanReadServiceRecords, status: CallbackStatus | None = "pending",
                         dealer_id: DealerId | None = None, ticket_id: UUID | None = None,
                         limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    return await service.list_callbacks(session, viewer=p, status=status, dealer_id=dealer_id, limit=limit,
                                        ticket_id=ticket_id)


@router.post("/v1/callbacks/{callback_id}/outcome", response_model=CallbackRead,
             responses={404: {"description": "no such callback (problem+json)"},
                        409: {"description": "the callback is already recorded (problem+json)"}},
             summary="Record a callback's outcome (call_center, admin); emits CallbackRecorded")
async def record_callback(callback_id: UUID, body: CallbackOutcome, session: DbSession,
                          p: CanWriteServiceRecords) -> Any:
    return await service.record_outcome(session, callback_id=callback_id, outcome=body, viewer=p, now=clock.now())


@router.post("/v1/tickets/{ticket_id}/satisfaction", response_model=CallbackRead,
             responses={404: {"description": "no such ticket, or not this dealer's (problem+json)"},
                        409: {"description": "no completed repair to rate yet (code no_callback), or the callback "
                                             "is already recorded with another rating (problem+json)"}},
             summary="The customer's rating (1-5) completes the ticket's open callback (R-T5; call_center, admin, "
                     "notifier); the same rating again changes nothing; emits CallbackRecorded")
async def record_satisfaction(ticket_id: UUID, body: SatisfactionIn, session: DbSession,
                              p: CanRecordSatisfaction) -> Any:
    return await service.record_satisfaction(session, ticket_id=ticket_id, rating=body, viewer=p, now=clock.now())


@router.get("/v1/reports/dealer-monthly", response_model=DealerMonthlyReport,
            summary="Per dealer and month: callback rate vs the 25 % target, satisfaction, complaint rate "
                    "(call_center, admin, ops; dealer: own)")
async def dealer_monthly(session: DbSession, p: CanReadServiceRecords,
                         month: Annotated[Month, Query()], dealer_id: DealerId | None = None) -> Any:
    return await service.dealer_monthly(session, viewer=p, month=month, dealer_id=dealer_id)
