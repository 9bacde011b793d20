"""Disputes about a statement (R-D6) — money as exact strings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field

from aftersales_shared.money import SignedMoney
from aftersales_shared.schemas import LongText, ReadModel, StrictModel

from ..domain.dispute_lifecycle import DisputeStatus


class DisputeCreate(StrictModel):
    reason: Annotated[LongText, Field(min_length=3, max_length=2000)]
    line_no: Annotated[int, Field(ge=1, le=10000)] | None = None
    claimed_amount: SignedMoney | None = None


class DisputeResolve(StrictModel):
    accept: bool
    adjustment: SignedMoney | None = None
    note: Annotated[LongText, Field(max_length=2000)] | None = None


class DisputeRead(ReadModel):
    id: UUID
    statement_id: UUID
    dealer_id: str
    line_no: int | None
    reason: str
    claimed_amount: SignedMoney | None
    status: DisputeStatus
    opened_by: str
    opened_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    adjustment: SignedMoney | None
    resolution_note: str | None
