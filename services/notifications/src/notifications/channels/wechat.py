"""WeChat official-account template messages (``/cgi-bin/message/template/send``) with a cached access token."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from ..config import WechatSettings
from ..domain.templates import variables_of
from .base import Accepted, ChannelError, Outgoing

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
PERMANENT_ERRORS = frozenset({40003, 40037, 43004, 43101})  # bad openid, bad template, unsubscribed, refused


class WechatChannel:
    channel = "wechat"

    def __init__(self, settings: WechatSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self._http = httpx.AsyncClient(base_url=settings.api_base, timeout=settings.timeout_s)
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token and self._token[1] > time.monotonic():
                return self._token[0]
            r = await self._http.get("/cgi-bin/token", params={
                "grant_type": "client_credential", "appid": self.settings.app_id,
                "secret": self.settings.app_secret.get_secret_value()})
            body = r.json()
            if "access_token" not in body:
                raise ChannelError(f"wechat token: {body.get('errcode')} {body.get('errmsg')}")
            # refresh a little early: the token's life is counted from WeChat's clock, not ours
            self._token = (body["access_token"], time.monotonic() + max(60, int(body.get("expires_in", 7200)) - 300))
            return self._token[0]

    async def send(self, message: Outgoing) -> Accepted:
        template_id = self.settings.template_ids.get(message.kind)
        if not template_id:
            raise ChannelError(f"no WeChat template for {message.kind}", permanent=True)
        data: dict[str, Any] = {"first": {"value": message.subject}}
        for name in variables_of(message.kind, message.locale):
            data[name] = {"value": str(message.variables.get(name) or "—")}
        payload = {"touser": message.address, "template_id": template_id, "data": data}
        if message.variables.get("link"):
            payload["url"] = str(message.variables["link"])
        try:
            token = await self._access_token()
            r = await self._http.post("/cgi-bin/message/template/send", params={"access_token": token},
                                      json=payload)
            body = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ChannelError(f"wechat: {exc!r}") from exc
        code = int(body.get("errcode", -1))
        if code == 0:
            return Accepted(provider_message_id=str(body.get("msgid")))
        if code in TOKEN_ERRORS:
            self._token = None
        raise ChannelError(f"wechat: {code} {body.get('errmsg')}", permanent=code in PERMANENT_ERRORS)

    async def close(self) -> None:
        await self._http.aclose()
