"""Integration events settlement consumes: each handler runs in one unit of work with the inbox row and makes
one ledger call.

Every entry is keyed by the event id, so a redelivered event is never counted twice (the inbox dedups per
consumer; the ledger's unique source id dedups everywhere). Events without a dealer are not settled.

Every date, instant and amount a producer's shared boundary types accept is bookable here (the pure line is
``domain/ledger.py``; property-tested in ``tests/settlement/test_booking_range.py``): nothing a producer
accepted is dead-lettered by settlement.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.app import ConsumerSpec
from aftersales_shared.config import ServiceSettings
from aftersales_shared.consumer import Handler
from aftersales_shared.events import dispatch as dsp
from aftersales_shared.events import parts as prt
from aftersales_shared.events import ticketing as tkt
from aftersales_shared.events.envelope import IntegrationEvent

from .config import SettlementSettings
from .domain.fees import ZERO
from .ledger import registration, repair_fees
from .ledger import service as ledger
from .penalties import service as penalties
from .reports import service as reports
from .terms.service import defaults_of

IN_WARRANTY = ("warranty", "extended")


def _defaults(settings: ServiceSettings | None) -> dict[str, Any]:
    return defaults_of(settings) if isinstance(settings, SettlementSettings) else {}


async def on_unit_recorded(session: AsyncSession, event: IntegrationEvent,
                           settings: ServiceSettings | None = None) -> None:
    """A unit's sale facts (created, dates changed, changed hands): kept to judge its card deadline (R-W10)."""
    p = event.payload
    await registration.remember(session, serial=p.serial, dealer_id=p.dealer_id, sold_on=p.sold_on,
                                registered_on=p.card_registered_on, now=clock.now())
    # a repair settled before this unit fact arrived: a missing or late card now reverses its fee, once
    await repair_fees.unit_changed(session, serial=p.serial, defaults=_defaults(settings), now=clock.now())


async def on_unit_registered(session: AsyncSession, event: IntegrationEvent,
                             settings: ServiceSettings | None = None) -> None:
    """A returned warranty card is a registered sale (fee models a and b) when it came within the dealer's
    ``card_registration_days`` (R-W10); a late one is booked as such and counts for nothing."""
    p = event.payload
    await registration.remember(session, serial=p.serial, dealer_id=p.dealer_id, sold_on=p.sold_on,
                                registered_on=p.registered_on, now=clock.now(), keep_known=True)
    await repair_fees.unit_changed(session, serial=p.serial, defaults=_defaults(settings), now=clock.now())
    if not p.dealer_id:
        return
    why = await registration.why_not_reimbursed(session, dealer_id=p.dealer_id, sold_on=p.sold_on,
                                                registered_on=p.registered_on, on=p.registered_on,
                                                defaults=_defaults(settings))
    details: dict[str, Any] = {"serial": p.serial, "product_line": p.product_line}
    await ledger.record(session, dealer_id=p.dealer_id, kind="registered_sale_late" if why else "registered_sale",
                        occurred_at=p.registered_on, source_type=event.type,
                        source_id=str(event.event_id), amount=p.sale_amount or ZERO,
                        details={**details, "reason": why} if why else details, now=clock.now())


async def on_complaint_resolved(session: AsyncSession, event: IntegrationEvent) -> None:
    """A complaint upheld against the dealer is a deduction (R-D3) and counts in the assessment."""
    p = event.payload
    if p.dealer_id and p.upheld and p.against == "dealer":
        await ledger.record(session, dealer_id=p.dealer_id, kind="complaint_upheld", occurred_at=p.resolved_at,
                            source_type=event.type, source_id=str(event.event_id),
                            details={"complaint_id": p.complaint_id, "ticket_id": p.ticket_id}, now=clock.now())


async def on_callback_recorded(session: AsyncSession, event: IntegrationEvent) -> None:
    """A callback feeds the monthly assessment (R-D7, R-T5)."""
    p = event.payload
    if p.dealer_id:
        await ledger.record(session, dealer_id=p.dealer_id, kind="callback", occurred_at=p.recorded_at,
                            source_type=event.type, source_id=str(event.event_id),
                            details={"ticket_id": p.ticket_id, "reached": p.reached, "satisfaction": p.satisfaction},
                            now=clock.now())


