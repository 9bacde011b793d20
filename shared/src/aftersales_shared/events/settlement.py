"""Integration events published by the settlement service."""

from __future__ import annotations

from datetime import date, datetime

from .envelope import IntegrationEvent, Payload, topic_for
from .envelope_types import Money

PRODUCER = "settlement"
STATEMENT_TOPIC = topic_for(PRODUCER, "statement")
DISPUTE_TOPIC = topic_for(PRODUCER, "dispute")
ASSESSMENT_TOPIC = topic_for(PRODUCER, "assessment")


class StatementPayload(Payload):
    statement_id: str
    dealer_id: str
    quarter: str  # e.g. "2026Q3"
    revision: int
    status: str
    net_amount: Money
    at: datetime
    due_on: date | None = None


class StatementIssued(IntegrationEvent):
    TYPE = "settlement.statement.issued"
    TOPIC = STATEMENT_TOPIC
    payload: StatementPayload


class StatementApproved(IntegrationEvent):
    TYPE = "settlement.statement.approved"
    TOPIC = STATEMENT_TOPIC
    payload: StatementPayload


class StatementPaid(IntegrationEvent):
    TYPE = "settlement.statement.paid"
    TOPIC = STATEMENT_TOPIC
    payload: StatementPayload


class DisputePayload(Payload):
    dispute_id: str
    statement_id: str
    dealer_id: str
    status: str
    at: datetime
    adjustment: Money | None = None


class DisputeOpened(IntegrationEvent):
    TYPE = "settlement.dispute.opened"
    TOPIC = DISPUTE_TOPIC
    payload: DisputePayload


class DisputeResolved(IntegrationEvent):
    TYPE = "settlement.dispute.resolved"
    TOPIC = DISPUTE_TOPIC
    payload: DisputePayload


class AssessmentPayload(Payload):
    """R-D7: a dealer's monthly service assessment, issued within the first days of the next month."""

    assessment_id: str
    dealer_id: str
    month: str  # e.g. "2026-10"
    score: float
    grade: str
    at: datetime
    callback_rate: float | None = None
    first_time_fix_rate: float | None = None
    sla_met_rate: float | None = None
    late: bool | None = None  # issued after the dealer's day of the month (the issuing job was down): not skipped


class AssessmentIssued(IntegrationEvent):
    TYPE = "settlement.assessment.issued"
    TOPIC = ASSESSMENT_TOPIC
    payload: AssessmentPayload
