"""E-mail over SMTP (aiosmtplib) with a small pool of kept-open connections, many messages per session.

The message is written as bytes here (RFC 5322 headers, RFC 2047 encoded-words, a base64 UTF-8 body) and handed
over with ``sendmail``: building an ``EmailMessage`` and letting aiosmtplib flatten it parsed every header through
the email package's header registry, which was a fifth of the service's CPU at 1,000 mails/s (make bench-notify).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr

import aiosmtplib

from aftersales_shared import clock

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
        name, self._envelope_from = parseaddr(settings.from_addr)
        self._from_header = formataddr((name, self._envelope_from), charset="utf-8")
        self._domain = self._envelope_from.rpartition("@")[2] or "aftersales.local"

    def message_id(self, delivery_id: int) -> str:
        """Stable per delivery: a mailbox can drop the copy a crash-and-resend could produce."""
        return f"<delivery-{delivery_id}@{self._domain}>"

    def build(self, message: Outgoing) -> bytes:
        """The message as sent (CRLF line ends, ASCII only)."""
        address = message.address
        if not address.isascii() or any(c in address for c in "\r\n<>,") or "@" not in address:
            raise ChannelError(f"not a deliverable e-mail address: {address!r}", permanent=True)
        subject = Header(message.subject, "utf-8", header_name="Subject").encode(linesep="\r\n")
        body = base64.encodebytes(message.body.encode("utf-8")).replace(b"\n", b"\r\n")
        head = (f"From: {self._from_header}\r\nTo: {address}\r\nSubject: {subject}\r\n"
                f"Date: {format_datetime(clock.now())}\r\nMessage-ID: {self.message_id(message.delivery_id)}\r\n"
                f"X-Delivery-Id: {message.delivery_id}\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
        return head.encode("ascii") + body

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(hostname=s.host, port=s.port, timeout=s.timeout_s, use_tls=s.use_tls,
                                 start_tls=s.starttls)
        await client.connect()
        if s.username and s.password:
            await client.login(s.username, s.password.get_secret_value())
        return client

    async def send(self, message: Outgoing) -> Accepted:
        mail = self.build(message)
        async with self._slots:
            client = self._idle.get_nowait() if not self._idle.empty() else None
            try:
                if client is None or not client.is_connected:
                    client = await self._connect()
                errors, _resp = await client.sendmail(self._envelope_from, [message.address], mail)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                self._keep(client)
                raise ChannelError(f"recipient refused: {exc}", permanent=True) from exc
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                await _quietly_close(client)
                raise ChannelError(f"smtp: {exc!r}") from exc
            self._keep(client)
        if errors:
            raise ChannelError(f"recipient refused: {errors}", permanent=True)
        return Accepted(provider_message_id=self.message_id(message.delivery_id))

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
