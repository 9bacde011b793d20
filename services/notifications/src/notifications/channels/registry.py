"""The configured providers per channel, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aftersales_shared import clock

from ..config import NotificationsSettings
from .aliyun_sms import AliyunSmsChannel
from .base import Channel
from .dev_outbox import DevOutboxChannel
from .smtp import SmtpChannel
from .wechat import WechatChannel

CHANNELS = ("email", "sms", "wechat")


@dataclass
class Channels:
    providers: dict[str, Channel] = field(default_factory=dict)
    by_channel: dict[str, list[str]] = field(default_factory=dict)

    def add(self, provider: Channel) -> None:
        self.providers[provider.name] = provider
        self.by_channel.setdefault(provider.channel, []).append(provider.name)

    async def close(self) -> None:
        for p in self.providers.values():
            await p.close()


def build_channels(settings: NotificationsSettings, sessions: async_sessionmaker[AsyncSession]) -> Channels:
    """Real providers where credentials are set; in development/test the others write to the dev outbox."""
    out = Channels()
    if settings.smtp is not None:
        out.add(SmtpChannel(settings.smtp))
    for sms in settings.sms_providers:
        out.add(AliyunSmsChannel(sms, now=clock.now))
    if settings.wechat is not None:
        out.add(WechatChannel(settings.wechat))
    if settings.writes_to_dev_outbox:
        for channel in CHANNELS:
            if channel not in out.by_channel:
                out.add(DevOutboxChannel(channel, sessions))
    return out
