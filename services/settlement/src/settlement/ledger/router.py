"""HTTP: payments received, verification findings and a dealer's ledger (all under /v1/dealers…, /v1/payments)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Limit
from aftersales_shared.schemas import Quarter as QuarterName

from ..access import CanReadSettlement, CanRecordFindings, CanRecordPayments, problems
from ..dealers.schemas import DealerId
from . import service
from .schemas import FindingCreate, FindingRead, LedgerEntryRead, PaymentCreate, PaymentImportRead, PaymentRead

router = APIRouter(prefix="/v1", tags=["settlement: ledger"])


@router.post("/dealers/{dealer_id}/payments", status_code=201, response_model=PaymentRead,
             responses=problems(404, 409, 422))
async def add_payment(dealer_id: DealerId, body: PaymentCreate, session: DbSession,
                      p: CanRecordPayments) -> dict[str, object]:
    """Record one payment received (the base of fee model c's budget)."""
    return await service.add_payment(session, dealer_id=dealer_id, body=body, actor=p, now=clock.now())


@router.post("/payments/import", response_model=PaymentImportRead, responses=problems(422), openapi_extra={
    "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}})
async def import_payments(request: Request, session: DbSession, p: CanRecordPayments) -> dict[str, int]:
    """CSV with header dealer_id,document_no,amount,received_on; all rows valid or nothing is imported."""
    return await service.import_payments(session, raw=await request.body(), actor=p, now=clock.now())


@router.post("/dealers/{dealer_id}/findings", status_code=201, response_model=FindingRead,
             responses=problems(404, 409, 422))
async def add_finding(dealer_id: DealerId, body: FindingCreate, session: DbSession,
                      p: CanRecordFindings) -> dict[str, object]:
    """Book a verification finding or charge (R-D3, R-D4, R-D5)."""
    await service.add_finding(session, dealer_id=dealer_id, body=body, actor=p, now=clock.now())
    return {"dealer_id": dealer_id, **body.model_dump()}


@router.get("/dealers/{dealer_id}/ledger", response_model=list[LedgerEntryRead], responses=problems(404, 422))
async def list_ledger(dealer_id: DealerId, session: DbSession, p: CanReadSettlement,
                      quarter: Annotated[QuarterName, Query()],
                      limit: Annotated[Limit, Query()] = 200) -> list[object]:
    """The entries settled in ``quarter`` (late facts carry their own ``quarter``)."""
    return await service.list_entries(session, dealer_id=dealer_id, principal=p, quarter=quarter, limit=limit)
