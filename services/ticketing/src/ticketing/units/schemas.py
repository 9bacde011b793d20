"""Installed-base schemas: UnitCreate/UnitRead, the card, extension and delay records, the warranty position."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, field_validator, model_validator

from aftersales_shared.money import Money
from aftersales_shared.schemas import BusinessDate, StrictModel

from ..domain.phones import normalise_phone
from ..fields import (
    Address,
    ContractCode,
    CustomerName,
    DealerId,
    Note,
    Phone,
    ProductLine,
    Reason,
    RegionCode,
    Serial,
)


class UnitCreate(StrictModel):
    serial: Serial
    product_line: ProductLine
    customer_name: CustomerName | None = None
    phone: Phone | None = None
    address: Address | None = None
    region_code: RegionCode | None = None
    dealer_id: DealerId | None = None
    contract_code: ContractCode | None = None
    sold_on: BusinessDate | None = None
    delivered_on: BusinessDate | None = None
    installed_on: BusinessDate | None = None
    dealer_received_on: BusinessDate | None = None
    sale_amount: Money | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return normalise_phone(v) if v else None


class UnitRead(BaseModel):
    serial: str
    product_line: str
    policy_id: UUID
    customer_name: str | None
    phone: str | None  # phone, name and address masked for roles that do not call customers (access.with_contact)
    address: str | None
    region_code: str | None
    dealer_id: str | None
    contract_code: str | None
    sold_on: date | None
    delivered_on: date | None
    installed_on: date | None
    dealer_received_on: date | None
    card_registered_on: date | None
    sale_amount: Money | None
    created_at: datetime
    # issue 15 (remedies/): retired by a return, exchange or replacement; the unit this one replaced
    status: str = "active"
    retired_at: datetime | None = None
    retired_reason: str | None = None
    replaces_serial: str | None = None


class ImportResult(BaseModel):
    imported: int


class CardRegistration(StrictModel):
    registered_on: BusinessDate  # settlement books it in a quarter: inside the business range


class ExtensionCreate(StrictModel):
    paid_on: BusinessDate


class ExtensionRead(BaseModel):
    id: UUID
    serial: str
    paid_on: date
    months: int
    price: Money


class DelayCreate(StrictModel):
    started_on: BusinessDate
    days: int = Field(ge=1, le=3650)
    caused_by: Literal["seller", "customer"]
    note: Note | None = None


class DelayRead(BaseModel):
    id: UUID
    serial: str
    started_on: date
    days: int
    caused_by: str
    note: str | None


class ComponentRead(BaseModel):
    component: str
    state: str
    base_ends_on: date | None
    ends_on: date | None
    reason: str


class WarrantyRead(BaseModel):
    serial: str
    on: date
    policy_id: UUID
    basis: str | None
    start_date: date | None
    coverage: str
    component: str
    components: list[ComponentRead]
    early_life_rights: list[str]
    replace_unit: bool
    replace_components: list[str]
    repair_counts: dict[str, int]
    exclusions: list[str]
    reasons: list[str]
    shipping_customer_share: str  # R-W9, e.g. "0.50"


# --- the installed base you can maintain (issue 15 item 5) ----------------------------------------------------

class UnitDatesUpdate(StrictModel):
    """New delivery acceptance / installation dates (R-W2 start dates); a date left out stays as it is."""

    delivered_on: BusinessDate | None = None
    installed_on: BusinessDate | None = None
    reason: Reason

    @model_validator(mode="after")
    def _something(self) -> UnitDatesUpdate:
        if self.delivered_on is None and self.installed_on is None:
            raise ValueError("give delivered_on or installed_on")
        return self


class OwnerTransfer(StrictModel):
    """The unit changed hands: the new owner's contact (the previous one stays in the unit's history)."""

    customer_name: CustomerName
    phone: Phone
    address: Address | None = None
    region_code: RegionCode | None = None
    reason: Reason

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalise_phone(v)


class UnitChangeRead(BaseModel):
    id: int
    serial: str
    kind: str  # dates | owner | card
    before: dict[str, Any]  # contact data masked for roles that do not call customers
    after: dict[str, Any]
    reason: str | None
    actor: str
    at: datetime


class CoverageRedetermined(BaseModel):
    ticket_id: UUID
    ticket_no: str
    from_coverage: str
    to_coverage: str
    reason: str


class UnitChangeResult(BaseModel):
    unit: UnitRead
    change: UnitChangeRead | None  # None: nothing changed
    redetermined: list[CoverageRedetermined]  # open tickets whose coverage the change re-determined


class UnitPage(BaseModel):
    items: list[UnitRead]
    total: int
    limit: int
    offset: int


class HistoryTicket(BaseModel):
    id: UUID
    ticket_no: str
    status: str
    coverage: str
    coverage_reason: str | None
    component: str
    root_cause: str | None
    opened_at: datetime
    closed_at: datetime | None


class HistoryRepair(BaseModel):
    job_id: str
    ticket_id: UUID | None
    completed_on: date
    component: str
    components: list[str]
    parts_replaced: list[str]
    in_warranty: bool


class HistoryRemedy(BaseModel):
    """A 三包 remedy carried out on the unit (``serial``) or that made it (``new_serial``), R-W4/R-W5."""

    id: UUID
    kind: str
    rule: str
    status: str
    serial: str
    new_serial: str | None
    component: str | None
    ticket_id: UUID
    reason: str
    completed_on: date


class UnitHistory(BaseModel):
    unit: UnitRead
    tickets: list[HistoryTicket]
    repairs: list[HistoryRepair]  # with the part numbers fitted (R-W8)
    remedies: list[HistoryRemedy]
    extensions: list[ExtensionRead]
    delays: list[DelayRead]
    changes: list[UnitChangeRead]  # dates, ownership, card: who and when
