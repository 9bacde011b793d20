"""HTTP: SLA liquidated damages (R-S9) — the charged lines, and finance's waiver (/v1/sla-penalties…)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Limit

from ..access import CanReadSettlement, CanWaivePenalties, problems
from ..dealers.schemas import DealerId
from . import service
from .schemas import SlaPenaltyRead, WaiverCreate

router = APIRouter(prefix="/v1", tags=["settlement: SLA penalties"])


@router.get("/sla-penalties", response_model=list[SlaPenaltyRead], responses=problems(422))
async def list_penalties(session: DbSession, p: CanReadSettlement,
                         dealer_id: Annotated[DealerId | None, Query()] = None,
                         status: Annotated[Literal["charged", "waived"] | None, Query()] = None,
                         limit: Annotated[Limit, Query()] = 100) -> list[Any]:
    """Liquidated damages charged for missed SLA milestones (a dealer sees only its own)."""
    return await service.list_penalties(session, principal=p, dealer_id=dealer_id, status=status, limit=limit)


@router.post("/sla-penalties/{penalty_id}/waive", response_model=SlaPenaltyRead, responses=problems(404, 409, 422))
async def waive(penalty_id: UUID, body: WaiverCreate, session: DbSession, p: CanWaivePenalties) -> dict[str, Any]:
    """Waive charged damages (force majeure, or a customer-caused delay with evidence): a finance decision,
    audited; the credit lands on the dealer's next open statement."""
    return await service.waive(session, penalty_id=penalty_id, body=body, actor=p, now=clock.now())
