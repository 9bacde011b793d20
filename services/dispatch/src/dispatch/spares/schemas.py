"""Bodies of the spare-unit API (R-S6): register, read, convert; the job's spare-unit suggestion."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from aftersales_shared.schemas import ReadModel, StrictModel

from ..fields import Id, Reason, Serial

Condition = Literal["new", "good", "fair", "faulty"]
SpareStatus = Literal["available", "lent", "in_repair", "sold", "written_off"]
"""The spare lifecycle's statuses (``domain/spare_lifecycle.py``)."""


class SpareCreate(StrictModel):
    """A spare unit entering a service centre's pool (available); a dealer registers into its own centres only."""

    serial: Serial
    product_line: Id
    centre_id: Id
    condition: Condition = "good"
    loan_hours: int | None = Field(None, ge=1, le=24 * 365, description="how long a loan of it lasts until due "
                                   "back; default DISPATCH_SPARE_DUE_BACK_HOURS (a setting until contract terms "
                                   "are data)")


class SpareConvert(StrictModel):
    """The spare leaves the pool for good: sold (to the customer holding it, typically) or written off."""

    to: Literal["sold", "written_off"]
    reason: Reason


class SpareCollect(StrictModel):
    """A spare lent to a job that has ended without it coming back (the job was cancelled) is collected by ops."""

    condition: Condition = "good"


class SpareRead(ReadModel):
    id: str
    serial: str
    product_line: str
    condition: str
    status: str
    centre_id: str
    dealer_id: str | None
    job_id: str | None = Field(description="the job it is lent to (status lent)")
    lent_at: datetime | None
    due_back_at: datetime | None
    reminded_at: datetime | None
    loan_hours: int
    converted_reason: str | None
    overdue: bool = False
    location: str = Field(description="where it is: 'centre:<id>' in the pool or repair, 'job:<id>' at the "
                                      "customer of a job, 'gone' once sold or written off")
    version: int


class SpareSuggestion(BaseModel):
    """Whether the job should get a spare unit now (R-S6) and the nearest ones it may get."""

    job_id: str
    product_line: str
    entitled: bool = Field(description="the job's SLA policy entitles a spare unit (spare_entitled)")
    at_risk: str | None = Field(description="why the resolve deadline is at risk: resolve_warning | waiting_parts")
    suggested: bool = Field(description="entitled, at risk, open, and no spare out yet")
    spare_out: str | None = Field(description="the spare already lent to the job")
    spares: list[SpareRead] = Field(description="available spares of the product line lendable to the job, "
                                                "nearest centre first (when suggested)")
