"""Dealers, contract versions and monthly report submissions (money as exact strings)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, model_validator

from aftersales_shared.money import Money
from aftersales_shared.schemas import BusinessDate, Month, ReadModel, StrictModel, Text

Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
DealerId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
"""A dealer's id, in a body, path or query (its pattern admits no NUL or other control character)."""
Territory = Annotated[Text, Field(max_length=64)]
UnitFee = Annotated[Money, Field(le=Decimal("9999999999.99"))]
"""A fee per unit (a sale, a repair, a visit, a complaint): it is also a statement line's ``unit_amount``
(NUMERIC(14,4)), so at most 9,999,999,999.99."""


class DealerCreate(StrictModel):
    id: DealerId
    name: Text
    territories: list[Territory] = Field(default_factory=list, max_length=200)


class DealerRead(ReadModel):
    id: str
    name: str
    territories: list[str]
    created_at: datetime


class ContractParameters(StrictModel):
    """Fee model parameters and penalties: data, per contract version."""

    per_sale_amount: UnitFee | None = None
    sales_percent: Percent | None = None
    budget_percent: Percent | None = None
    repair_fee: UnitFee | None = None
    home_visit_fee: UnitFee | None = None
    complaint_penalty: UnitFee | None = None
    falsified_fine_multiple: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)] | None = None
    quality_feedback_percent: Percent | None = None
    months_without_records: Annotated[int, Field(ge=1, le=12)] | None = None
    months_without_feedback: Annotated[int, Field(ge=1, le=12)] | None = None
    unit_replacement_fee: UnitFee | None = None  # per unit exchanged or replaced under 三包 (issue 15; absent: 0)


REQUIRED = {"a": ("per_sale_amount",), "b": ("sales_percent",), "c": ("budget_percent", "repair_fee"),
            "d": ("repair_fee",)}


class ContractCreate(StrictModel):
    effective_from: BusinessDate
    effective_to: BusinessDate | None = None
    fee_model: Literal["a", "b", "c", "d"]
    parameters: ContractParameters

    @model_validator(mode="after")
    def _check(self) -> ContractCreate:
        if self.effective_to and self.effective_to < self.effective_from:
            raise ValueError("effective_to must not be before effective_from")
        missing = [k for k in REQUIRED[self.fee_model] if getattr(self.parameters, k) is None]
        if missing:
            raise ValueError(f"fee model {self.fee_model} needs parameters: {', '.join(missing)}")
        return self


class ContractRead(ReadModel):
    id: UUID
    dealer_id: str
    version: int
    effective_from: date
    effective_to: date | None
    fee_model: str
    parameters: dict[str, Any] = Field(description="the contract's parameters as stored (amounts as strings)")
    created_by: str
    created_at: datetime


class MonthlyReportCreate(StrictModel):
    month: Month
    records: bool
    quality_feedback: bool


class MonthlyReportRead(ReadModel):
    dealer_id: str
    month: str
    records: bool
    quality_feedback: bool
