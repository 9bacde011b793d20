"""HTTP: Aliyun's push callbacks (inbound SMS, delivery reports; guarded by the callback token) and the
list of replies for staff."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aftersales_shared import clock
from aftersales_shared.app import DbSession

from ..access import CanPreviewTemplates, ProviderCallback, sees_clear_address
from ..delivery import service as delivery_service
from ..domain.masking import mask_phone
from . import service
from .schemas import AliyunAck, AliyunSmsReport, AliyunSmsUp, ReplyRead

router = APIRouter(prefix="/v1", tags=["replies and receipts"])
ERRORS: dict[int | str, dict[str, Any]] = {401: {"description": "Bad callback token"}}


@router.post("/providers/aliyun/sms-up", response_model=AliyunAck, responses=ERRORS,
             summary="Aliyun pushes inbound SMS here (TD/退订 opt out; 1-5 rate; a complaint opens one)")
async def aliyun_sms_up(body: list[AliyunSmsUp], session: DbSession, _auth: ProviderCallback) -> Any:
    now = clock.now()
    for m in body:
        await service.receive_sms(session, provider_ref=f"aliyun:{m.sequence_id}", phone=m.phone_number,
                                  content=m.content, now=now)
    return AliyunAck()


@router.post("/providers/aliyun/sms-report", response_model=AliyunAck, responses=ERRORS,
             summary="Aliyun pushes delivery reports here: sent -> delivered / undelivered")
async def aliyun_sms_report(body: list[AliyunSmsReport], session: DbSession, _auth: ProviderCallback) -> Any:
    now = clock.now()
    for r in body:
        await delivery_service.record_receipt(session, provider_message_id=r.biz_id, success=r.success,
                                              detail=r.err_code or r.err_msg, now=now)
    return AliyunAck()


@router.get("/replies", response_model=list[ReplyRead],
            summary="Inbound replies, newest first (call_center, admin, ops)")
async def list_replies(session: DbSession, p: CanPreviewTemplates,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    rows = await service.list_replies(session, limit=limit)
    if not sees_clear_address(p):
        for r in rows:
            r["phone"] = mask_phone(r["phone"])
    return rows
