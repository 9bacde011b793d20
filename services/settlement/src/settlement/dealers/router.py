"""HTTP: dealers, contract versions and monthly report submissions (/v1/dealers…)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Limit

from ..access import CanListDealers, CanManageDealers, CanReadSettlement, CanSubmitMonthlyReports, problems
from . import service
from .schemas import (
    ContractCreate,
    ContractRead,
    DealerCreate,
    DealerId,
    DealerRead,
    MonthlyReportCreate,
    MonthlyReportRead,
)

router = APIRouter(prefix="/v1", tags=["settlement: dealers"])


@router.post("/dealers", status_code=201, response_model=DealerRead, responses=problems(409, 422))
async def create_dealer(body: DealerCreate, session: DbSession, p: CanManageDealers) -> dict[str, Any]:
    """Register a dealer."""
    return await service.create_dealer(session, body=body, actor=p, now=clock.now())


@router.get("/dealers", response_model=list[DealerRead], responses=problems(422))
async def list_dealers(session: DbSession, p: CanListDealers, limit: Annotated[Limit, Query()] = 100,
                       after: Annotated[DealerId | None, Query()] = None) -> list[Any]:
    """Dealers by id (page with ``after`` = the last id seen)."""
    return await service.list_dealers(session, principal=p, after=after, limit=limit)


@router.get("/dealers/{dealer_id}", response_model=DealerRead, responses=problems(404))
async def get_dealer(dealer_id: DealerId, session: DbSession, p: CanReadSettlement) -> dict[str, Any]:
    """One dealer (a dealer only itself)."""
    return await service.get_dealer(session, dealer_id=dealer_id, principal=p)


@router.post("/dealers/{dealer_id}/contracts", status_code=201, response_model=ContractRead,
             responses=problems(404, 422))
async def create_contract(dealer_id: DealerId, body: ContractCreate, session: DbSession,
                          p: CanManageDealers) -> dict[str, Any]:
    """A new contract version: fee model and its parameters (R-D2), penalties (R-D3, R-D4, R-D5)."""
    return await service.create_contract(session, dealer_id=dealer_id, body=body, actor=p, now=clock.now())


@router.get("/dealers/{dealer_id}/contracts", response_model=list[ContractRead], responses=problems(404))
async def list_contracts(dealer_id: DealerId, session: DbSession, p: CanReadSettlement) -> list[Any]:
    """The dealer's contract versions, oldest first."""
    return await service.list_contracts(session, dealer_id=dealer_id, principal=p)


@router.post("/dealers/{dealer_id}/monthly-reports", status_code=201, response_model=MonthlyReportRead,
             responses=problems(404, 422))
async def submit_monthly_report(dealer_id: DealerId, body: MonthlyReportCreate, session: DbSession,
                                p: CanSubmitMonthlyReports) -> dict[str, Any]:
    """A month's records and quality feedback (R-D5); a dealer submits only its own."""
    return await service.submit_monthly_report(session, dealer_id=dealer_id, body=body, actor=p, now=clock.now())
