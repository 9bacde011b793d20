"""Monthly assessment and yearly excellence (R-D7): rates as exact 4-place decimal strings, or null."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import Field, PlainSerializer

from aftersales_shared.schemas import ReadModel

Rate = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")]
"""A share between 0 and 1 to 4 places ("0.7500"); null when it has no denominator."""


class MonthActivityRead(ReadModel):
    repairs: int
    callbacks: int
    callbacks_reached: int
    satisfied: int
    scored: int
    complaints_upheld: int
    registered_sales: int
    sla_breaches: int
    report_submitted: bool
    quality_feedback: bool


class AssessmentRead(ReadModel):
    dealer_id: str
    month: str
    available_by: date
    activity: MonthActivityRead
    callback_rate: Rate | None
    satisfaction: Rate | None
    complaint_rate: Rate | None
    sla_attainment: Rate | None
    report_submitted: bool
    callback_target_met: bool


class IssuedAssessmentRead(ReadModel):
    """R-D7: the monthly assessment as issued to the dealer (score 0-100 to one place, grade A-D)."""

    assessment_id: UUID
    dealer_id: str
    month: str
    score: Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")]
    grade: str
    issued_at: datetime
    late: bool = Field(description="issued after the dealer's day (assessment_issue_by_day): the job did not run "
                                   "on days 1..N (an outage), so the month came late, not never (R-D7)")
    document: AssessmentRead


class ExcellenceRead(ReadModel):
    dealer_id: str
    year: int
    complaints_ok: bool
    satisfaction_ok: bool
    quality_feedback_ok: bool
    excellent: bool
