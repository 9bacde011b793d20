"""HTTP: a customer service contract's terms (/v1/contracts/{code}/terms…: change from a date, in force, history),
its R-S9 credits and their waiver, and a job's third-party repair cost."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.idempotency import IdempotencyKey
from aftersales_shared.schemas import BusinessDate, Limit, Offset

from ..access import (
    CanManageContractTerms,
    CanReadContractCredits,
    CanReadContractTerms,
    CanRecordThirdPartyCosts,
    CanWaiveContractCredits,
)
from ..config import DispatchConfig
from ..fields import Id
from ..idempotent import idempotent
from . import service
from .schemas import (
    ContractCreditRead,
    ContractTermsChangeRead,
    ContractTermsPut,
    ContractTermsRead,
    CreditWaive,
    ThirdPartyCostCreate,
    ThirdPartyCostRead,
)

router = APIRouter(prefix="/v1", tags=["contracts"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid token"}, 403: {"description": "role not allowed"},
    422: {"description": "invalid body, path or query (problem+json names the field)"},
}
ContractCode = Annotated[Id, Path()]


def _defaults(request: Request) -> dict[str, Any]:
    cfg: DispatchConfig = request.app.state.dispatch_cfg
    return service.defaults_of(cfg)


@router.put("/contracts/{contract_code}/terms", response_model=ContractTermsChangeRead, responses={
    **ERRORS, 200: {"description": "The same change was already recorded for that date (no new version)"},
    201: {"model": ContractTermsChangeRead, "description": "A new version of the terms, from effective_from"}})
async def put_terms(contract_code: ContractCode, body: ContractTermsPut, session: DbSession,
                    p: CanManageContractTerms, request: Request, response: Response) -> Any:
    """Change some of the contract's terms from ``effective_from`` (today or later; 422 ``terms_backdated``
    otherwise); terms left out keep their value. Who, when and why are kept on the change. Facts dated before the
    change keep the terms in force when they happened."""
    row, created = await service.put_terms(session, contract_code=contract_code, body=body, actor=p,
                                           defaults=_defaults(request), today=clock.business_today(),
                                           now=clock.now())
    response.status_code = 201 if created else 200
    return row


@router.get("/contracts/{contract_code}/terms", response_model=ContractTermsRead, responses=ERRORS)
async def terms_in_force(contract_code: ContractCode, request: Request, session: DbSession, p: CanReadContractTerms,
                         on: Annotated[BusinessDate | None, Query(description="default: today")] = None,
                         ) -> dict[str, Any]:
    """The contract's terms in force on a date, with the change each value comes from (null: the default)."""
    day: date = on or clock.business_today()
    return await service.in_force(session, contract_code=contract_code, on=day, defaults=_defaults(request))


@router.get("/contracts/{contract_code}/terms/history", response_model=list[ContractTermsChangeRead],
            responses=ERRORS)
async def terms_history(contract_code: ContractCode, session: DbSession, p: CanReadContractTerms) -> Any:
    """Every recorded change of the contract's terms, oldest first (who, when, from which date, why)."""
    return await service.history(session, contract_code=contract_code)


@router.get("/contracts/{contract_code}/credits", response_model=list[ContractCreditRead], responses=ERRORS)
async def credits(contract_code: ContractCode, session: DbSession, p: CanReadContractCredits,
                  limit: Annotated[Limit, Query(le=500)] = 100, offset: Offset = 0) -> Any:
    """R-S9: what the customer's contract is owed (breached milestones of jobs no dealer held, third-party repair
    costs), oldest first, with waivers."""
    return await service.list_credits(session, contract_code=contract_code, limit=limit, offset=offset)


@router.post("/contract-credits/{credit_id}/waive", response_model=ContractCreditRead, responses={
    **ERRORS, 404: {"description": "no such credit"}, 409: {"description": "already waived (names status)"}})
async def waive_credit(credit_id: Annotated[Id, Path()], body: CreditWaive, session: DbSession,
                       p: CanWaiveContractCredits) -> Any:
    """Finance waives a credit once: force majeure, or a customer-caused delay (with evidence)."""
    return await service.waive(session, credit_id=credit_id, body=body, actor=p, now=clock.now())


@router.post("/jobs/{job_id}/third-party-cost", status_code=201, response_model=ThirdPartyCostRead, responses={
    **ERRORS, 404: {"description": "no such job"},
    409: {"description": "the invoice is already recorded on the job with another amount or vendor (names "
                         "invoice_no), or the Idempotency-Key was used with another body"}})
async def third_party_cost(job_id: Annotated[Id, Path()], body: ThirdPartyCostCreate, session: DbSession,
                           p: CanRecordThirdPartyCosts, key: IdempotencyKey = None) -> JSONResponse:
    """R-S9: the owner had the repair done by a third party; its cost is charged to the dealer whose engineer held
    the job (``dispatch.job.third_party_cost``), else credited to the job's customer contract. The same invoice
    again answers the first record."""

    async def run() -> ThirdPartyCostRead:
        cost, _ = await service.record_third_party_cost(session, job_id=job_id, body=body, actor=p,
                                                        now=clock.now())
        return ThirdPartyCostRead.model_validate(cost)

    return await idempotent(session, p, key, {"job_id": job_id, **body.model_dump(mode="json")}, 201, run)
