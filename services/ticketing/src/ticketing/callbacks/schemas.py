"""Callback schemas: CallbackOutcome (what the agent learnt), CallbackRead, the monthly dealer report."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from aftersales_shared.schemas import StrictModel

from ..fields import Comment

CallbackStatus = Literal["pending", "done"]
SatisfactionChannel = Literal["phone", "sms", "link", "wechat"]


class CallbackOutcome(StrictModel):
    reached: bool
    fixed: bool | None = None
    satisfaction: int | None = Field(None, ge=1, le=5)
    comment: Comment | None = None

    @model_validator(mode="after")
    def _reached(self) -> CallbackOutcome:
        if not self.reached and (self.fixed is not None or self.satisfaction is not None):
            raise ValueError("fixed and satisfaction are only known when the customer was reached")
        return self


class SatisfactionIn(StrictModel):
    """A customer's rating of the repair (R-T5): 1 (bad) to 5 (very good), and how it came in."""

    score: int = Field(ge=1, le=5)
    channel: SatisfactionChannel
    comment: Comment | None = None


class CallbackRead(BaseModel):
    id: UUID
    ticket_id: UUID
    job_id: str | None
    dealer_id: str | None
    repair_completed_at: datetime
    status: str
    reached: bool | None
    fixed: bool | None
    satisfaction: int | None
    comment: str | None
    recorded_by: str | None
    recorded_at: datetime | None
    channel: str | None = None


class DealerMonthRead(BaseModel):
    dealer_id: str | None
    repairs: int
    callbacks: int
    callback_rate: float | None
    callback_target: float
    meets_callback_target: bool
    reached: int
    fixed_on_callback: int
    satisfaction_avg: float | None
    satisfaction_responses: int
    complaints: int
    upheld_complaints: int
    complaint_rate: float | None


class DealerMonthlyReport(BaseModel):
    month: str
    dealers: list[DealerMonthRead]