async def on_job_completed(session: AsyncSession, event: IntegrationEvent,
                           settings: ServiceSettings | None = None) -> None:
    """An in-warranty repair by a dealer's engineer (and its home visit) is a fee fact (R-D2c, R-D2d), unless the
    unit's warranty card is missing or late (R-W10: ``repair_unregistered``, no fee, the reason kept). The ticket's
    latest coverage decision, when one reached settlement first, settles it; the job is kept so a later decision
    or unit fact reverses or books the fee once (``ledger/repair_fees.py``)."""
    p = event.payload
    if not p.dealer_id:
        return
    coverage, coverage_reason = (await repair_fees.decision_of(session, p.ticket_id)) or (p.coverage,
                                                                                        p.coverage_reason)
    why = None
    if coverage in IN_WARRANTY:
        why = await registration.repair_refused(session, serial=p.serial, dealer_id=p.dealer_id,
                                                on=clock.business_date(p.at), defaults=_defaults(settings))
    fee = False
    if why:
        await ledger.record(session, dealer_id=p.dealer_id, kind="repair_unregistered", occurred_at=p.at,
                            source_type=event.type, source_id=str(event.event_id),
                            details={"job_id": p.job_id, "serial": p.serial, "engineer_id": p.engineer_id,
                                     "home_visit": p.home_visit, "at": p.at, "reason": why}, now=clock.now())
    elif coverage in IN_WARRANTY and p.outcome == "repaired":
        await ledger.book_repair(session, dealer_id=p.dealer_id, at=p.at, home_visit=p.home_visit,
                                 source_type=event.type, source_id=str(event.event_id),
                                 details={"job_id": p.job_id, "serial": p.serial, "engineer_id": p.engineer_id},
                                 now=clock.now())
        fee = True
    elif coverage_reason:
        # issue 15: a repair that became customer-paid on diagnosis earns no fee; the statement says why
        await ledger.record(session, dealer_id=p.dealer_id, kind="repair_customer_paid", occurred_at=p.at,
                            source_type=event.type, source_id=str(event.event_id),
                            details={"job_id": p.job_id, "serial": p.serial, "engineer_id": p.engineer_id,
                                     "reason": coverage_reason}, now=clock.now())
    await repair_fees.remember(session, job_id=p.job_id, ticket_id=p.ticket_id, serial=p.serial,
                               dealer_id=p.dealer_id, completed_at=p.at, home_visit=p.home_visit,
                               repaired=p.outcome == "repaired", coverage=coverage, fee_booked=fee, now=clock.now())


async def on_coverage_changed(session: AsyncSession, event: IntegrationEvent,
                              settings: ServiceSettings | None = None) -> None:
    """A ticket's coverage changed after intake (diagnosis, override, unit dates): a fee already booked for its
    repair is reversed when it became paid, booked when it became covered — once (``ledger/repair_fees.py``)."""
    p = event.payload
    await repair_fees.coverage_changed(session, ticket_id=p.ticket_id, coverage=p.to_coverage, reason=p.reason,
                                       changed_at=p.changed_at, defaults=_defaults(settings), now=clock.now())


async def on_unit_remedy_completed(session: AsyncSession, event: IntegrationEvent) -> None:
    """A unit exchanged or replaced under 三包 for the dealer's customer (issue 15) is a fee fact; the contract's
    ``unit_replacement_fee`` (default 0) values it on the statement. Keyed by the remedy, so the same remedy
    announced twice (a redelivery, or a copy with another event id) is counted once."""
    p = event.payload
    if p.dealer_id and p.new_serial:
        await ledger.record(session, dealer_id=p.dealer_id, kind="unit_replacement", occurred_at=p.completed_at,
                            source_type=event.type, source_id=f"remedy:{p.remedy_id}",
                            details={"remedy_id": p.remedy_id, "kind": p.kind, "serial": p.serial,
                                     "new_serial": p.new_serial, "ticket_id": p.ticket_id}, now=clock.now())


async def on_sla_breached(session: AsyncSession, event: IntegrationEvent,
                          settings: ServiceSettings | None = None) -> None:
    """An SLA breach lowers the month's SLA attainment (R-D7) and, on terms with penalties, charges the
    dealer liquidated damages (R-S9, ``penalties/``)."""
    p = event.payload
    if p.dealer_id:
        await ledger.record(session, dealer_id=p.dealer_id, kind="sla_breach", occurred_at=p.at,
                            source_type=event.type, source_id=str(event.event_id),
                            details={"job_id": p.job_id, "milestone": p.milestone}, now=clock.now())
        defaults = defaults_of(settings) if isinstance(settings, SettlementSettings) else {}
        await penalties.charge_breach(session, event=event, defaults=defaults, now=clock.now())


async def on_pm_breached(session: AsyncSession, event: IntegrationEvent) -> None:
    """R-S10 + R-S9: a missed PM visit held by the dealer's engineer charges it the damages dispatch priced from the
    customer contract's terms (``penalties/``), once per job; it lowers the month's SLA attainment like any breach."""
    p = event.payload
    if p.dealer_id and p.job_id:
        await ledger.record(session, dealer_id=p.dealer_id, kind="sla_breach", occurred_at=p.missed_at,
                            source_type=event.type, source_id=str(event.event_id),
                            details={"job_id": p.job_id, "milestone": p.milestone}, now=clock.now())
        await penalties.charge_pm_breach(session, event=event, now=clock.now())


