"""Statement runs, statements with their lines, the audit trail (money as exact strings)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, PlainSerializer

from aftersales_shared.money import Money, SignedMoney
from aftersales_shared.schemas import Quarter as QuarterName
from aftersales_shared.schemas import ReadModel, StrictModel

from ..dealers.schemas import DealerId

ExactDecimal = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")]
"""A quantity or unit amount with more places than money, as an exact string."""
StatementStatusName = Literal["draft", "reviewed", "approved", "paid"]


class RunCreate(StrictModel):
    quarter: QuarterName = Field(description="2000Q1…2199Q4, the quarters of the shared business range")
    dealer_ids: list[DealerId] | None = Field(default=None, max_length=10000)


class RunItem(ReadModel):
    dealer_id: str
    statement_id: UUID
    revision: int


class RunRead(ReadModel):
    quarter: str
    created: list[RunItem] = Field(description="new statements or revisions written by this run")
    unchanged: list[RunItem] = Field(description="statements whose inputs did not change")
    closed: list[RunItem] = Field(description="approved or paid statements, never rewritten")


class StatementChange(ReadModel):
    line: str
    before: str
    after: str


class StatementRead(ReadModel):
    id: UUID
    dealer_id: str
    quarter: str
    revision: int
    status: StatementStatusName
    superseded: bool
    contract_id: UUID
    fee_model: str
    gross_fee: SignedMoney
    deductions: SignedMoney
    forfeits: SignedMoney
    adjustments: SignedMoney
    net_amount: SignedMoney
    budget: Money
    carry_in: Money
    carry_out: Money
    quality_penalty_applied: bool
    inputs_hash: str
    changes: list[StatementChange] = Field(description="what changed against the previous revision")
    prepared_by: str
    reviewed_by: str | None
    approved_by: str | None
    paid_by: str | None
    created_at: datetime
    reviewed_at: datetime | None
    approved_at: datetime | None
    paid_at: datetime | None
    due_on: date | None


class StatementLineRead(ReadModel):
    line_no: int
    code: str
    category: Literal["fee", "deduction", "forfeit", "adjustment"]
    description: str
    quantity: ExactDecimal
    unit_amount: ExactDecimal | None
    amount: SignedMoney
    late_from: str | None


class StatementDetail(StatementRead):
    lines: list[StatementLineRead]


class AuditEntryRead(ReadModel):
    at: datetime
    actor: str
    action: str
    details: dict[str, Any]
