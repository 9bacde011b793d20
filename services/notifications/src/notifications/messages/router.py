"""HTTP: the message audit (recipient masked by role, R-T7) and the template catalogue + preview."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aftersales_shared.app import DbSession

from ..access import CanPreviewTemplates, CanReadMessages, message_scope, sees_clear_address
from ..domain import templates
from ..domain.masking import mask_address_of
from . import service
from .schemas import MessageRead, TemplatePreviewIn, TemplatePreviewRead, TemplateRead

router = APIRouter(prefix="/v1", tags=["messages"])
ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "Not found"}, 422: {"description": "Invalid"}}


def _read(p: Any, row: dict[str, Any]) -> dict[str, Any]:
    address = row.pop("address", None)
    row["recipient"] = address if sees_clear_address(p) else mask_address_of(row.get("channel") or "", address)
    return row


@router.get("/messages", response_model=list[MessageRead], responses=ERRORS,
            summary="The audit: messages newest first (call_center, admin, ops; dealer: own)")
async def list_messages(session: DbSession, p: CanReadMessages,
                        ticket_id: Annotated[str | None, Query(max_length=64)] = None,
                        dealer_id: Annotated[str | None, Query(max_length=64)] = None,
                        kind: Annotated[str | None, Query(max_length=64)] = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    rows = await service.list_messages(session, where=message_scope(p), limit=limit, ticket_id=ticket_id,
                                       dealer_id=dealer_id, kind=kind)
    return [_read(p, r) for r in rows]


@router.get("/messages/{message_id}", response_model=MessageRead, responses=ERRORS,
            summary="One message and its delivery (call_center, admin, ops; dealer: own)")
async def get_message(message_id: int, session: DbSession, p: CanReadMessages) -> Any:
    return _read(p, await service.get_message(session, message_id=message_id, where=message_scope(p)))


@router.get("/templates", response_model=list[TemplateRead], summary="Every template kind and its variables")
async def list_templates(_p: CanPreviewTemplates) -> Any:
    kinds = sorted({k for k, _l in templates.TEMPLATES})
    return [{"kind": k, "locales": [loc for kk, loc in templates.TEMPLATES if kk == k],
             "variables": templates.variables_of(k), "sms_template_code": templates.SMS_TEMPLATE_CODES.get(k)}
            for k in kinds]


@router.post("/templates/preview", response_model=TemplatePreviewRead, responses=ERRORS,
             summary="Render a template with variables, sending nothing (call_center, admin, ops)")
async def preview(body: TemplatePreviewIn, _p: CanPreviewTemplates) -> Any:
    return service.preview(kind=body.kind, locale=body.locale, variables=body.variables)
