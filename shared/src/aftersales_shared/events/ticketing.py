"""Integration events published by the ticketing service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from .envelope import IntegrationEvent, Payload, topic_for
from .envelope_types import Money

PRODUCER = "ticketing"
TICKET_TOPIC = topic_for(PRODUCER, "ticket")
UNIT_TOPIC = topic_for(PRODUCER, "unit")
COMPLAINT_TOPIC = topic_for(PRODUCER, "complaint")
CALLBACK_TOPIC = topic_for(PRODUCER, "callback")
PRODUCT_LINE_TOPIC = topic_for(PRODUCER, "product_line")

# "maintenance" (issue 16, R-S10): a preventive-maintenance visit under a plan — contract work, never a warranty
# repair fee (settlement books fees only for warranty/extended).
Coverage = Literal["warranty", "extended", "paid", "maintenance"]


class TicketOpenedPayload(Payload):
    ticket_id: str
    ticket_no: str
    serial: str
    product_line: str
    required_skill: str
    dealer_id: str | None = None
    contract_code: str | None = None
    coverage: Coverage
    customer_name: str
    phone: str
    address: str
    region_code: str
    lat: float | None = None
    lon: float | None = None
    channel: str
    fault_description: str
    requested_action: str | None = None
    opened_at: datetime
    # issue 15: when the customer reported it (e-mail, SMS, web form, voicemail before the agent keyed it in);
    # the SLA clock starts here (under the contract's calendar). None: at ``opened_at``.
    reported_at: datetime | None = None
    # issue 16 (R-S10): a preventive-maintenance ticket (``kind="maintenance"``, coverage "maintenance") carries its
    # visit window: dispatch books the job from ``window_start`` to ``window_end``. None: a reported fault.
    kind: Literal["repair", "maintenance"] | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None


class TicketOpened(IntegrationEvent):
    TYPE = "ticketing.ticket.opened"
    TOPIC = TICKET_TOPIC
    payload: TicketOpenedPayload


class TicketReopenedPayload(TicketOpenedPayload):
    """A closed or cancelled ticket is open again: everything dispatch needs to send someone again.

    ``visit`` numbers the ticket's dispatches (1 = the first, 2 = after the first reopen, ...); dispatch
    opens one job per (ticket, visit), with SLA deadlines counted from ``reopened_at``.
    """

    visit: int = Field(ge=2)
    reason: str
    reopened_at: datetime


class TicketReopened(IntegrationEvent):
    TYPE = "ticketing.ticket.reopened"
    TOPIC = TICKET_TOPIC
    payload: TicketReopenedPayload


class TicketStatusChangedPayload(Payload):
    ticket_id: str
    from_status: str
    to_status: str
    actor: str
    reason: str | None = None
    changed_at: datetime


class TicketStatusChanged(IntegrationEvent):
    TYPE = "ticketing.ticket.status_changed"
    TOPIC = TICKET_TOPIC
    payload: TicketStatusChangedPayload


class TicketCancelledPayload(Payload):
    ticket_id: str
    reason: str
    cancelled_at: datetime


class TicketCancelled(IntegrationEvent):
    TYPE = "ticketing.ticket.cancelled"
    TOPIC = TICKET_TOPIC
    payload: TicketCancelledPayload


class TicketClosedPayload(Payload):
    ticket_id: str
    dealer_id: str | None = None
    outcome: str
    closed_at: datetime


class TicketClosed(IntegrationEvent):
    TYPE = "ticketing.ticket.closed"
    TOPIC = TICKET_TOPIC
    payload: TicketClosedPayload


class TicketCoverageChangedPayload(Payload):
    """A ticket's coverage changed after intake (issue 15): an exclusion (R-W3) or a customer-side cause (R-T3)
    found on site made the repair paid, or the call center overrode the coverage with a reason (audited).
    ``job_id``: the job whose diagnosis caused it (None for an override)."""

    ticket_id: str
    ticket_no: str
    serial: str
    dealer_id: str | None = None
    job_id: str | None = None
    from_coverage: Coverage
    to_coverage: Coverage
    source: Literal["diagnosis", "override", "unit_change"]  # unit_change: a unit's dates changed (issue 15)
    reason: str
    exclusions: list[str] = Field(default_factory=list)
    root_cause: str | None = None
    actor: str
    changed_at: datetime


class TicketCoverageChanged(IntegrationEvent):
    TYPE = "ticketing.ticket.coverage_changed"
    TOPIC = TICKET_TOPIC
    payload: TicketCoverageChangedPayload


class UnitRegisteredPayload(Payload):
    """A sale's warranty card came back (R-W10): settlement and parts count registered sales."""

    serial: str
    product_line: str
    dealer_id: str | None = None
    sold_on: date | None = None
    registered_on: date
    sale_amount: Money | None = None


class UnitRegistered(IntegrationEvent):
    TYPE = "ticketing.unit.registered"
    TOPIC = UNIT_TOPIC
    payload: UnitRegisteredPayload


