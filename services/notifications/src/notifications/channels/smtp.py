"""E-mail over SMTP (aiosmtplib) with a small pool of kept-open connections."""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from ..config import SmtpSettings
from .base import Accepted, ChannelError, Outgoing

log = logging.getLogger(__name__)


class SmtpChannel:
    channel = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(settings.pool_size)

    def _build(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.from_addr
        mail["To"] = message.address
        mail["Subject"] = message.subject
        # a stable Message-ID per delivery lets a mailbox drop the copy a crash-and-resend could produce
        mail["Message-ID"] = make_msgid(idstring=f"delivery-{message.delivery_id}", domain="aftersales.local")
        mail["X-Delivery-Id"] = str(message.delivery_id)
        mail.set_content(message.body, charset="utf-8")
        return mail

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(hostname=s.host, port=s.port, timeout=s.timeout_s, use_tls=s.use_tls,
                                 start_tls=s.starttls)
        await client.connect()
        if s.username and s.password:
            await client.login(s.username, s.password.get_secret_value())
        return client

    async def send(self, message: Outgoing) -> Accepted:
        mail = self._build(message)
        async with self._slots:
            client = self._idle.get_nowait() if not self._idle.empty() else None
            try:
                if client is None or not client.is_connected:
                    client = await self._connect()
                errors, _resp = await client.send_message(mail)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                self._keep(client)
                raise ChannelError(f"recipient refused: {exc}", permanent=True) from exc
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                await _quietly_close(client)
                raise ChannelError(f"smtp: {exc!r}") from exc
            self._keep(client)
        if errors:
            raise ChannelError(f"recipient refused: {errors}", permanent=True)
        return Accepted(provider_message_id=str(mail["Message-ID"]))

    def _keep(self, client: aiosmtplib.SMTP | None) -> None:
        if client is not None and client.is_connected:
            self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            await _quietly_close(self._idle.get_nowait())


async def _quietly_close(client: aiosmtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        if client.is_connected:
            await client.quit()
    except Exception:  # noqa: BLE001 - a broken connection is dropped anyway
        client.close()
