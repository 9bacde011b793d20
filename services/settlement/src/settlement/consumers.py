"""Integration events settlement consumes: each handler runs in one unit of work with the inbox row.

Every handler books ledger entries keyed by the event id, so a redelivered event is never counted twice
(the inbox dedups per consumer; the ledger's unique source id dedups everywhere).
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.app import ConsumerSpec
from aftersales_shared.config import ServiceSettings
from aftersales_shared.events import dispatch as dsp
from aftersales_shared.events import parts as prt
from aftersales_shared.events import ticketing as tkt
from aftersales_shared.events.envelope import IntegrationEvent

from .domain.money import ZERO
from .domain.quarters import SHANGHAI
from .ledger import record

IN_WARRANTY = ("warranty", "extended")


async def on_unit_registered(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    if not p.dealer_id:
        return
    at = datetime.combine(p.registered_on, time(12, 0), SHANGHAI)
    await record(session, dealer_id=p.dealer_id, kind="registered_sale", occurred_at=at,
                 source_type=event.type, source_id=str(event.event_id), amount=p.sale_amount or ZERO,
                 details={"serial": p.serial, "product_line": p.product_line})


async def on_complaint_resolved(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    if not p.dealer_id or not p.upheld or p.against != "dealer":
        return
    await record(session, dealer_id=p.dealer_id, kind="complaint_upheld", occurred_at=p.resolved_at,
                 source_type=event.type, source_id=str(event.event_id), details={"complaint_id": p.complaint_id})


async def on_callback(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    if not p.dealer_id:
        return
    await record(session, dealer_id=p.dealer_id, kind="callback", occurred_at=p.recorded_at,
                 source_type=event.type, source_id=str(event.event_id),
                 details={"ticket_id": p.ticket_id, "reached": p.reached, "satisfaction": p.satisfaction})


async def on_job_completed(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    if not p.dealer_id or p.coverage not in IN_WARRANTY:
        return
    details = {"job_id": p.job_id, "serial": p.serial, "engineer_id": p.engineer_id}
    await record(session, dealer_id=p.dealer_id, kind="repair", occurred_at=p.at, source_type=event.type,
                 source_id=str(event.event_id), details=details)
    if p.home_visit:
        await record(session, dealer_id=p.dealer_id, kind="home_visit", occurred_at=p.at,
                     source_type=event.type + "#home_visit", source_id=str(event.event_id), details=details)


async def on_sla_breached(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    if not p.dealer_id:
        return
    await record(session, dealer_id=p.dealer_id, kind="sla_breach", occurred_at=p.at, source_type=event.type,
                 source_id=str(event.event_id), details={"job_id": p.job_id, "milestone": p.milestone})


async def on_return_missed(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    if not p.dealer_id or p.chargeback_amount <= 0:
        return
    await record(session, dealer_id=p.dealer_id, kind="part_not_returned", occurred_at=p.at,
                 source_type=event.type, source_id=str(event.event_id), amount=p.chargeback_amount,
                 details={"return_id": p.return_id, "part_no": p.part_no})


async def on_request_shipped(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    if not p.dealer_id or not p.urgent_surcharge or p.urgent_surcharge <= 0:
        return
    await record(session, dealer_id=p.dealer_id, kind="urgent_surcharge", occurred_at=p.at,
                 source_type=event.type, source_id=str(event.event_id), amount=p.urgent_surcharge,
                 details={"request_id": p.request_id, "carrier": p.carrier})


async def on_budget_excess_charged(session: AsyncSession, event: IntegrationEvent) -> None:
    """Parts drawn beyond the dealer's quarterly parts budget are charged at list price (R-P7)."""
    p = event.payload
    if p.excess_amount <= 0:
        return
    await record(session, dealer_id=p.dealer_id, kind="parts_budget_excess", occurred_at=p.at,
                 source_type=event.type, source_id=str(event.event_id), amount=p.excess_amount,
                 details={"request_id": p.request_id, "shipment_id": p.shipment_id, "budget_quarter": p.quarter,
                          "value": p.value})


def consumer_specs(settings: ServiceSettings) -> list[ConsumerSpec]:
    """The consumer groups of the settlement service."""
    return [ConsumerSpec(
        name="ledger",
        topics=[tkt.UNIT_TOPIC, tkt.COMPLAINT_TOPIC, tkt.CALLBACK_TOPIC, dsp.JOB_TOPIC, prt.RETURN_TOPIC,
                prt.REQUEST_TOPIC, prt.BUDGET_TOPIC],
        handlers={
            tkt.UnitRegistered.TYPE: on_unit_registered,
            tkt.ComplaintResolved.TYPE: on_complaint_resolved,
            tkt.CallbackRecorded.TYPE: on_callback,
            dsp.JobCompleted.TYPE: on_job_completed,
            dsp.SlaBreached.TYPE: on_sla_breached,
            prt.ReturnMissed.TYPE: on_return_missed,
            prt.RequestShipped.TYPE: on_request_shipped,
            prt.BudgetExcessCharged.TYPE: on_budget_excess_charged,
        },
    )]
