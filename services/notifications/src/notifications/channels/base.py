"""The one interface every channel adapter implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Outgoing:
    """A rendered message on its way to one address."""

    delivery_id: int
    channel: str
    address: str
    subject: str
    body: str
    kind: str
    locale: str
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Accepted:
    """The provider took the message; its id matches later delivery receipts."""

    provider_message_id: str | None = None


class ChannelError(Exception):
    """A send failed; ``permanent`` errors (bad address, unsubscribed) are not retried on this provider."""

    def __init__(self, detail: str, *, permanent: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent


class Channel(Protocol):
    """A provider of one channel (``email`` | ``sms`` | ``wechat``)."""

    name: str
    channel: str

    async def send(self, message: Outgoing) -> Accepted: ...

    async def close(self) -> None: ...
