"""HTTP: a customer service contract's terms (/v1/contracts/{contract_code}/complaint-terms…): change from a date,
in force on a date, history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.schemas import BusinessDate

from ..access import CanManageContractTerms, CanReadContractTerms
from . import service
from .schemas import ComplaintTermsChangeRead, ComplaintTermsPut, ComplaintTermsRead, RecordTermsPut, RecordTermsRead

router = APIRouter(prefix="/v1/contracts", tags=["contract terms"])
ContractCodePath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                                       description="the customer service contract's code")]
_422: dict[int | str, dict[str, Any]] = {
    422: {"description": "effective_from before today (terms_backdated) or a bad value (problem+json)"}}


@router.put("/{contract_code}/complaint-terms", response_model=ComplaintTermsChangeRead, responses={
    **_422, 200: {"description": "The same change was already recorded for that date (no new version)"},
    201: {"model": ComplaintTermsChangeRead, "description": "A new version of the terms, from effective_from"}},
    summary="Change the contract's R-T6 complaint response hours from a date (admin); audited")
async def put_complaint_terms(contract_code: ContractCodePath, body: ComplaintTermsPut, session: DbSession,
                              p: CanManageContractTerms, response: Response) -> Any:
    row, created = await service.put_complaint_terms(session, contract_code=contract_code, body=body, actor=p.sub,
                                                     today=clock.business_today(), now=clock.now())
    response.status_code = 201 if created else 200
    return row


@router.get("/{contract_code}/complaint-terms", response_model=ComplaintTermsRead, responses=_422,
            summary="The contract's complaint response hours in force on a date (admin, call_center, ops)")
async def complaint_terms_in_force(contract_code: ContractCodePath, request: Request, session: DbSession,
                                   p: CanReadContractTerms,
                                   on: Annotated[BusinessDate | None, Query(description="default: today")] = None,
                                   ) -> Any:
    return await service.in_force(session, contract_code=contract_code, on=on or clock.business_today(),
                                  configured=request.app.state.settings.complaint_response_hours)


@router.put("/{contract_code}/retention-terms", response_model=ComplaintTermsChangeRead, responses={
    **_422, 200: {"description": "The same change was already recorded for that date (no new version)"},
    201: {"model": ComplaintTermsChangeRead, "description": "A new version of the terms, from effective_from"}},
    summary="Change the contract's R-T4 record terms (retention years ≥ 5, purge years) from a date (admin); "
            "audited")
async def put_retention_terms(contract_code: ContractCodePath, body: RecordTermsPut, session: DbSession,
                              p: CanManageContractTerms, response: Response) -> Any:
    row, created = await service.put_record_terms(session, contract_code=contract_code, body=body, actor=p.sub,
                                                  today=clock.business_today(), now=clock.now())
    response.status_code = 201 if created else 200
    return row


@router.get("/{contract_code}/retention-terms", response_model=RecordTermsRead, responses=_422,
            summary="The contract's R-T4 record terms in force on a date (admin, call_center, ops)")
async def retention_terms_in_force(contract_code: ContractCodePath, request: Request, session: DbSession,
                                   p: CanReadContractTerms,
                                   on: Annotated[BusinessDate | None, Query(description="default: today")] = None,
                                   ) -> Any:
    return await service.records_in_force(session, contract_code=contract_code, on=on or clock.business_today(),
                                          defaults=service.record_defaults(request.app.state.settings))


@router.get("/{contract_code}/complaint-terms/history", response_model=list[ComplaintTermsChangeRead],
            summary="Every recorded change of the contract's terms (complaint hours, record terms), oldest first "
                    "(admin, call_center, ops)")
async def complaint_terms_history(contract_code: ContractCodePath, session: DbSession,
                                  p: CanReadContractTerms) -> Any:
    return await service.history(session, contract_code=contract_code)
