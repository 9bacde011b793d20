"""HTTP API of repairs on site (issue 15): the engineer's diagnosis, rate cards, quotes, payments, the paid-repair
revenue report (HTTP only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy import select

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.errors import NotFound
from aftersales_shared.idempotency import IdempotencyKey, replay_headers
from aftersales_shared.schemas import BusinessDate

from ..access import (
    CanActAsEngineer,
    CanConfigureDispatch,
    CanReadJobs,
    CanReadRateCards,
    CanReadRepairReports,
    CanRecordJobPayment,
    engineer_id_of,
    visible_jobs,
)
from ..config import DispatchConfig
from ..fields import Id
from ..models import Job
from . import service
from .schemas import (
    DiagnosisIn,
    DiagnosisRead,
    LineComponentsRead,
    PaidRepairReport,
    PaymentIn,
    PaymentRead,
    QuoteAcceptIn,
    QuoteDeclineIn,
    QuoteIn,
    QuoteRead,
    RateCardIn,
    RateCardRead,
)

router = APIRouter(prefix="/v1", tags=["repairs"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid token"}, 403: {"description": "role not allowed"},
    404: {"description": "no such job in the caller's scope, or no diagnosis yet"},
    422: {"description": "invalid body or path (problem+json names the field)"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 409: {"description": "the job's status allows no diagnosis (closed, or not yet accepted)"},
    422: {"description": "invalid body, an exclusion without evidence, a component not in the product line's list "
                         "or a part number not linked to its component (problem+json names the field, e.g. "
                         "components[0].component, and lists the allowed components)"}}

JobId = Annotated[Id, Path()]


@router.put("/jobs/{job_id}/diagnosis", response_model=DiagnosisRead, responses=WRITE_ERRORS)
async def put_diagnosis(job_id: JobId, body: DiagnosisIn, session: DbSession, p: CanActAsEngineer) -> DiagnosisRead:
    """The engineer's diagnosis of a job it holds: failed components, root cause (R-T3), exclusions found (R-W3)
    with evidence. Ticketing re-determines the coverage from it (an exclusion or a customer-side cause makes the
    repair paid); the same diagnosis sent again changes nothing. The components are checked against the product
    line's component list (from ticketing's catalogue); when none has reached dispatch yet they are accepted as
    named and the answer says so (``components_validated=false``)."""
    return await service.record_diagnosis(session, job_id=job_id, engineer_id=engineer_id_of(p), body=body,
                                          now=clock.now())


@router.get("/jobs/{job_id}/diagnosis", response_model=DiagnosisRead, responses=ERRORS)
async def get_diagnosis(job_id: JobId, session: DbSession, p: CanReadJobs) -> DiagnosisRead:
    """A job's diagnosis with the coverage ticketing decided (in the caller's scope)."""
    job = await session.scalar(select(Job).where(Job.id == job_id, visible_jobs(p)))
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    return await service.get_diagnosis(session, job=job)


@router.get("/product-lines/{product_line}/components", response_model=LineComponentsRead, responses=ERRORS)
async def get_line_components(product_line: Annotated[Id, Path()], session: DbSession,
                              _p: CanReadJobs) -> LineComponentsRead:
    """The product line's component list with the catalogue part numbers linked to each, as dispatch holds it (what
    a diagnosis is checked against; the engineer's app offers it); 404 when none has reached dispatch yet."""
    return LineComponentsRead.model_validate(await service.get_line_components(session, product_line=product_line))


# --- paid repairs (issue 15) -----------------------------------------------------------------------------

QUOTE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 404: {"description": "no such job (or quote) in the caller's scope"},
    409: {"description": "not on site, the job is covered (not paid), no rate card in force, or the quote's "
                         "status does not allow the move (or it expired)"}}
PAYMENT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 404: {"description": "no such job in the caller's scope"},
    409: {"description": "nothing due (no accepted or declined quote), or the receipt is already recorded"},
    422: {"description": "invalid body, or more than is still due (problem+json names the field)"}}
CARD_ERRORS: dict[int | str, dict[str, Any]] = {
    401: ERRORS[401], 403: ERRORS[403], 422: {"description": "invalid body or path (problem+json names the field)"}}
QuoteId = Annotated[Id, Path()]
ProductLine = Annotated[Id, Path()]


def cfg(request: Request) -> DispatchConfig:
    config: DispatchConfig = request.app.state.dispatch_cfg
    return config


