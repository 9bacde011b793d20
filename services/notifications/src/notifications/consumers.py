"""Integration events notifications consumes: each handler turns the payload into a Fact and makes one
service call (projection + queued messages in the consumer's unit of work, beside the inbox row)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.app import ConsumerSpec
from aftersales_shared.config import ServiceSettings
from aftersales_shared.events import dispatch as dsp
from aftersales_shared.events import parts as prt
from aftersales_shared.events import settlement as stl
from aftersales_shared.events import ticketing as tkt
from aftersales_shared.events.envelope import IntegrationEvent

from .domain.policy import SHANGHAI
from .domain.rules import Fact
from .messages.service import record_event


async def _record(session: AsyncSession, event: IntegrationEvent, fact: Fact,
                  eta_margin: timedelta = timedelta(minutes=30)) -> None:
    await record_event(session, fact=fact, event_id=event.event_id, now=clock.now(), eta_margin=eta_margin)


def _pct(value: float | None) -> str | None:
    return None if value is None else f"{value * 100:.1f}%"


async def on_ticket_opened(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    await _record(session, event, Fact(event.type, p.opened_at, ticket_id=p.ticket_id, dealer_id=p.dealer_id,
                                       data={"ticket_no": p.ticket_no}))


async def on_ticket_reopened(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    await _record(session, event, Fact(event.type, p.reopened_at, ticket_id=p.ticket_id, visit=p.visit,
                                       dealer_id=p.dealer_id, data={"ticket_no": p.ticket_no}))


async def on_ticket_ended(session: AsyncSession, event: IntegrationEvent) -> None:
    """Closed or cancelled: the status page says so."""
    p = event.payload
    at = getattr(p, "closed_at", None) or getattr(p, "cancelled_at", None) or event.occurred_at
    await _record(session, event, Fact(event.type, at, ticket_id=p.ticket_id, visit=0))


async def on_callback_recorded(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    await _record(session, event, Fact(event.type, p.recorded_at, ticket_id=p.ticket_id, visit=0,
                                       data={"satisfaction": p.satisfaction}))


async def on_job_created(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    arrive_by = p.deadlines.get("arrive")
    await _record(session, event, Fact(event.type, p.at, ticket_id=p.ticket_id, visit=p.visit, job_id=p.job_id,
                                       data={"arrive_by": arrive_by}))


async def on_job_step(session: AsyncSession, event: IntegrationEvent) -> None:
    """Assigned, en route, arrived, completed, spare unit collected: the customer is told."""
    p = event.payload
    await _record(session, event, Fact(event.type, p.at, ticket_id=p.ticket_id, visit=p.visit, job_id=p.job_id,
                                       engineer_id=p.engineer_id))


def _local(at: datetime | None) -> str | None:
    return None if at is None else f"{at.astimezone(SHANGHAI):%m-%d %H:%M}"


async def on_spare_unit_lent(session: AsyncSession, event: IntegrationEvent) -> None:
    """A spare unit lent (R-S6): the customer is told, with the due-back time when the event carries one."""
    p = event.payload
    due = getattr(p, "due_back_at", None)
    await _record(session, event, Fact(event.type, p.at, ticket_id=p.ticket_id, visit=p.visit, job_id=p.job_id,
                                       engineer_id=p.engineer_id, data={
                                           "serial": getattr(p, "serial", None) or p.reason, "due_back": _local(due)}))


async def on_spare_unit_overdue(session: AsyncSession, event: IntegrationEvent) -> None:
    """The lent spare is past its due-back time: the customer is reminded, once per loan (spare and job)."""
    p = event.payload
    loan = f"spare:{p.spare_id or p.serial}@{p.job_id}"
    await _record(session, event, Fact(event.type, p.at, ticket_id=p.ticket_id, visit=p.visit, job_id=p.job_id,
                                       engineer_id=p.engineer_id, subject_id=loan,
                                       data={"spare_id": p.spare_id, "serial": p.serial or p.reason,
                                             "due_back": _local(p.due_back_at)}))


async def on_parts_request(session: AsyncSession, event: IntegrationEvent) -> None:
    """Shipped (R-P1: the dealer is told the same day) or backordered."""
    p = event.payload
    data = {"request_id": p.request_id, "carrier": getattr(p, "carrier", None),
            "tracking_no": getattr(p, "tracking_no", None)}
    await _record(session, event, Fact(event.type, p.at, dealer_id=p.dealer_id, subject_id=p.request_id, data=data))


async def on_statement(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    data = {"statement_id": p.statement_id, "quarter": p.quarter, "revision": p.revision,
            "net_amount": str(p.net_amount), "due_on": p.due_on.isoformat() if p.due_on else None}
    await _record(session, event, Fact(event.type, p.at, dealer_id=p.dealer_id, subject_id=p.statement_id,
                                       data=data))


async def on_dispute_resolved(session: AsyncSession, event: IntegrationEvent) -> None:
    p = event.payload
    data = {"dispute_id": p.dispute_id, "statement_id": p.statement_id, "status": p.status,
            "adjustment": str(p.adjustment) if p.adjustment is not None else "0.00"}
    await _record(session, event, Fact(event.type, p.at, dealer_id=p.dealer_id, subject_id=p.dispute_id, data=data))


async def on_job_eta_changed(session: AsyncSession, event: IntegrationEvent, *, margin_minutes: int = 30) -> None:
    """The planned arrival moved: the status page shows the new window; the customer is told when it moved by
    more than the margin (setting ``eta_change_margin_minutes``), or gets a confirmation of its own reschedule."""
    p = event.payload
    await _record(session, event, Fact(event.type, p.at, ticket_id=p.ticket_id, visit=p.visit, job_id=p.job_id,
                                       engineer_id=p.engineer_id, data={
                                           "planned_arrival": p.planned_arrival,
                                           "previous_arrival": p.previous_arrival, "reason": p.reason,
                                           "window_start": p.window_start, "window_end": p.window_end,
                                           "arrival": f"{p.planned_arrival.astimezone(SHANGHAI):%m-%d %H:%M}"}),
                  eta_margin=timedelta(minutes=margin_minutes))


async def on_quote_presented(session: AsyncSession, event: IntegrationEvent) -> None:
    """A paid repair's quote: the customer gets the total and the status link."""
    p = event.payload
    valid = f"{p.valid_until.astimezone(SHANGHAI):%m-%d %H:%M}" if p.valid_until else None
    await _record(session, event, Fact(event.type, p.at, ticket_id=p.ticket_id, visit=p.visit, job_id=p.job_id,
                                       subject_id=p.quote_id, data={
                                           "quote_id": p.quote_id, "total": str(p.total), "items": len(p.lines),
                                           "valid_until": valid}))


