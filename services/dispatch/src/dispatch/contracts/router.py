"""HTTP: the registry of customer service contracts (/v1/contracts: register, list, get, update audited, the jobs
that named an unregistered code), a contract's terms (/v1/contracts/{code}/terms…: change from a date, in force,
history), its R-S9 statement of credits and their waiver, and a job's third-party repair cost."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.idempotency import IdempotencyKey
from aftersales_shared.schemas import BusinessDate, Limit, Month, Offset

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
from . import registry, service
from .schemas import (
    ContractChangeRead,
    ContractCreate,
    ContractCreditRead,
    ContractRead,
    ContractStatement,
    ContractStatus,
    ContractTermsChangeRead,
    ContractTermsPut,
    ContractTermsRead,
    ContractUpdate,
    CreditWaive,
    ThirdPartyCostCreate,
    ThirdPartyCostRead,
    UnknownContractJobRead,
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


# --- the registry ------------------------------------------------------------------------------------

@router.post("/contracts", status_code=201, response_model=ContractRead, responses={
    **ERRORS, 409: {"description": "the code is already registered (names code), or the Idempotency-Key was used "
                                   "with another body"}})
async def register_contract(body: ContractCreate, session: DbSession, p: CanManageContractTerms,
                            key: IdempotencyKey = None) -> JSONResponse:
    """Register a customer service contract (active): the code its jobs and terms name, the customer, the SLA tier,
    valid from/to. Audited (``/changes``)."""

    async def run() -> ContractRead:
        return ContractRead.model_validate(await registry.register(session, body, actor=p, now=clock.now()))

    return await idempotent(session, p, key, body.model_dump(mode="json"), 201, run)


@router.get("/contracts", response_model=list[ContractRead], responses=ERRORS)
async def list_contracts(session: DbSession, p: CanReadContractTerms,
                         status: Annotated[ContractStatus | None, Query()] = None,
                         limit: Annotated[Limit, Query(le=500)] = 100, offset: Offset = 0) -> Any:
    """The registered contracts, by code."""
    return await registry.list_contracts(session, status=status, limit=limit, offset=offset)


@router.get("/unknown-contract-jobs", response_model=list[UnknownContractJobRead], responses=ERRORS)
async def unknown_contract_jobs(session: DbSession, p: CanReadContractTerms,
                                limit: Annotated[Limit, Query(le=500)] = 100, offset: Offset = 0) -> Any:
    """Ops: jobs that arrived naming a contract code nobody had registered (dispatched on the default terms all
    the same), newest first — register the contract, or correct the ticket."""
    return [{"job_id": j.id, "ticket_id": j.ticket_id, "contract_code": j.contract_code, "status": j.status,
             "created_at": j.created_at} for j in await registry.unknown_contract_jobs(session, limit=limit,
                                                                                      offset=offset)]


@router.get("/contracts/{contract_code}", response_model=ContractRead, responses={
    **ERRORS, 404: {"description": "not registered (names contract_code)"}})
async def get_contract(contract_code: ContractCode, session: DbSession, p: CanReadContractTerms) -> Any:
    return await registry.get(session, contract_code)


@router.patch("/contracts/{contract_code}", response_model=ContractRead, responses={
    **ERRORS, 404: {"description": "not registered (names contract_code)"},
    409: {"description": "a stale version (names version) or a status move not allowed (names status)"}})
async def update_contract(contract_code: ContractCode, body: ContractUpdate, session: DbSession,
                          p: CanManageContractTerms) -> Any:
    """Change some of the contract's fields (status: active ⇄ suspended, → ended); who, when, what and why are kept
    (``/changes``)."""
    return await registry.update(session, contract_code, body, actor=p, now=clock.now())


@router.get("/contracts/{contract_code}/changes", response_model=list[ContractChangeRead], responses={
    **ERRORS, 404: {"description": "not registered (names contract_code)"}})
async def contract_changes(contract_code: ContractCode, session: DbSession, p: CanReadContractTerms) -> Any:
    """The contract's audit: its registration and every update (who, when, what changed, why), oldest first."""
    return await registry.changes(session, contract_code)


# --- terms ---------------------------------------------------------------------------------------------

@router.put("/contracts/{contract_code}/terms", response_model=ContractTermsChangeRead, responses={
    **ERRORS, 200: {"description": "The same change was already recorded for that date (no new version)"},
    404: {"description": "the contract is not registered (names contract_code): register it first"},
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


@router.get("/contracts/{contract_code}/credits", response_model=ContractStatement, responses=ERRORS)
async def credits(contract_code: ContractCode, session: DbSession, p: CanReadContractCredits,
                  month: Annotated[Month | None, Query(description="YYYY-MM (Shanghai); default: every month")] = None,
                  limit: Annotated[Limit, Query(le=500)] = 100, offset: Offset = 0) -> Any:
    """R-S9: the contract's statement — what the customer's contract is owed (breached milestones of jobs no dealer
    held, missed PM visits, third-party repair costs), oldest first, waived ones shown as waived, with the month's
    totals to the fen (credited: owed; waived: not owed) — for the service manager to send to the customer."""
    return await service.statement(session, contract_code=contract_code, month=month, limit=limit, offset=offset)


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