@router.put("/rate-cards/{product_line}/{effective_from}", response_model=RateCardRead, responses=CARD_ERRORS)
async def put_rate_card(product_line: ProductLine, effective_from: Annotated[BusinessDate, Path()], body: RateCardIn,
                        session: DbSession, p: CanConfigureDispatch) -> RateCardRead:
    """A product line's paid-repair prices from a date on (data, effective-dated): labour per hour, visit fee, the
    visit fee charged when a quote is declined, shipping and insurance and the customer's share of it (R-W9)."""
    row = await service.put_rate_card(session, product_line=product_line, effective_from=effective_from, body=body,
                                      actor=p.sub, now=clock.now())
    return RateCardRead.model_validate(row)


@router.get("/rate-cards/{product_line}", response_model=list[RateCardRead], responses=CARD_ERRORS)
async def get_rate_cards(product_line: ProductLine, session: DbSession, p: CanReadRateCards) -> list[RateCardRead]:
    """Every version of a product line's rate card, oldest first."""
    return [RateCardRead.model_validate(r) for r in await service.rate_cards(session, product_line=product_line)]


@router.post("/jobs/{job_id}/quotes", status_code=201, response_model=QuoteRead, responses=QUOTE_ERRORS)
async def present_quote(job_id: JobId, body: QuoteIn, session: DbSession, p: CanActAsEngineer, response: Response,
                        key: IdempotencyKey = None) -> QuoteRead:
    """The engineer presents a paid repair's quote on site (the job's coverage is paid): labour by the rate card
    in force, parts at list price, the visit fee, the R-W9 shipping share; ``dispatch.job.quote_presented``."""
    q, replayed = await service.present_quote(session, job_id=job_id, engineer_id=engineer_id_of(p), body=body,
                                              key=key, now=clock.now())
    response.headers.update(replay_headers(replayed))
    return q


@router.get("/jobs/{job_id}/quotes", response_model=list[QuoteRead], responses=ERRORS)
async def list_quotes(job_id: JobId, session: DbSession, p: CanReadJobs) -> list[QuoteRead]:
    """A job's quotes, oldest first, with what is due and paid."""
    job = await session.scalar(select(Job).where(Job.id == job_id, visible_jobs(p)))
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    return await service.job_quotes(session, job=job)


@router.post("/jobs/{job_id}/quotes/{quote_id}/accept", response_model=QuoteRead, responses=QUOTE_ERRORS)
async def accept_quote(job_id: JobId, quote_id: QuoteId, body: QuoteAcceptIn, session: DbSession,
                       p: CanActAsEngineer) -> QuoteRead:
    """The customer accepts and signs (``dispatch.job.quote_accepted``); the paid work may start."""
    return await service.accept_quote(session, job_id=job_id, quote_id=quote_id, engineer_id=engineer_id_of(p),
                                      body=body, now=clock.now())


@router.post("/jobs/{job_id}/quotes/{quote_id}/decline", response_model=QuoteRead, responses=QUOTE_ERRORS)
async def decline_quote(job_id: JobId, quote_id: QuoteId, body: QuoteDeclineIn, session: DbSession,
                        p: CanActAsEngineer, request: Request) -> QuoteRead:
    """The customer declines (``dispatch.job.quote_declined``): the job closes as declined and the configured visit
    fee is due."""
    return await service.decline_quote(session, cfg(request), job_id=job_id, quote_id=quote_id,
                                       engineer_id=engineer_id_of(p), body=body, now=clock.now())


@router.post("/jobs/{job_id}/payments", status_code=201, response_model=PaymentRead, responses=PAYMENT_ERRORS)
async def record_payment(job_id: JobId, body: PaymentIn, session: DbSession, p: CanRecordJobPayment,
                         response: Response, key: IdempotencyKey = None) -> PaymentRead:
    """The customer's payment for the job (amount, method, receipt no.); the same receipt again is a replay."""
    pay, replayed = await service.record_payment(session, job_id=job_id, visible=visible_jobs(p), body=body,
                                                 actor=p.sub, now=clock.now())
    response.headers.update(replay_headers(replayed))
    return PaymentRead.model_validate(pay)


@router.get("/reports/paid-repairs", response_model=PaidRepairReport, responses=ERRORS)
async def paid_repairs(session: DbSession, p: CanReadRepairReports, date_from: BusinessDate,
                       date_to: BusinessDate) -> Any:
    """Paid-repair revenue over quotes presented in [date_from, date_to]: presented, accepted, declined, quoted,
    paid (by method) and still due."""
    return await service.paid_repair_report(session, visible=visible_jobs(p), date_from=date_from, date_to=date_to)
