"""Ledger inputs (payments received, verification findings) and ledger entries (money as exact strings)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from aftersales_shared.money import Money, SignedMoney
from aftersales_shared.schemas import BusinessDate, BusinessDateTime, LongText, ReadModel, StrictModel, Text

DocumentNo = Annotated[Text, Field(max_length=100)]


class PaymentCreate(StrictModel):
    document_no: DocumentNo
    amount: Money
    received_on: BusinessDate


class PaymentRead(ReadModel):
    dealer_id: str
    document_no: str
    amount: Money
    received_on: date


class PaymentImportRead(ReadModel):
    rows: int
    imported: int
    duplicates: int


Note = Annotated[LongText, Field(max_length=1000)]
FindingKind = Literal["incomplete_record", "falsified_record", "falsified_cards", "breach", "return_cost"]


class FindingCreate(StrictModel):
    """A verification finding or charge (R-D5, R-D3, R-D4)."""

    kind: FindingKind
    reference: DocumentNo = Field(description="the record or document concerned")
    value: Money = Decimal("0.00")
    occurred_at: BusinessDateTime
    note: Note | None = None


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
