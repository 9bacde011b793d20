"""Integration events parts consumes: each handler runs in one unit of work with the inbox row."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.app import ConsumerSpec
from aftersales_shared.config import ServiceSettings
from aftersales_shared.events.dispatch import JOB_TOPIC, JobCancelled, JobCompleted
from aftersales_shared.events.envelope import IntegrationEvent
from aftersales_shared.events.ticketing import UNIT_TOPIC, UnitRegistered

from . import ops
from .config import PartsSettings


def consumer_specs(settings: ServiceSettings) -> list[ConsumerSpec]:
    """The consumer groups of the parts service."""
    assert isinstance(settings, PartsSettings)

    async def on_job_completed(session: AsyncSession, event: IntegrationEvent) -> None:
        await ops.job_completed(session, settings, event.payload, datetime.now(UTC))

    async def on_job_cancelled(session: AsyncSession, event: IntegrationEvent) -> None:
        await ops.release_job(session, settings, event.payload.job_id, datetime.now(UTC), "job cancelled")

    async def on_unit_registered(session: AsyncSession, event: IntegrationEvent) -> None:
        await ops.record_sale(session, event.payload)

    return [
        ConsumerSpec(name="jobs", topics=[JOB_TOPIC], handlers={
            JobCompleted.TYPE: on_job_completed, JobCancelled.TYPE: on_job_cancelled}),
        ConsumerSpec(name="units", topics=[UNIT_TOPIC], handlers={UnitRegistered.TYPE: on_unit_registered}),
    ]
