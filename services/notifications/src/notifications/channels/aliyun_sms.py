"""SMS through Aliyun's dysmsapi ``SendSms`` (RPC style, signature version 1.0, HMAC-SHA1).

The signature, as Aliyun documents it: sort every request parameter except ``Signature`` by name;
percent-encode names and values (RFC 3986: unreserved ``A-Z a-z 0-9 - _ . ~`` stay, space is ``%20``);
join as ``k=v`` with ``&`` (the canonicalized query string); StringToSign =
``HTTPMethod + "&" + percentEncode("/") + "&" + percentEncode(canonicalized)``; Signature =
Base64(HMAC-SHA1(key = AccessKeySecret + "&", StringToSign)). The request carries a fresh
``SignatureNonce`` and a UTC ``Timestamp`` (``YYYY-MM-DDThh:mm:ssZ``), so a replay is refused.
The message text is the provider-registered template (``TemplateCode``) filled with ``TemplateParam``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from ..config import AliyunSmsSettings
from ..domain.templates import SMS_TEMPLATE_CODES, variables_of
from .base import Accepted, ChannelError, Outgoing

VERSION = "2017-05-25"
PERMANENT_CODES = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS", "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL", "isv.BLACK_KEY_CONTROL_LIMIT", "isv.INVALID_PARAMETERS",
    "isv.PARAM_LENGTH_LIMIT", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.DAY_LIMIT_CONTROL",
})
"""Codes that another attempt with this provider would not fix (the number, template or account is wrong)."""


def percent_encode(value: str) -> str:
    """Aliyun's POP encoding: RFC 3986 (``~`` kept, space as %20, ``*`` as %2A)."""
    return quote(value, safe="~")


def canonicalized_query(params: dict[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(method: str, params: dict[str, str]) -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonicalized_query(params))}"


def signature(secret: str, method: str, params: dict[str, str]) -> str:
    """Base64(HMAC-SHA1(secret + "&", StringToSign)) over every parameter except Signature."""
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, unsigned).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed_params(settings: AliyunSmsSettings, *, phone: str, template_code: str, template_param: dict[str, str],
                  out_id: str, now: datetime, nonce: str | None = None, method: str = "POST") -> dict[str, str]:
    """The full, signed parameter set of one SendSms request."""
    params = {
        "AccessKeyId": settings.access_key_id, "Action": "SendSms", "Format": "JSON",
        "RegionId": settings.region_id, "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce or uuid.uuid4().hex,
        "SignatureVersion": "1.0", "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": VERSION, "PhoneNumbers": phone, "SignName": settings.sign_name, "TemplateCode": template_code,
        "TemplateParam": json.dumps(template_param, ensure_ascii=False, separators=(",", ":")), "OutId": out_id,
    }
    params["Signature"] = signature(settings.access_key_secret.get_secret_value(), method, params)
    return params


class AliyunSmsChannel:
    channel = "sms"

    def __init__(self, settings: AliyunSmsSettings, *, now: Any) -> None:
        self.settings = settings
        self.name = settings.name
        self._now = now  # the shared clock's now(): a Timestamp the provider accepts
        self._http = httpx.AsyncClient(timeout=settings.timeout_s)

    async def send(self, message: Outgoing) -> Accepted:
        code = SMS_TEMPLATE_CODES.get(message.kind)
        if code is None:
            raise ChannelError(f"no SMS template registered for {message.kind}", permanent=True)
        template_param = {k: str(message.variables.get(k) or "—") for k in variables_of(message.kind, "zh-CN")}
        params = signed_params(self.settings, phone=message.address, template_code=code,
                               template_param=template_param, out_id=str(message.delivery_id), now=self._now())
        try:
            r = await self._http.post(self.settings.endpoint, data=params)
        except httpx.HTTPError as exc:
            raise ChannelError(f"aliyun {self.name}: {exc!r}") from exc
        if r.status_code >= 500:
            raise ChannelError(f"aliyun {self.name}: HTTP {r.status_code}")
        try:
            body = r.json()
        except ValueError as exc:
            raise ChannelError(f"aliyun {self.name}: HTTP {r.status_code}, not JSON") from exc
        result = str(body.get("Code", ""))
        if result == "OK":
            return Accepted(provider_message_id=body.get("BizId"))
        detail = f"aliyun {self.name}: {result} {body.get('Message', '')}".strip()
        raise ChannelError(detail, permanent=result in PERMANENT_CODES)

    async def close(self) -> None:
        await self._http.aclose()
