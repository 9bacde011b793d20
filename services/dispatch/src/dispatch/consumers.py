"""Integration events dispatch consumes: each handler runs in one unit of work with the inbox row."""

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.app import ConsumerSpec
from aftersales_shared.config import ServiceSettings
from aftersales_shared.events import parts as parts_ev
from aftersales_shared.events import ticketing as ticket_ev
from aftersales_shared.events.envelope import IntegrationEvent

from . import service as svc


def consumer_specs(settings: ServiceSettings) -> list[ConsumerSpec]:
    """The consumer groups of the dispatch service."""
    cfg = svc.DispatchConfig.from_settings(settings)

    async def ticket_opened(session: AsyncSession, event: IntegrationEvent) -> None:
        await svc.open_job(session, cfg, event.payload, svc.utcnow())

    async def ticket_reopened(session: AsyncSession, event: IntegrationEvent) -> None:
        await svc.reopen_job(session, cfg, event.payload, svc.utcnow())

    async def ticket_cancelled(session: AsyncSession, event: IntegrationEvent) -> None:
        await svc.cancel_job(session, event.payload.ticket_id, event.payload.reason, svc.utcnow())

    async def parts_delivered(session: AsyncSession, event: IntegrationEvent) -> None:
        await svc.parts_delivered(session, event.payload.job_id, event.payload.ticket_id, svc.utcnow())

    return [
        ConsumerSpec("tickets", [ticket_ev.TICKET_TOPIC], {
            ticket_ev.TicketOpened.TYPE: ticket_opened, ticket_ev.TicketReopened.TYPE: ticket_reopened,
            ticket_ev.TicketCancelled.TYPE: ticket_cancelled}),
        ConsumerSpec("parts", [parts_ev.REQUEST_TOPIC], {parts_ev.RequestDelivered.TYPE: parts_delivered}),
    ]