class UnitRecordedPayload(Payload):
    """A unit's sale facts as ticketing holds them now (issue 15): on creation or import, when its dates change and
    when it changes hands. Settlement judges the warranty card deadline (R-W10) from them."""

    serial: str
    product_line: str
    dealer_id: str | None = None
    sold_on: date | None = None
    card_registered_on: date | None = None
    change: Literal["created", "dates", "owner"] = "created"


class UnitRecorded(IntegrationEvent):
    TYPE = "ticketing.unit.recorded"
    TOPIC = UNIT_TOPIC
    payload: UnitRecordedPayload


class PmMissedPayload(Payload):
    """A preventive-maintenance visit, inspection or call (R-S10) whose window closed without a recorded result:
    an SLA event of the unit's plan (issue 16 item 4). ``ticket_id``: its maintenance ticket, if one was opened."""

    occurrence_id: str
    plan_id: str
    serial: str
    kind: Literal["visit", "inspection", "call"]
    dealer_id: str | None = None
    contract_code: str | None = None
    ticket_id: str | None = None
    window_start: datetime
    window_end: datetime
    missed_at: datetime


class PmMissed(IntegrationEvent):
    TYPE = "ticketing.pm.missed"
    TOPIC = UNIT_TOPIC
    payload: PmMissedPayload


class ExtensionPurchasedPayload(Payload):
    serial: str
    paid_on: date
    months: int
    price: Money


class ExtensionPurchased(IntegrationEvent):
    TYPE = "ticketing.unit.extension_purchased"
    TOPIC = UNIT_TOPIC
    payload: ExtensionPurchasedPayload


class ComplaintFiledPayload(Payload):
    complaint_id: str
    ticket_id: str | None = None
    dealer_id: str | None = None
    category: str
    filed_at: datetime
    respond_by: datetime


class ComplaintFiled(IntegrationEvent):
    TYPE = "ticketing.complaint.filed"
    TOPIC = COMPLAINT_TOPIC
    payload: ComplaintFiledPayload


class ComplaintResolvedPayload(Payload):
    complaint_id: str
    ticket_id: str | None = None
    dealer_id: str | None = None
    upheld: bool
    against: Literal["dealer", "manufacturer", "engineer", "none"]
    resolved_at: datetime


class ComplaintResolved(IntegrationEvent):
    TYPE = "ticketing.complaint.resolved"
    TOPIC = COMPLAINT_TOPIC
    payload: ComplaintResolvedPayload


class CallbackRecordedPayload(Payload):
    ticket_id: str
    dealer_id: str | None = None
    reached: bool
    fixed: bool | None = None
    satisfaction: int | None = None
    recorded_at: datetime


class CallbackRecorded(IntegrationEvent):
    TYPE = "ticketing.callback.recorded"
    TOPIC = CALLBACK_TOPIC
    payload: CallbackRecordedPayload


class UnitRemedyCompletedPayload(Payload):
    """A 三包 remedy was carried out on a ticket's unit (issue 15): a return or exchange (R-W4), a unit replacement
    or a component replacement after repeated repairs (R-W5). ``serial`` is the old unit: retired for a return,
    exchange or unit replacement, kept for a component replacement; ``new_serial`` is the unit shipped in its place
    (exchange, unit replacement). ``ship_to_address`` is where the replacement ships (parts starts the R-P1 clock);
    ``unit_part_no`` is the catalogue number parts ships for a whole unit (None: the product line code)."""

    remedy_id: str
    kind: Literal["return", "exchange", "unit_replacement", "component_replacement"]
    rule: Literal["R-W4", "R-W5"]
    ticket_id: str
    ticket_no: str
    serial: str
    new_serial: str | None = None
    component: str | None = None
    product_line: str
    unit_part_no: str | None = None
    dealer_id: str | None = None
    ship_to_address: str | None = None
    warranty: Literal["inherited", "fresh"] | None = None
    reason: str
    actor: str
    completed_at: datetime


class UnitRemedyCompleted(IntegrationEvent):
    TYPE = "ticketing.unit.remedy_completed"
    TOPIC = UNIT_TOPIC
    payload: UnitRemedyCompletedPayload


class LineComponent(Payload):
    """One component of a product line and the catalogue part numbers linked to it (issue 15)."""

    component: str
    part_nos: list[str] = Field(default_factory=list)


class ProductLineComponentsChangedPayload(Payload):
    """A product line's component list as ticketing's catalogue holds it now (issue 15): the whole list, so a
    consumer keeps the highest ``version`` it has seen and never lets an older event overwrite a newer list."""

    product_line: str
    version: int = Field(ge=1)
    components: list[LineComponent] = Field(default_factory=list)
    changed_at: datetime
    changed_by: str | None = None


class ProductLineComponentsChanged(IntegrationEvent):
    TYPE = "ticketing.product_line.components_changed"
    TOPIC = PRODUCT_LINE_TOPIC
    payload: ProductLineComponentsChangedPayload
