"""Request/response schemas of the settlement API (money as 2-place Decimal, strings bounded)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .domain.quarters import Quarter

Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2, ge=Decimal("-999999999999.99"))]
PositiveMoney = Annotated[Decimal, Field(max_digits=14, decimal_places=2, ge=0)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
DealerId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DealerCreate(Strict):
    id: DealerId
    name: str = Field(min_length=1, max_length=200)
    territories: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=200)


class DealerRead(BaseModel):
    id: str
    name: str
    territories: list[str]
    created_at: datetime


class ContractParameters(Strict):
    """Fee model parameters and penalties: data, per contract version."""

    per_sale_amount: PositiveMoney | None = None
    sales_percent: Percent | None = None
    budget_percent: Percent | None = None
    repair_fee: PositiveMoney | None = None
    home_visit_fee: PositiveMoney | None = None
    complaint_penalty: PositiveMoney | None = None
    falsified_fine_multiple: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)] | None = None
    quality_feedback_percent: Percent | None = None
    months_without_records: Annotated[int, Field(ge=1, le=12)] | None = None
    months_without_feedback: Annotated[int, Field(ge=1, le=12)] | None = None


REQUIRED = {"a": ("per_sale_amount",), "b": ("sales_percent",), "c": ("budget_percent", "repair_fee"),
            "d": ("repair_fee",)}


class ContractCreate(Strict):
    effective_from: date
    effective_to: date | None = None
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


class ContractRead(BaseModel):
    id: str
    dealer_id: str
    version: int
    effective_from: date
    effective_to: date | None
    fee_model: str
    parameters: dict
    created_by: str
    created_at: datetime


class PaymentCreate(Strict):
    document_no: str = Field(min_length=1, max_length=100)
    amount: PositiveMoney
    received_on: date


class MonthlyReportCreate(Strict):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    records: bool
    quality_feedback: bool


class FindingCreate(Strict):
    """A verification finding or charge (R-D5, R-D3, R-D4)."""

    kind: Literal["incomplete_record", "falsified_record", "falsified_cards", "breach", "return_cost"]
    reference: str = Field(min_length=1, max_length=100, description="the record or document concerned")
    value: PositiveMoney = Decimal("0.00")
    occurred_at: datetime
    note: str | None = Field(default=None, max_length=1000)

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("must include a timezone offset")
        return v


class RunCreate(Strict):
    quarter: str = Field(pattern=r"^\d{4}Q[1-4]$")
    dealer_ids: list[DealerId] | None = Field(default=None, max_length=10000)

    @field_validator("quarter")
    @classmethod
    def _q(cls, v: str) -> str:
        Quarter.parse(v)
        return v


class DisputeCreate(Strict):
    reason: str = Field(min_length=3, max_length=2000)
    line_no: Annotated[int, Field(ge=1, le=10000)] | None = None
    claimed_amount: Money | None = None


class DisputeResolve(Strict):
    accept: bool
    adjustment: Money | None = None
    note: str | None = Field(default=None, max_length=2000)


MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
