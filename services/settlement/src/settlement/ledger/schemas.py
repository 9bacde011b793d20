"""Ledger inputs (payments received, verification findings) and ledger entries (money as exact strings)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator

from aftersales_shared.money import Money, SignedMoney
from aftersales_shared.schemas import ReadModel, StrictModel


class PaymentCreate(StrictModel):
    document_no: str = Field(min_length=1, max_length=100)
    amount: Money
    received_on: date


class PaymentRead(ReadModel):
    dealer_id: str
    document_no: str
    amount: Money
    received_on: date


class PaymentImportRead(ReadModel):
    rows: int
    imported: int
    duplicates: int


FindingKind = Literal["incomplete_record", "falsified_record", "falsified_cards", "breach", "return_cost"]


class FindingCreate(StrictModel):
    """A verification finding or charge (R-D5, R-D3, R-D4)."""

    kind: FindingKind
    reference: str = Field(min_length=1, max_length=100, description="the record or document concerned")
    value: Money = Decimal("0.00")
    occurred_at: datetime
    note: str | None = Field(default=None, max_length=1000)

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("must include a timezone offset")
        return v


class FindingRead(ReadModel):
    dealer_id: str
    kind: FindingKind
    reference: str
    value: Money
    occurred_at: datetime
    note: str | None


class LedgerEntryRead(ReadModel):
    id: int
    kind: str
    amount: SignedMoney
    quantity: int
    occurred_at: datetime
    quarter: str = Field(description="the quarter the fact belongs to")
    booked_quarter: str = Field(description="the quarter it is settled in (later when its own was closed)")
    source_type: str
    source_id: str
