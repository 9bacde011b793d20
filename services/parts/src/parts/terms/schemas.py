"""The dealer's parts terms over HTTP: a change (some terms, from a date), the terms in force, the history."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from aftersales_shared.money import Percent
from aftersales_shared.schemas import BusinessDate, LongText, ReadModel, StrictModel, TermsChangeRead, TermsInForceRead


class PartsTermValues(StrictModel):
    """The terms a change sets (one left out keeps the value in force before the change)."""

    ship_within_days: Annotated[int, Field(ge=0, le=60)] | None = Field(
        None, description="R-P1: ship within N days of the request becoming shippable")
    return_due_days: Annotated[int, Field(ge=1, le=365)] | None = Field(
        None, description="R-P4: the old part is due back N days after the new one is issued")
    base_stock_percent: Percent | None = Field(
        None, description="R-P5: base stock = this % of the dealer's registered sales in the window")
    seasonal_plan_ahead_days: Annotated[int, Field(ge=0, le=365)] | None = Field(
        None, description="R-P9: the seasonal stock plan looks this many days ahead")


class PartsTermsPut(StrictModel):
    effective_from: BusinessDate = Field(description="the first day the change applies to (today or later)")
    values: PartsTermValues
    reason: Annotated[LongText, Field(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _something(self) -> PartsTermsPut:
        if not self.values.model_dump(exclude_none=True):
            raise ValueError("values must set at least one term")
        return self


class PartsTermValuesRead(ReadModel):
    ship_within_days: int
    return_due_days: int
    base_stock_percent: Percent
    seasonal_plan_ahead_days: int


class PartsTermsRead(TermsInForceRead):
    dealer_id: str
    values: PartsTermValuesRead


class PartsTermsChangeRead(TermsChangeRead):
    dealer_id: str
