"""Complaint schemas: ComplaintCreate, ComplaintResolve, ComplaintRead."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, model_validator

from aftersales_shared.schemas import StrictModel

from ..fields import DealerId, Description, Note

Category = Literal["service", "quality_feedback", "escalation", "other"]
Against = Literal["dealer", "manufacturer", "engineer", "none"]
ComplaintStatus = Literal["open", "resolved"]


class ComplaintCreate(StrictModel):
    ticket_id: UUID | None = None
    dealer_id: DealerId | None = None
    category: Category
    description: Description


class ComplaintResolve(StrictModel):
    upheld: bool
    against: Against
    resolution: Description
    root_cause: Note | None = None

    @model_validator(mode="after")
    def _who(self) -> ComplaintResolve:
        if self.upheld and self.against == "none":
            raise ValueError("an upheld complaint names against whom (dealer, manufacturer or engineer)")
        if not self.upheld and self.against != "none":
            raise ValueError("a complaint not upheld is against none")
        return self


class ComplaintRead(BaseModel):
    id: UUID
    ticket_id: UUID | None
    dealer_id: str | None
    category: str
    description: str
    status: str
    filed_by: str
    filed_at: datetime
    respond_by: datetime
    overdue: bool
    upheld: bool | None
    against: str | None
    resolution: str | None
    root_cause: str | None
    resolved_at: datetime | None
