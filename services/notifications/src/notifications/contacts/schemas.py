"""Schemas of a recipient's contact and preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from aftersales_shared.schemas import StrictModel

Channel = Literal["sms", "email", "wechat"]
RecipientKey = Annotated[str, Field(pattern=r"^(dealer:[A-Za-z0-9_.-]{1,64}|phone:\+?[0-9]{6,20})$")]


class ContactUpdate(StrictModel):
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone: Annotated[str, Field(pattern=r"^\+?[0-9]{6,20}$")] | None = None
    wechat_openid: Annotated[str, Field(min_length=6, max_length=64)] | None = None
    locale: Literal["zh-CN", "en"] = "zh-CN"
    channels: list[Channel] = Field(default_factory=list, max_length=3, description="preferred order")
    sms_opt_out: bool = False


class ContactRead(BaseModel):
    recipient_key: str
    email: str | None
    phone: str | None
    wechat_openid: str | None
    locale: str
    channels: list[str]
    sms_opt_out: bool
    opt_out_at: datetime | None
    opt_out_source: str | None
    updated_at: datetime
