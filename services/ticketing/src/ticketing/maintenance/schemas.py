"""Bodies of the preventive-maintenance API (R-S10, issue 16 item 4): plans, occurrences, checklists."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from aftersales_shared.schemas import BusinessDate, LongText, StrictModel, Text

from ..fields import Reason

Scope = Literal["unit", "contract"]
PmKind = Literal["visit", "inspection", "call"]
PmStatus = Literal["due", "scheduled", "completed", "missed"]


class PmPlanPut(StrictModel):
    """A plan's terms (contract data, R-S10): e.g. a visit every 6 months, a 14-day window, generated 14 days
    ahead; periods count from ``effective_from``. A change is a new version from its ``effective_from`` (today or
    later): periods before it keep the version they were generated under."""

    every_months: int = Field(ge=1, le=60)
    window_days: int = Field(ge=1, le=366)
    lead_days: int = Field(14, ge=0, le=366)
    effective_from: BusinessDate = Field(description="the first day this version applies to (today or later)")
    active: bool = Field(True, description="false: no periods from effective_from on (the plan ends)")
    reason: Reason | None = Field(None, description="why the plan is set or changed (kept in its history)")


class PmPlanRead(BaseModel):
    id: UUID
    scope: Scope
    target: str
    kind: PmKind
    every_months: int
    window_days: int
    lead_days: int
    effective_from: date
    active: bool
    updated_by: str
    updated_at: datetime
    version: int = Field(description="the latest recorded version (these terms); see the history for the others")


class PmPlanVersionRead(BaseModel):
    plan_id: UUID
    version: int
    effective_from: date
    every_months: int
    window_days: int
    lead_days: int
    active: bool
    reason: str | None
    created_by: str
    created_at: datetime


class ChecklistItem(StrictModel):
    item: Text
    ok: bool
    note: LongText | None = None


class ChecklistIn(StrictModel):
    """The result of a PM visit, inspection or call: what was checked, whether it was fine, notes."""

    items: list[ChecklistItem] = Field(min_length=1, max_length=100)


class PmOccurrenceRead(BaseModel):
    id: UUID
    plan_id: UUID
    serial: str
    kind: PmKind
    period_start: date
    window_start: datetime
    window_end: datetime
    status: PmStatus
    ticket_id: UUID | None
    checklist: list[dict[str, Any]] | None
    recorded_by: str | None
    recorded_at: datetime | None
    missed_at: datetime | None
    plan_version: int | None = Field(None, description="the plan version that generated it")