async def on_quote_answered(session: AsyncSession, event: IntegrationEvent) -> None:
    """Accepted or declined: the customer answered the engineer on site, so no message (rules.NOTICES)."""
    p = event.payload
    await _record(session, event, Fact(event.type, p.at, ticket_id=p.ticket_id, visit=p.visit, job_id=p.job_id,
                                       subject_id=p.quote_id, data={"quote_id": p.quote_id, "status": p.status}))


async def on_assessment_issued(session: AsyncSession, event: IntegrationEvent) -> None:
    """R-D7: the dealer is told its monthly assessment is out (once per dealer and month)."""
    p = event.payload
    data = {"assessment_id": p.assessment_id, "month": p.month, "score": f"{p.score:.1f}", "grade": p.grade,
            "callback_rate": _pct(p.callback_rate), "first_time_fix_rate": _pct(p.first_time_fix_rate),
            "sla_met_rate": _pct(p.sla_met_rate)}
    await _record(session, event, Fact(event.type, p.at, dealer_id=p.dealer_id, subject_id=f"assessment:{p.month}",
                                       data=data))


def consumer_specs(settings: ServiceSettings) -> list[ConsumerSpec]:
    """The one consumer group of the notifications service."""
    margin = int(getattr(settings, "eta_change_margin_minutes", 30))
    return [ConsumerSpec(
        name="notify",
        topics=[tkt.TICKET_TOPIC, tkt.CALLBACK_TOPIC, dsp.JOB_TOPIC, prt.REQUEST_TOPIC, stl.STATEMENT_TOPIC,
                stl.DISPUTE_TOPIC, stl.ASSESSMENT_TOPIC],
        handlers={
            tkt.TicketOpened.TYPE: on_ticket_opened,
            tkt.TicketReopened.TYPE: on_ticket_reopened,
            tkt.TicketClosed.TYPE: on_ticket_ended,
            tkt.TicketCancelled.TYPE: on_ticket_ended,
            tkt.CallbackRecorded.TYPE: on_callback_recorded,
            dsp.JobCreated.TYPE: on_job_created,
            dsp.JobAssigned.TYPE: on_job_step,
            dsp.JobEnRoute.TYPE: on_job_step,
            dsp.JobArrived.TYPE: on_job_step,
            dsp.JobCompleted.TYPE: on_job_step,
            dsp.JobRemoteResolved.TYPE: on_job_step,
            dsp.SpareUnitLent.TYPE: on_spare_unit_lent,
            dsp.SpareUnitOverdue.TYPE: on_spare_unit_overdue,
            dsp.SpareUnitCollected.TYPE: on_job_step,
            prt.RequestShipped.TYPE: on_parts_request,
            prt.RequestBackordered.TYPE: on_parts_request,
            stl.StatementIssued.TYPE: on_statement,
            stl.StatementApproved.TYPE: on_statement,
            stl.StatementPaid.TYPE: on_statement,
            stl.DisputeResolved.TYPE: on_dispute_resolved,
            dsp.JobEtaChanged.TYPE: partial(on_job_eta_changed, margin_minutes=margin),
            dsp.JobQuotePresented.TYPE: on_quote_presented,
            dsp.JobQuoteAccepted.TYPE: on_quote_answered,
            dsp.JobQuoteDeclined.TYPE: on_quote_answered,
            stl.AssessmentIssued.TYPE: on_assessment_issued,
        },
    )]
