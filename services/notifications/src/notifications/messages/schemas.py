"""Schemas of the message audit and the template preview."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from aftersales_shared.schemas import StrictModel


class MessageRead(BaseModel):
    id: int
    kind: str
    audience: str
    urgent: bool
    ticket_id: str | None
    dealer_id: str | None
    event_type: str
    occurred_at: datetime
    locale: str | None
    subject: str | None
    body: str | None
    created_at: datetime
    delivery_id: int | None
    status: str | None
    channel: str | None
    provider: str | None
    recipient: str | None = Field(description="the address, masked unless the caller is call_center/admin (R-T7)")
    attempts: int | None
    total_attempts: int | None
    sent_at: datetime | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    hold_reason: str | None
    last_error: str | None


class TemplatePreviewIn(StrictModel):
    kind: Annotated[str, Field(min_length=1, max_length=64)]
    locale: Literal["zh-CN", "en"] = "zh-CN"
    variables: dict[str, Annotated[str, Field(max_length=500)] | int | float | None] = Field(
        default_factory=dict, max_length=50)


class TemplatePreviewRead(BaseModel):
    kind: str
    locale: str
    subject: str
    body: str
    variables: list[str]
    missing: list[str]


class TemplateRead(BaseModel):
    kind: str
    locales: list[str]
    variables: list[str]
    sms_template_code: str | None
    example: dict[str, Any] | None = None
