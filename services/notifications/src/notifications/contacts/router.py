"""HTTP: a recipient's contact and preferences (``dealer:<id>`` or ``phone:<number>``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from aftersales_shared import clock
from aftersales_shared.app import DbSession

from ..access import CanManageContacts, contact_scope, sees_clear_address
from ..domain.masking import mask_email, mask_phone
from . import service
from .schemas import ContactRead, ContactUpdate, RecipientKey

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])
ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "No such contact"}}
Key = Annotated[RecipientKey, Path(description="dealer:<dealer id> or phone:<number>")]


def _read(p: Any, row: dict[str, Any]) -> dict[str, Any]:
    if not sees_clear_address(p) and not row["recipient_key"].startswith("dealer:"):
        row.update(phone=mask_phone(row["phone"]), email=mask_email(row["email"]))
    return row


@router.put("/{recipient_key}", response_model=ContactRead,
            summary="Set a recipient's addresses, preferred channels, locale, SMS opt-out "
                    "(call_center, admin; dealer: own)")
async def put_contact(recipient_key: Key, body: ContactUpdate, session: DbSession, p: CanManageContacts) -> Any:
    contact_scope(p, recipient_key)
    row = await service.upsert(session, recipient_key=recipient_key, values=body.model_dump(), now=clock.now())
    return _read(p, row)


@router.get("/{recipient_key}", response_model=ContactRead, responses=ERRORS,
            summary="A recipient's contact and preferences (call_center, admin; dealer: own)")
async def get_contact(recipient_key: Key, session: DbSession, p: CanManageContacts) -> Any:
    contact_scope(p, recipient_key)
    return _read(p, await service.get(session, recipient_key=recipient_key))
