"""Integration events dispatch consumes: each handler runs in one unit of work with the inbox row and makes
one service call. Handlers also take the ``DispatchConfig`` (offer TTL, travel estimator), bound once by
:func:`consumer_specs`.

The planner worker (issue 14) is the consumer group ``planner`` on ``dispatch.plan.v1`` (keyed by zone): each
instance running it takes some partitions, so more planner processes plan more zones at once. Whether an
instance runs it is ``DISPATCH_RUN_PLANNER``; ``DISPATCH_PLANNER_ONLY`` makes an instance nothing but a planner."""

from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.app import ConsumerSpec
from aftersales_shared.config import ServiceSettings
from aftersales_shared.events import dispatch as dispatch_ev
from aftersales_shared.events import parts as parts_ev
from aftersales_shared.events import ticketing as ticket_ev
from aftersales_shared.events.envelope import IntegrationEvent

from .config import DispatchConfig, DispatchSettings
from .contracts import service as contracts
from .jobs import service as jobs
from .plans import durations
from .plans import service as plans
from .repairs import service as repairs


async def on_ticket_opened(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    await jobs.open_job(session, cfg, event.payload, clock.now())


async def on_ticket_reopened(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    await jobs.reopen_job(session, cfg, event.payload, clock.now())


async def on_ticket_cancelled(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    await jobs.cancel_job(session, event.payload.ticket_id, event.payload.reason, clock.now(), cfg=cfg)


async def on_coverage_changed(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    await repairs.coverage_changed(session, event.payload)


async def on_line_components_changed(session: AsyncSession, event: IntegrationEvent, *,
                                     cfg: DispatchConfig) -> None:
    """Issue 15: ticketing's catalogue announced a product line's component list (diagnoses are checked on it)."""
    await repairs.line_components_changed(session, event.payload, clock.now())


async def on_part_changed(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    """Issue 15: the parts catalogue announced a part; paid-repair quotes charge its list price."""
    await repairs.part_changed(session, event.payload, clock.now())


async def on_parts_delivered(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    await jobs.parts_delivered(session, event.payload.job_id, event.payload.ticket_id, clock.now())


async def on_plan_requested(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    await plans.run_plan(session, cfg, plan_id=event.payload.plan_id, now=clock.now())


async def on_job_completed(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    await durations.learn_from_completion(session, cfg, job_id=event.payload.job_id, now=clock.now())


async def on_sla_breached(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    """R-S9: a breach of a job no dealer held credits the customer's contract (once per job and milestone)."""
    await contracts.credit_breach(session, event.payload, defaults=contracts.defaults_of(cfg), now=clock.now())


async def on_pm_missed(session: AsyncSession, event: IntegrationEvent, *, cfg: DispatchConfig) -> None:
    """R-S10 + R-S9: a missed PM visit is an SLA breach of its contract (once per occurrence), priced by its terms."""
    await contracts.pm_missed(session, event.payload, defaults=contracts.defaults_of(cfg), now=clock.now())


HANDLERS = {
    "tickets": ([ticket_ev.TICKET_TOPIC, ticket_ev.PRODUCT_LINE_TOPIC], {
        ticket_ev.TicketOpened.TYPE: on_ticket_opened,
        ticket_ev.TicketReopened.TYPE: on_ticket_reopened,
        ticket_ev.TicketCancelled.TYPE: on_ticket_cancelled,
        ticket_ev.TicketCoverageChanged.TYPE: on_coverage_changed,
        # issue 15: a product line's component list, which diagnoses are checked on
        ticket_ev.ProductLineComponentsChanged.TYPE: on_line_components_changed,
    }),
    "parts": ([parts_ev.REQUEST_TOPIC, parts_ev.CATALOG_TOPIC], {
        parts_ev.RequestDelivered.TYPE: on_parts_delivered,
        parts_ev.PartChanged.TYPE: on_part_changed,  # issue 15: catalogue list prices, which quotes charge
    }),
    "durations": ([dispatch_ev.JOB_TOPIC], {dispatch_ev.JobCompleted.TYPE: on_job_completed}),  # learned minutes
    "contracts": ([dispatch_ev.JOB_TOPIC], {dispatch_ev.SlaBreached.TYPE: on_sla_breached}),  # R-S9 credits
    "maintenance": ([ticket_ev.UNIT_TOPIC], {ticket_ev.PmMissed.TYPE: on_pm_missed}),  # R-S10 + R-S9
    "planner": ([dispatch_ev.PLAN_TOPIC], {
        dispatch_ev.PlanRequested.TYPE: on_plan_requested,
    }),
}
"""Consumer group -> (topics, event type -> handler)."""
PLANNER = "planner"


def consumer_specs(settings: ServiceSettings) -> list[ConsumerSpec]:
    """The consumer groups of the dispatch service."""
    assert isinstance(settings, DispatchSettings)
    cfg = DispatchConfig.from_settings(settings)
    off: set[str] = set() if settings.run_planner else {PLANNER}
    wanted = {PLANNER} if settings.planner_only else set(HANDLERS) - off
    return [ConsumerSpec(name, topics, {t: partial(h, cfg=cfg) for t, h in handlers.items()})
            for name, (topics, handlers) in HANDLERS.items() if name in wanted]
