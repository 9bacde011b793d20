"""No credentials in development: a message is written to the ``dev_outbox`` table and the log, never sent."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work

from ..domain.masking import mask_address_of
from ..models import dev_outbox
from .base import Accepted, Outgoing

log = logging.getLogger(__name__)


class DevOutboxChannel:
    def __init__(self, channel: str, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.channel = channel
        self.name = f"dev-{channel}"
        self._sessions = sessions

    async def send(self, message: Outgoing) -> Accepted:
        async with unit_of_work(self._sessions) as session:
            row_id = (await session.execute(sa.insert(dev_outbox).values(
                delivery_id=message.delivery_id, channel=message.channel, address=message.address,
                subject=message.subject, body=message.body, created_at=clock.now(),
            ).returning(dev_outbox.c.id))).scalar()
        log.info("dev outbox %s to %s: %s", self.channel, mask_address_of(self.channel, message.address),
                 message.subject)
        return Accepted(provider_message_id=f"dev-{row_id}")

    async def close(self) -> None:
        return None
