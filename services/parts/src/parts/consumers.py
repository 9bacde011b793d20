"""Integration events parts consumes: each handler runs in one unit of work with the inbox row."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.app import ConsumerSpec
from aftersales_shared.config import ServiceSettings
from aftersales_shared.events.dispatch import (
    JOB_TOPIC, JobAccepted, JobAssigned, JobCancelled, JobCompleted, JobDeclined,
)
from aftersales_shared.events.envelope import IntegrationEvent
from aftersales_shared.events.ticketing import UNIT_TOPIC, UnitRegistered

from . import job_engineers, ops
from .config import PartsSettings


def consumer_specs(settings: ServiceSettings) -> list[ConsumerSpec]:
    """The consumer groups of the parts service."""
    assert isinstance(settings, PartsSettings)

    # who holds the job (issue 5), ordered by the envelope's occurred_at: dispatch stamps it when it
    # builds the event under the job's row lock, unlike payload.at (the engineer's device time for steps)
    async def on_job_engineer(session: AsyncSession, event: IntegrationEvent) -> None:
        await job_engineers.record(session, event.payload.job_id, event.payload.engineer_id, event.occurred_at)

    async def on_job_declined(session: AsyncSession, event: IntegrationEvent) -> None:
        await job_engineers.record(session, event.payload.job_id, None, event.occurred_at)

    async def on_job_completed(session: AsyncSession, event: IntegrationEvent) -> None:
        await job_engineers.record(session, event.payload.job_id, event.payload.engineer_id, event.occurred_at,
                                   keep_last=True)
        await ops.job_completed(session, settings, event.payload, datetime.now(UTC))

    async def on_job_cancelled(session: AsyncSession, event: IntegrationEvent) -> None:
        await job_engineers.record(session, event.payload.job_id, event.payload.engineer_id, event.occurred_at,
                                   keep_last=True)
        await ops.release_job(session, settings, event.payload.job_id, datetime.now(UTC), "job cancelled")

    async def on_unit_registered(session: AsyncSession, event: IntegrationEvent) -> None:
        await ops.record_sale(session, event.payload)

    return [
        ConsumerSpec(name="jobs", topics=[JOB_TOPIC], handlers={
            JobAssigned.TYPE: on_job_engineer, JobAccepted.TYPE: on_job_engineer, JobDeclined.TYPE: on_job_declined,
            JobCompleted.TYPE: on_job_completed, JobCancelled.TYPE: on_job_cancelled}),
        ConsumerSpec(name="units", topics=[UNIT_TOPIC], handlers={UnitRegistered.TYPE: on_unit_registered}),
    ]
