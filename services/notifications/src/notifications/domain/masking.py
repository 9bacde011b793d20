"""Masking of personal data on read (R-T7): who sees what of a recipient's address."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str | None:
    """138****5678 (mainland mobile); other numbers keep their last 2 digits."""
    if not phone:
        return phone
    digits = phone.lstrip("+")
    if len(digits) >= 11:
        return f"{phone[:-8]}****{phone[-4:]}"
    return "*" * max(0, len(phone) - 2) + phone[-2:]


def mask_email(email: str | None) -> str | None:
    """a***@example.com"""
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_name(name: str | None) -> str | None:
    """张** : the family name only."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


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
