"""Masking of personal data on read (R-T7): who sees what of a recipient's address. Phones and names follow the
one platform rule (``aftersales_shared.pii``); e-mail addresses and other channels' addresses are masked here."""

from __future__ import annotations

from aftersales_shared.pii import mask_name as mask_name
from aftersales_shared.pii import mask_phone as mask_phone


def mask_email(email: str | None) -> str | None:
    """a***@example.com"""
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_address(address: str | None, keep: int = 6) -> str | None:
    """The first few characters (province, city), the rest starred."""
    if not address:
        return address
    return address[:keep] + "****" if len(address) > keep else address[:2] + "****"


def mask_address_of(channel: str, address: str | None) -> str | None:
    """Mask a delivery address by its channel."""
    if channel == "email":
        return mask_email(address)
    if channel == "sms":
        return mask_phone(address)
    if address and len(address) > 6:
        return address[:3] + "****" + address[-3:]
    return address
