"""Phone numbers (R-T7): normalise mainland mobile and landline numbers to E.164.

Who sees a number in clear, and its mask, is the shared rule (``aftersales_shared.pii``, via ``access.with_contact``).
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType

_ALLOWED = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
# Most calls come from mainland mobiles written plainly; checking those against phonenumbers' own CN mobile
# pattern gives the same answer as the full parse at a fraction of its cost (a property test compares them).
_PLAIN_MOBILE = re.compile(r"(?:\+86|0086)?(1\d{10})")


def _cn_mobile_pattern() -> str:
    meta = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    pattern = meta.mobile.national_number_pattern if meta is not None and meta.mobile is not None else None
    if not pattern:
        raise RuntimeError("phonenumbers has no CN mobile pattern")
    return str(pattern)


_CN_MOBILE = re.compile(_cn_mobile_pattern())


def normalise_phone(raw: str) -> str:
    """E.164 form of a mainland China mobile or landline number; ValueError otherwise (pydantic names the field)."""
    plain = _PLAIN_MOBILE.fullmatch(raw.replace(" ", "").replace("-", ""))
    if plain and _CN_MOBILE.fullmatch(plain.group(1)):
        return "+86" + plain.group(1)
    return _parse(raw)


def _parse(raw: str) -> str:
    try:
        num = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if num.country_code != 86 or not phonenumbers.is_valid_number(num) or \
            phonenumbers.number_type(num) not in _ALLOWED:
        raise ValueError("not a valid mainland China mobile or landline number")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
