"""Integration events dispatch consumes: each handler runs in one unit of work with the inbox row and makes
one service call. Handlers also take the ``DispatchConfig`` (offer TTL, travel estimator), bound once by
:func:`consumer_specs`."""

from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.app import ConsumerSpec
from aftersales_shared.config import ServiceSettings
from aftersales_shared.events import parts as parts_ev
from aftersales_shared.events import ticketing as ticket_ev
from aftersales_shared.events.envelope import IntegrationEvent

from .config import DispatchConfig
from .jobs import service as jobs


async def on_ticket_opened(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    await jobs.open_job(session, cfg, event.payload, clock.now())


async def on_ticket_reopened(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    await jobs.reopen_job(session, cfg, event.payload, clock.now())


async def on_ticket_cancelled(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    await jobs.cancel_job(session, event.payload.ticket_id, event.payload.reason, clock.now())


async def on_parts_delivered(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    await jobs.parts_delivered(session, event.payload.job_id, event.payload.ticket_id, clock.now())


HANDLERS = {
    "tickets": ([ticket_ev.TICKET_TOPIC], {
        ticket_ev.TicketOpened.TYPE: on_ticket_opened,
        ticket_ev.TicketReopened.TYPE: on_ticket_reopened,
        ticket_ev.TicketCancelled.TYPE: on_ticket_cancelled,
    }),
    "parts": ([parts_ev.REQUEST_TOPIC], {
        parts_ev.RequestDelivered.TYPE: on_parts_delivered,
    }),
}
"""Consumer group -> (topics, event type -> handler)."""


def consumer_specs(settings: ServiceSettings) -> list[ConsumerSpec]:
    """The consumer groups of the dispatch service."""
    cfg = DispatchConfig.from_settings(settings)
    return [ConsumerSpec(name, topics, {t: partial(h, cfg=cfg) for t, h in handlers.items()})
            for name, (topics, handlers) in HANDLERS.items()]
