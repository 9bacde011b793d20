"""HTTP: disputes about statements (/v1/statements/{id}/disputes, /v1/disputes…)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Limit

from ..access import CanOpenDisputes, CanReadSettlement, CanResolveDisputes, problems
from ..domain.dispute_lifecycle import DisputeStatus
from ..terms.dependencies import TermDefaults
from . import service
from .schemas import DisputeCreate, DisputeRead, DisputeResolve

router = APIRouter(prefix="/v1", tags=["settlement: disputes"])


@router.post("/statements/{statement_id}/disputes", status_code=201, response_model=DisputeRead,
             responses=problems(404, 422))
async def open_dispute(statement_id: UUID, body: DisputeCreate, session: DbSession,
                       p: CanOpenDisputes, defaults: TermDefaults) -> dict[str, Any]:
    """Dispute one's statement (optionally one line) within the dispute window of the dealer's terms in force
    on the statement's issue date (R-D6, 3 months by default)."""
    return await service.open_dispute(session, statement_id=statement_id, actor=p, reason=body.reason,
                                      line_no=body.line_no, claimed_amount=body.claimed_amount, now=clock.now(),
                                      defaults=defaults)


@router.post("/disputes/{dispute_id}/resolve", response_model=DisputeRead, responses=problems(404, 409, 422))
async def resolve_dispute(dispute_id: UUID, body: DisputeResolve, session: DbSession,
                          p: CanResolveDisputes) -> dict[str, Any]:
    """Accept (with the adjustment for a later statement) or reject an open dispute."""
    return await service.resolve_dispute(session, dispute_id=dispute_id, actor=p, accept=body.accept,
                                         adjustment=body.adjustment, note=body.note, now=clock.now())


@router.get("/disputes", response_model=list[DisputeRead], responses=problems(422))
async def list_disputes(session: DbSession, p: CanReadSettlement,
                        status: Annotated[DisputeStatus | None, Query()] = None,
                        limit: Annotated[Limit, Query()] = 100) -> list[Any]:
    """Disputes (a dealer only its own), newest first."""
    return await service.list_disputes(session, principal=p, status=status, limit=limit)
