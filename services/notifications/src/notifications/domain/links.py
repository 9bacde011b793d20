"""The customer's status link: an HMAC-signed, expiring token naming one ticket (the link is the credential)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime


class BadLink(ValueError):
    """The link was tampered with, is malformed or has expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest()[:18])


def sign(ticket_id: str, *, expires_at: datetime, secret: bytes) -> str:
    """``<b64(ticket_id|exp)>.<mac>``: short enough for an SMS."""
    body = _b64(f"{ticket_id}|{int(expires_at.timestamp())}".encode())
    return f"{body}.{_mac(secret, body)}"


def verify(token: str, *, now: datetime, secret: bytes) -> str:
    """The ticket id of a valid token; BadLink("tampered" | "malformed" | "expired") otherwise."""
    body, dot, mac = token.partition(".")
    if not dot or not body or not mac or not token.isascii():  # a real link is URL-safe base64: ASCII only
        raise BadLink("malformed")
    if not hmac.compare_digest(_mac(secret, body), mac):
        raise BadLink("tampered")
    try:
        ticket_id, exp = _unb64(body).decode().rsplit("|", 1)
        expires = int(exp)
    except (ValueError, UnicodeDecodeError):
        raise BadLink("malformed") from None
    if now.timestamp() >= expires:
        raise BadLink("expired")
    return ticket_id