async def on_third_party_cost(session: AsyncSession, event: IntegrationEvent) -> None:
    """R-S9: the owner had a dealer's job repaired by a third party: its cost is deducted from the dealer's next
    open statement, once per job and invoice number (the ledger's source key)."""
    p = event.payload
    await ledger.record(session, dealer_id=p.dealer_id, kind="third_party_cost", occurred_at=p.at,
                        source_type=event.type, source_id=f"{p.job_id}:{p.invoice_no}", amount=p.amount,
                        details={"job_id": p.job_id, "invoice_no": p.invoice_no, "vendor": p.vendor}, now=clock.now())


async def on_return_missed(session: AsyncSession, event: IntegrationEvent) -> None:
    """An old part not returned in time is charged at cost (R-P4)."""
    p = event.payload
    if p.dealer_id and p.chargeback_amount > 0:
        await ledger.record(session, dealer_id=p.dealer_id, kind="part_not_returned", occurred_at=p.at,
                            source_type=event.type, source_id=str(event.event_id), amount=p.chargeback_amount,
                            details={"return_id": p.return_id, "part_no": p.part_no}, now=clock.now())


async def on_request_shipped(session: AsyncSession, event: IntegrationEvent) -> None:
    """An urgent shipment's surcharge is deducted (R-P6)."""
    p = event.payload
    if p.dealer_id and p.urgent_surcharge and p.urgent_surcharge > 0:
        await ledger.record(session, dealer_id=p.dealer_id, kind="urgent_surcharge", occurred_at=p.at,
                            source_type=event.type, source_id=str(event.event_id), amount=p.urgent_surcharge,
                            details={"request_id": p.request_id, "carrier": p.carrier}, now=clock.now())


async def on_budget_excess_charged(session: AsyncSession, event: IntegrationEvent) -> None:
    """Parts drawn beyond the dealer's quarterly parts budget are charged at list price (R-P7)."""
    p = event.payload
    if p.excess_amount > 0:
        await ledger.record(session, dealer_id=p.dealer_id, kind="parts_budget_excess", occurred_at=p.at,
                            source_type=event.type, source_id=str(event.event_id), amount=p.excess_amount,
                            details={"request_id": p.request_id, "shipment_id": p.shipment_id,
                                     "budget_quarter": p.quarter, "value": p.value}, now=clock.now())


async def on_job_completed_record(session: AsyncSession, event: IntegrationEvent) -> None:
    """Every completed job of a dealer's engineer (any coverage) is kept as its service record for the R-O1
    reports (its own consumer group, so the fee booking above is untouched)."""
    await reports.record_repair(session, event_id=str(event.event_id), p=event.payload, now=clock.now())


HANDLERS: dict[str, Handler] = {
    tkt.UnitRecorded.TYPE: on_unit_recorded,
    tkt.TicketCoverageChanged.TYPE: on_coverage_changed,
    tkt.UnitRegistered.TYPE: on_unit_registered,
    tkt.UnitRemedyCompleted.TYPE: on_unit_remedy_completed,
    tkt.ComplaintResolved.TYPE: on_complaint_resolved,
    tkt.CallbackRecorded.TYPE: on_callback_recorded,
    dsp.JobCompleted.TYPE: on_job_completed,
    dsp.SlaBreached.TYPE: on_sla_breached,
    dsp.JobThirdPartyCost.TYPE: on_third_party_cost,
    dsp.PmBreached.TYPE: on_pm_breached,
    prt.ReturnMissed.TYPE: on_return_missed,
    prt.RequestShipped.TYPE: on_request_shipped,
    prt.BudgetExcessCharged.TYPE: on_budget_excess_charged,
}

RECORD_HANDLERS: dict[str, Handler] = {dsp.JobCompleted.TYPE: on_job_completed_record}
"""The R-O1 service records (consumer group ``repair-records``)."""


def consumer_specs(settings: ServiceSettings) -> list[ConsumerSpec]:
    """The consumer groups of the settlement service."""
    return [ConsumerSpec(
        name="ledger",
        topics=[tkt.UNIT_TOPIC, tkt.TICKET_TOPIC, tkt.COMPLAINT_TOPIC, tkt.CALLBACK_TOPIC, dsp.JOB_TOPIC,
                dsp.CONTRACT_TOPIC, prt.RETURN_TOPIC, prt.REQUEST_TOPIC, prt.BUDGET_TOPIC],
        # the breach handler reads the configured defaults of the dealer terms (R-S9 penalties), the card and
        # repair handlers the card deadline's (R-W10)
        handlers={**HANDLERS, dsp.SlaBreached.TYPE: partial(on_sla_breached, settings=settings),
                  tkt.UnitRegistered.TYPE: partial(on_unit_registered, settings=settings),
                  tkt.UnitRecorded.TYPE: partial(on_unit_recorded, settings=settings),
                  tkt.TicketCoverageChanged.TYPE: partial(on_coverage_changed, settings=settings),
                  dsp.JobCompleted.TYPE: partial(on_job_completed, settings=settings)},
    ), ConsumerSpec(name="repair-records", topics=[dsp.JOB_TOPIC], handlers=RECORD_HANDLERS)]
