"""A customer service contract's terms over HTTP: a change (from a date), the terms in force on a date, the
history of changes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from aftersales_shared.schemas import BusinessDate, StrictModel, TermsChangeRead

from ..complaints.schemas import Category
from ..fields import Reason

Hours = Annotated[int, Field(ge=1, le=24 * 90)]


class ComplaintTermsPut(StrictModel):
    effective_from: BusinessDate = Field(description="the first business day the change applies to (today or later)")
    response_hours: dict[Category, Hours] = Field(
        description="R-T6: hours to answer a complaint, per category; a category left out keeps its hours")
    reason: Reason

    @model_validator(mode="after")
    def _something(self) -> ComplaintTermsPut:
        if not self.response_hours:
            raise ValueError("response_hours must set at least one category")
        return self


class ComplaintTermsRead(BaseModel):
    contract_code: str
    on: date
    version: int | None = Field(description="the latest change in force on that date (null: configured defaults)")
    response_hours: dict[str, int]
    source: dict[str, int | None] = Field(description="per category: the change version it comes from (null: default)")


class ComplaintTermsChangeRead(TermsChangeRead):
    contract_code: str


class RecordTermsPut(StrictModel):
    """R-T4 record terms of a contract from a date: a term left out keeps its value."""

    effective_from: BusinessDate = Field(description="the first business day the change applies to (today or later)")
    retention_years: Annotated[int, Field(ge=5, le=100)] | None = Field(
        None, description="R-T4: years a finished ticket (the service record) is kept live after it closed (≥ 5)")
    purge_after_years: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None, description="years an archived ticket is kept in the archive before the retention job purges it")
    reason: Reason

    @model_validator(mode="after")
    def _something(self) -> RecordTermsPut:
        if self.retention_years is None and self.purge_after_years is None:
            raise ValueError("set retention_years or purge_after_years")
        return self


class RecordTermsRead(BaseModel):
    contract_code: str
    on: date
    version: int | None = Field(description="the latest change of these terms in force then (null: configured)")
    retention_years: int
    purge_after_years: int
    source: dict[str, int | None] = Field(description="per term: the change version it comes from (null: default)")
