"""Who may do what here, and the one place a caller's scope becomes a WHERE clause."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Query, Request

from aftersales_shared.auth import Principal, Role, require_roles, scope_of
from aftersales_shared.errors import Forbidden, Unauthorized

from .models import messages

CanReadMessages = Annotated[Principal, Depends(require_roles(
    Role.CALL_CENTER, Role.ADMIN, Role.OPS, Role.DEALER))]
"""The audit: staff read every message; a dealer reads the messages sent to it."""
CanPreviewTemplates = Annotated[Principal, Depends(require_roles(Role.CALL_CENTER, Role.ADMIN, Role.OPS))]
CanManageContacts = Annotated[Principal, Depends(require_roles(Role.CALL_CENTER, Role.ADMIN, Role.DEALER))]
"""Preferences: staff for anyone (a customer asks on the phone); a dealer for its own contact only."""
CanReplayDeliveries = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPS))]

CLEAR_ADDRESS_ROLES = (Role.CALL_CENTER, Role.ADMIN)
"""R-T7: who sees a recipient's phone/e-mail in clear (the same roles as in ticketing); others see it masked."""


def sees_clear_address(p: Principal) -> bool:
    return p.has(*CLEAR_ADDRESS_ROLES)


def message_scope(p: Principal) -> Any:
    """The caller's rows of ``messages``: staff all, a dealer its own, an engineer none."""
    scope = scope_of(p)
    if scope.is_staff:
        return sa.true()
    if scope.kind == "dealer":
        return messages.c.dealer_id == scope.dealer_id
    raise Forbidden("engineers read no notifications here")


def contact_scope(p: Principal, recipient_key: str) -> None:
    """A dealer may manage only ``dealer:<its id>``."""
    scope = scope_of(p)
    if scope.is_staff:
        return
    if scope.kind == "dealer" and recipient_key == f"dealer:{scope.dealer_id}":
        return
    raise Forbidden("a dealer manages only its own contact", field="recipient_key")


def provider_callback(request: Request, token: Annotated[str, Query(min_length=8, max_length=200)]) -> None:
    """Provider callbacks (receipts, inbound SMS) carry the shared secret configured with the provider."""
    expected = request.app.state.settings.callback_token.get_secret_value()
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("bad callback token")


ProviderCallback = Annotated[None, Depends(provider_callback)]
