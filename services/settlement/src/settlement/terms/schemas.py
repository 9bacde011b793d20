"""The dealer service agreement's terms over HTTP: a change (some terms, from a date), the terms in force on a
date, the history of changes. Money and percentages as exact strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from aftersales_shared.money import DecimalText, Money, Percent
from aftersales_shared.schemas import BusinessDate, LongText, ReadModel, StrictModel, TermsChangeRead, TermsInForceRead

PerMille = Annotated[Decimal, Field(ge=0, le=1000, max_digits=8, decimal_places=4), DecimalText]
UnitAmount = Annotated[Money, Field(le=Decimal("9999999999.99"))]
MilestoneName = Literal["respond", "arrive", "resolve"]
Reason = Annotated[LongText, Field(max_length=2000)]


class DealerTermValues(StrictModel):
    """The terms a change sets (a term left out keeps the value in force before the change)."""

    callback_target_percent: Percent | None = Field(None, description="R-T5: share of a month's repairs called back")
    payment_days: Annotated[int, Field(ge=0, le=365)] | None = Field(
        None, description="R-D5: days to pay after approval")
    dispute_window_months: Annotated[int, Field(ge=0, le=60)] | None = Field(
        None, description="R-D6: months after a statement's issue in which it may be disputed")
    excellence_complaints_per_mille: PerMille | None = Field(
        None, description="R-D7: upheld complaints per 1000 registered sales must stay below this")
    excellence_satisfaction_percent: Percent | None = Field(None, description="R-D7: yearly satisfaction at least")
    excellence_feedback_percent: Percent | None = Field(
        None, description="R-D7: share of months with quality feedback at least")
    sla_penalty: Literal["none", "percent", "fixed"] | None = Field(
        None, description="R-S9: liquidated damages for a missed milestone: none, a % of the service value, fixed")
    sla_penalty_percent: Percent | None = None
    sla_penalty_amount: UnitAmount | None = None
    sla_penalty_milestones: Annotated[list[MilestoneName], Field(max_length=3)] | None = None
    sla_service_value: UnitAmount | None = Field(
        None, description="R-S9: the service value the % is taken of (default: the contract's repair + visit fee)")
    retention_years: Annotated[int, Field(ge=5, le=100)] | None = Field(
        None, description="R-T4: years the dealer's statements and service records are kept (at least 5)")
    purge_after_years: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None, description="R-T4: years an archived statement or service record is kept before it is purged")
    card_registration_days: Annotated[int, Field(ge=0, le=366)] | None = Field(
        None, description="R-W10: days after the sale within which the warranty card must be registered")
    assessment_issue_by_day: Annotated[int, Field(ge=1, le=28)] | None = Field(
        None, description="R-D7: the month's assessment is issued by this day of the next month (Shanghai)")
    assessment_grade_a: Percent | None = Field(None, description="R-D7: an assessment scoring at least this is A")
    assessment_grade_b: Percent | None = Field(None, description="R-D7: at least this is B (not above A's floor)")
    assessment_grade_c: Percent | None = Field(None, description="R-D7: at least this is C (below it: D)")


class DealerTermsPut(StrictModel):
    effective_from: BusinessDate = Field(description="the first day the change applies to (today or later)")
    values: DealerTermValues
    reason: Reason | None = None

    @model_validator(mode="after")
    def _something(self) -> DealerTermsPut:
        if not self.values.model_dump(exclude_none=True):
            raise ValueError("values must set at least one term")
        return self


class DealerTermValuesRead(ReadModel):
    callback_target_percent: Percent
    payment_days: int
    dispute_window_months: int
    excellence_complaints_per_mille: PerMille
    excellence_satisfaction_percent: Percent
    excellence_feedback_percent: Percent
    sla_penalty: str
    sla_penalty_percent: Percent
    sla_penalty_amount: Annotated[Decimal, DecimalText]
    sla_penalty_milestones: list[str]
    sla_service_value: Annotated[Decimal, DecimalText] | None
    retention_years: int
    purge_after_years: int
    card_registration_days: int
    assessment_issue_by_day: int
    assessment_grade_a: Percent
    assessment_grade_b: Percent
    assessment_grade_c: Percent


class DealerTermsRead(TermsInForceRead):
    dealer_id: str
    values: DealerTermValuesRead


class DealerTermsChangeRead(TermsChangeRead):
    dealer_id: str
