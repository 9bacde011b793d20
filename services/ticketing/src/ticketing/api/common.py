"""Role dependencies, visibility rules and cursors shared by the ticketing resources."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends

from aftersales_shared.auth import Principal, Role, require_roles
from aftersales_shared.errors import Forbidden, Unprocessable

from ..phones import mask_phone

# call_center and admin write; dealers read their own; ops read-only; engineers nothing.
WRITE_ROLES = frozenset({Role.CALL_CENTER, Role.ADMIN})
Writer = Annotated[Principal, Depends(require_roles(*WRITE_ROLES))]
Reader = Annotated[Principal, Depends(require_roles(Role.CALL_CENTER, Role.ADMIN, Role.DEALER, Role.OPS))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]

CLEAR_PHONE_ROLES = (Role.CALL_CENTER, Role.ADMIN)


def sees_clear_phone(p: Principal) -> bool:
    return p.has(*CLEAR_PHONE_ROLES)


def phone_for(p: Principal, phone: str | None) -> str | None:
    """The phone as this caller may see it (R-T7)."""
    return phone if sees_clear_phone(p) else mask_phone(phone)


def dealer_scope(p: Principal, requested: str | None = None) -> str | None:
    """The dealer filter a caller must use: a dealer-only caller sees only their own dealer's data."""
    if p.has(Role.CALL_CENTER, Role.ADMIN, Role.OPS):
        return requested
    if not p.dealer_id:
        raise Forbidden("dealer token carries no dealer_id")
    if requested and requested != p.dealer_id:
        raise Forbidden("dealers may read only their own data", field="dealer_id")
    return p.dealer_id


def encode_cursor(at: datetime, id_: UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{id_}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, id_ = raw.split("|")
        return datetime.fromisoformat(at), UUID(id_)
    except Exception:  # noqa: BLE001 - any garbage is the client's mistake
        raise Unprocessable("malformed cursor", field="cursor") from None
