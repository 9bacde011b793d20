"""Schemas of the providers' callbacks (Aliyun's HTTP push: delivery reports and inbound SMS) and of replies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AliyunSmsUp(BaseModel):
    """One inbound SMS as Aliyun pushes it (``SmsUp``)."""

    model_config = ConfigDict(extra="ignore")
    phone_number: str = Field(max_length=32)
    content: str = Field(max_length=2000)
    send_time: str | None = None
    sign_name: str | None = None
    dest_code: str | None = None
    sequence_id: int | str


class AliyunSmsReport(BaseModel):
    """One delivery report as Aliyun pushes it (``SmsReport``)."""

    model_config = ConfigDict(extra="ignore")
    phone_number: str = Field(max_length=32)
    success: bool
    biz_id: str = Field(max_length=128)
    out_id: str | None = None
    err_code: str | None = None
    err_msg: str | None = None
    report_time: str | None = None


class AliyunAck(BaseModel):
    code: int = 0
    msg: str = "成功"


class ReplyRead(BaseModel):
    id: int
    channel: str
    phone: str
    content: str
    kind: str
    rating: int | None
    ticket_id: str | None
    outcome: str
    detail: str | None
    attempts: int
    received_at: datetime
