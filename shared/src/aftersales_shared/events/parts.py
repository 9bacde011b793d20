"""Integration events published by the parts service."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from .envelope import IntegrationEvent, Payload, define_event, topic_for
from .envelope_types import Money

PRODUCER = "parts"
REQUEST_TOPIC = topic_for(PRODUCER, "request")
RETURN_TOPIC = topic_for(PRODUCER, "return")
STOCK_TOPIC = topic_for(PRODUCER, "stock")
BUDGET_TOPIC = topic_for(PRODUCER, "budget")


class RequestPayload(Payload):
    request_id: str
    job_id: str | None = None
    ticket_id: str | None = None
    dealer_id: str | None = None
    at: datetime
    status: str
    ship_by: datetime | None = None


def _request_event(type_: str, name: str) -> type[IntegrationEvent]:
    return define_event(name, type_, REQUEST_TOPIC, RequestPayload, __name__)


RequestCreated = _request_event("parts.request.created", "RequestCreated")
RequestAllocated = _request_event("parts.request.allocated", "RequestAllocated")
RequestBackordered = _request_event("parts.request.backordered", "RequestBackordered")
ShipCommitmentAtRisk = _request_event("parts.request.ship_at_risk", "ShipCommitmentAtRisk")
ShipCommitmentBreached = _request_event("parts.request.ship_breached", "ShipCommitmentBreached")


class RequestShippedPayload(RequestPayload):
    shipment_id: str
    carrier: str
    tracking_no: str
    urgent: bool = False
    urgent_surcharge: Money | None = None  # charged to the dealer (R-P6)


class RequestShipped(IntegrationEvent):
    TYPE = "parts.request.shipped"
    TOPIC = REQUEST_TOPIC
    payload: RequestShippedPayload


class RequestDeliveredPayload(RequestPayload):
    shipment_id: str


class RequestDelivered(IntegrationEvent):
    TYPE = "parts.request.delivered"
    TOPIC = REQUEST_TOPIC
    payload: RequestDeliveredPayload


class ReturnPayload(Payload):
    return_id: str
    part_no: str
    dealer_id: str | None = None
    job_id: str | None = None
    old_serial: str | None = None
    due_on: datetime
    at: datetime


class ReturnDue(IntegrationEvent):
    TYPE = "parts.return.due"
    TOPIC = RETURN_TOPIC
    payload: ReturnPayload


class ReturnReceivedPayload(ReturnPayload):
    appraisal: str  # reusable | scrap


class ReturnReceived(IntegrationEvent):
    TYPE = "parts.return.received"
    TOPIC = RETURN_TOPIC
    payload: ReturnReceivedPayload


class ReturnMissedPayload(ReturnPayload):
    """Old part not back by its due date: chargeback at cost price (R-P4)."""

    chargeback_amount: Money


class ReturnMissed(IntegrationEvent):
    TYPE = "parts.return.missed"
    TOPIC = RETURN_TOPIC
    payload: ReturnMissedPayload


class LowStockPayload(Payload):
    warehouse_id: str
    part_no: str
    available: int
    reorder_point: int
    at: datetime


class LowStock(IntegrationEvent):
    TYPE = "parts.stock.low"
    TOPIC = STOCK_TOPIC
    payload: LowStockPayload


class BudgetExcessChargedPayload(Payload):
    """A dealer shipment drew more than was left of the dealer's quarterly parts budget: the excess is
    charged to the dealer at list price (R-P7). ``value`` is the shipment's list-price value."""

    dealer_id: str
    request_id: str
    shipment_id: str | None = None
    quarter: str  # Asia/Shanghai calendar quarter of the shipment, e.g. 2026Q4
    value: Money
    excess_amount: Money
    at: datetime


class BudgetExcessCharged(IntegrationEvent):
    TYPE = "parts.budget.excess_charged"
    TOPIC = BUDGET_TOPIC
    payload: BudgetExcessChargedPayload


CATALOG_TOPIC = topic_for(PRODUCER, "catalog")


class PartChangedPayload(Payload):
    """A catalogue part as the parts catalogue holds it now (issue 15): the whole part, keyed by ``part_no``, on
    every create, update and withdrawal (and again on an admin republish). ``version`` counts the part's changes, so
    a consumer keeps the highest it has seen and never lets an older event overwrite a newer part."""

    part_no: str
    name: str
    list_price: Money
    product_lines: list[str] = Field(default_factory=list)
    parts_warranty_months: int | None = None
    version: int = Field(ge=1)
    active: bool = True
    updated_at: datetime


class PartChanged(IntegrationEvent):
    TYPE = "parts.catalog.part_changed"
    TOPIC = CATALOG_TOPIC
    payload: PartChangedPayload
