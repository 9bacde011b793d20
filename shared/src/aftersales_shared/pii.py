"""Customer personal data by role (R-T7), decided once for every service that shows it.

A customer's phone is shown in clear only to the people who must call the customer: the call center, the
dispatcher, the engineer who holds the job, and admins. Everyone else (ops, dealers' desks, finance, parts)
sees it masked: country code, the first 3 and the last 4 digits (``+86138****5678``). Names and addresses
are masked the same way for roles that only need to recognise a record, never to visit or call.
"""

from __future__ import annotations

from .auth import Principal, Role

CLEAR_CONTACT_ROLES = frozenset({Role.CALL_CENTER, Role.DISPATCHER, Role.ADMIN})
"""Roles that call customers; an engineer sees the contact of the jobs it holds (``is_assignee``)."""


def mask_phone(phone: str | None) -> str | None:
    """``+86`` + first 3 + stars + last 4 digits; shorter numbers are starred whole."""
    if not phone:
        return phone
    body = phone[3:] if phone.startswith("+86") else phone.lstrip("+")
    if len(body) <= 7:
        return "+86" + "*" * len(body)
    return "+86" + body[:3] + "*" * (len(body) - 7) + body[-4:]


def mask_name(name: str | None) -> str | None:
    """The first character and stars: 张** (enough to recognise, not to identify)."""
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_address(address: str | None, keep: int = 6) -> str | None:
    """The first ``keep`` characters (province/city/district) and stars for the street and number."""
    if not address:
        return address
    return address[:keep] + "*" * max(len(address) - keep, 1)


def sees_contact(principal: Principal, *, is_assignee: bool = False) -> bool:
    """Whether the caller may see the customer's phone, name and address in clear."""
    return principal.has(*CLEAR_CONTACT_ROLES) or (is_assignee and principal.has(Role.ENGINEER))


def phone_for(principal: Principal, phone: str | None, *, is_assignee: bool = False) -> str | None:
    """The phone as this caller may see it."""
    return phone if sees_contact(principal, is_assignee=is_assignee) else mask_phone(phone)
