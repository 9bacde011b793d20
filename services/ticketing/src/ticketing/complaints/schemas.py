"""Complaint schemas: ComplaintCreate, ComplaintResolve, ComplaintRead."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from aftersales_shared.schemas import StrictModel

Category = Literal["service", "quality_feedback", "escalation", "other"]
Against = Literal["dealer", "manufacturer", "engineer", "none"]
ComplaintStatus = Literal["open", "resolved"]


class ComplaintCreate(StrictModel):
    ticket_id: UUID | None = None
    dealer_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    category: Category
    description: Annotated[str, Field(min_length=3, max_length=4000)]


class ComplaintResolve(StrictModel):
    upheld: bool
    against: Against
    resolution: Annotated[str, Field(min_length=3, max_length=4000)]
    root_cause: Annotated[str, Field(max_length=400)] | None = None

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
