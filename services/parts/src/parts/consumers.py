"""Integration events parts consumes: each ``on_<event>`` runs in one unit of work with the inbox row and makes
one service call. The engineer holding a job (with that engineer's dealer and the job's ticket) is ordered by
the envelope's ``occurred_at`` (dispatch stamps it under the job's row lock), not by ``payload.at`` (the
engineer's device time for steps).

Handlers take the service settings (policies such as ``allow_split`` and ``return_due_days``) as a third
argument; :func:`consumer_specs` binds them, so the consumer calls each as ``handler(session, event)``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.app import ConsumerSpec
from aftersales_shared.config import ServiceSettings
from aftersales_shared.events.dispatch import (
    JOB_TOPIC,
    JobAccepted,
    JobAssigned,
    JobCancelled,
    JobCompleted,
    JobDeclined,
)
from aftersales_shared.events.envelope import IntegrationEvent
from aftersales_shared.events.ticketing import (
    TICKET_TOPIC,
    UNIT_TOPIC,
    TicketCoverageChanged,
    UnitRegistered,
    UnitRemedyCompleted,
)

from .config import PartsSettings
from .jobs import service as jobs
from .reports import service as reports
from .requests import coverage, unit_shipments
from .stock import service as stock


async def on_job_assigned(session: AsyncSession, event: IntegrationEvent, settings: PartsSettings) -> None:
    await jobs.record(session, event.payload, event.occurred_at)


async def on_job_accepted(session: AsyncSession, event: IntegrationEvent, settings: PartsSettings) -> None:
    await jobs.record(session, event.payload, event.occurred_at)


async def on_job_declined(session: AsyncSession, event: IntegrationEvent, settings: PartsSettings) -> None:
    await jobs.record(session, event.payload, event.occurred_at, holds=False)


async def on_job_completed(session: AsyncSession, event: IntegrationEvent, settings: PartsSettings) -> None:
    await jobs.completed(session, settings, event.payload, at=event.occurred_at, now=clock.now())


async def on_job_cancelled(session: AsyncSession, event: IntegrationEvent, settings: PartsSettings) -> None:
    await jobs.cancelled(session, settings, event.payload, at=event.occurred_at, now=clock.now())


async def on_job_completed_replacements(session: AsyncSession, event: IntegrationEvent,
                                        settings: PartsSettings) -> None:
    await reports.record_replacements(session, event.payload, now=clock.now())


async def on_unit_registered(session: AsyncSession, event: IntegrationEvent, settings: PartsSettings) -> None:
    await stock.record_sale(session, event.payload)


async def on_coverage_changed(session: AsyncSession, event: IntegrationEvent, settings: PartsSettings) -> None:
    await coverage.coverage_changed(session, settings, event.payload, now=clock.now())


async def on_unit_remedy_completed(session: AsyncSession, event: IntegrationEvent, settings: PartsSettings) -> None:
    """An exchange or unit replacement ships a new unit (issue 15): one part request for it, on the R-P1 clock."""
    await unit_shipments.ship_replacement_unit(session, settings, event.payload, now=clock.now())


class Handler(Protocol):
    def __call__(self, session: AsyncSession, event: IntegrationEvent, settings: PartsSettings) -> Awaitable[None]: ...


HANDLERS: dict[str, dict[str, Handler]] = {
    "jobs": {
        JobAssigned.TYPE: on_job_assigned,
        JobAccepted.TYPE: on_job_accepted,
        JobDeclined.TYPE: on_job_declined,
        JobCompleted.TYPE: on_job_completed,
        JobCancelled.TYPE: on_job_cancelled,
    },
    "units": {
        UnitRegistered.TYPE: on_unit_registered,
        UnitRemedyCompleted.TYPE: on_unit_remedy_completed,
    },
    "tickets": {
        TicketCoverageChanged.TYPE: on_coverage_changed,
    },
    "replacements": {  # R-O1 monthly parts-replacement list (its own group: the stock issue above is untouched)
        JobCompleted.TYPE: on_job_completed_replacements,
    },
}
"""Consumer group → event type → handler: everything parts listens to."""

TOPICS = {"jobs": [JOB_TOPIC], "units": [UNIT_TOPIC], "tickets": [TICKET_TOPIC], "replacements": [JOB_TOPIC]}


def consumer_specs(settings: ServiceSettings) -> list[ConsumerSpec]:
    """The consumer groups of the parts service, with the settings bound into each handler."""
    assert isinstance(settings, PartsSettings)
    return [ConsumerSpec(name=group, topics=TOPICS[group],
                         handlers={t: partial(h, settings=settings) for t, h in handlers.items()})
            for group, handlers in HANDLERS.items()]
