"""Ticket schemas: TicketCreate (what a report records, R-T1), TicketRead, TicketPage, a move's reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, field_validator, model_validator

from aftersales_shared import idempotency
from aftersales_shared.errors import DomainError
from aftersales_shared.schemas import BusinessDateTime, StrictModel

from ..domain.phones import normalise_phone
from ..domain.warranty import UNIT, ExclusionCode
from ..fields import Address, Component, CustomerName, Description, Phone, Photo, Proof, Reason, RegionCode, Serial

Channel = Literal["phone", "web", "email", "sms"]
Status = Literal["open", "assigned", "en_route", "on_site", "paused", "closed", "cancelled"]


class TicketCreate(StrictModel):
    """What a report records (R-T1) plus the agent's intake checks (R-T2)."""

    serial: Serial
    customer_name: CustomerName
    phone: Phone
    address: Address
    region_code: RegionCode
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    channel: Channel
    fault_description: Description
    component: Component = UNIT
    photos: list[Photo] = Field(default_factory=list, max_length=20)
    requested_action: Literal["repair", "exchange", "return", "inspection", "advice"] | None = None
    purchase_proof: Proof | None = None
    warranty_card_shown: bool | None = None
    exclusions: list[ExclusionCode] = Field(default_factory=list, max_length=9)
    force_new: bool = False
    force_reason: Reason | None = None
    reported_at: BusinessDateTime | None = Field(
        None, description="when the customer reported it (e-mail, SMS, web form, voicemail), with an offset; not in "
                          "the future, not older than the configured limit (72 h); the SLA clock starts here")

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalise_phone(v)

    @model_validator(mode="after")
    def _pairs(self) -> TicketCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        if self.force_new and not self.force_reason:
            raise DomainError("a forced second ticket needs a reason", field="force_reason", status=422,
                              code="validation_error")
        return self


class TicketMove(StrictModel):
    """Why an agent cancels or reopens a ticket."""

    reason: Reason


class TransitionRead(BaseModel):
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    at: datetime


class TicketContactRead(BaseModel):
    """What the notifications service needs to tell a ticket's customer (in clear: it sends to this phone)."""

    id: UUID
    ticket_no: str
    dealer_id: str | None
    status: str
    customer_name: str
    phone: str
    address: str


class ReportedTimeAuditRead(BaseModel):
    """A ticket taken with the customer's own report time (issue 15, R-S7): who keyed it in, over which channel,
    when the customer reported it and when it was received; the SLA clock counts from ``sla_clock_from`` (dispatch
    moves a start outside the contract's calendar hours to the next opening)."""

    change: str
    actor: str
    channel: str
    reported_at: datetime
    received_at: datetime
    sla_clock_from: datetime
    at: datetime


class TicketRead(BaseModel):
    id: UUID
    ticket_no: str
    serial: str
    product_line: str
    dealer_id: str | None
    contract_code: str | None
    customer_name: str
    phone: str  # phone, name and address masked for roles that do not call customers (access.with_contact)
    address: str
    region_code: str
    lat: float | None
    lon: float | None
    channel: str
    fault_description: str
    component: str
    photos: list[str]
    requested_action: str | None
    purchase_proof: str | None
    coverage: str
    exclusions: list[str]
    warranty_reasons: list[str]
    status: str
    force_reason: str | None
    job_id: str | None
    created_by: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    coverage_reason: str | None = None  # why the coverage changed after intake (issue 15)
    root_cause: str | None = None  # the diagnosed root-cause class (R-T3)
    reported_at: datetime | None = None  # when the customer reported it (the SLA start); opened_at: keyed in
    history: list[TransitionRead] | None = None
    reported_time_audit: list[ReportedTimeAuditRead] | None = None  # shown with the history (one ticket)


class TicketPage(BaseModel):
    items: list[TicketRead]
    next_cursor: str | None


CREATE_DOC: dict[str, Any] = {  # what the intake route would declare if it let FastAPI parse its request
    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                    "schema": {"type": "string", "minLength": idempotency.MIN_LENGTH,
                               "maxLength": idempotency.MAX_LENGTH}}],
    "requestBody": {"required": True, "content": {"application/json": {"schema": TicketCreate.model_json_schema()}}},
    "security": [{"HTTPBearer": []}],
}
