"""Who is told what: an integration event (as a :class:`Fact`) becomes zero or more :class:`Notice` s.

The table :data:`NOTICES` is the whole policy: per event type, the message kind, its audience, whether it
is urgent (urgent messages ignore quiet hours and the rate limit) and what makes it unique (the dedup
subject: one message per (kind, subject, recipient), whatever the redeliveries).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

Audience = Literal["customer", "dealer"]


@dataclass(frozen=True)
class Fact:
    """What an event says, in the words this service needs (built by the consumer from the payload)."""

    type: str
    at: datetime
    ticket_id: str | None = None
    visit: int = 1
    job_id: str | None = None
    engineer_id: str | None = None
    dealer_id: str | None = None
    subject_id: str | None = None  # statement / request / dispute id for dealer notices
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NoticeRule:
    kind: str
    audience: Audience
    urgent: bool = False
    subject: Literal["visit", "subject", "subject_revision", "visit_arrival"] = "visit"


@dataclass(frozen=True)
class Notice:
    """One message to one audience; ``dedup_subject`` + kind + recipient is unique."""

    kind: str
    audience: Audience
    urgent: bool
    dedup_subject: str
    ticket_id: str | None
    dealer_id: str | None
    variables: dict[str, Any]


NOTICES: dict[str, NoticeRule] = {
    "ticketing.ticket.opened": NoticeRule("ticket_received", "customer"),
    "dispatch.job.assigned": NoticeRule("engineer_assigned", "customer"),
    # the customer is waiting at home now: these two are worth a message at 21:30
    "dispatch.job.en_route": NoticeRule("engineer_en_route", "customer", urgent=True),
    "dispatch.job.arrived": NoticeRule("engineer_arrived", "customer", urgent=True),
    "dispatch.job.completed": NoticeRule("job_completed", "customer"),
    "dispatch.job.spare_unit_lent": NoticeRule("spare_unit_lent", "customer"),
    "dispatch.job.spare_unit_collected": NoticeRule("spare_unit_collected", "customer"),
    # R-S6: the lent spare is past its due-back time: one reminder per loan (subject = "spare:<spare>@<job>")
    "dispatch.job.spare_unit_overdue": NoticeRule("spare_unit_due_back", "customer", subject="subject"),
    # R-P1: the dealer is told on the day of shipment, so never held to the next morning
    "parts.request.shipped": NoticeRule("parts_shipped", "dealer", urgent=True, subject="subject"),
    "parts.request.backordered": NoticeRule("parts_backordered", "dealer", subject="subject"),
    "settlement.statement.issued": NoticeRule("statement_issued", "dealer", subject="subject_revision"),
    "settlement.statement.approved": NoticeRule("statement_approved", "dealer", subject="subject_revision"),
    "settlement.statement.paid": NoticeRule("statement_paid", "dealer", subject="subject_revision"),
    "settlement.dispute.resolved": NoticeRule("dispute_resolved", "dealer", subject="subject"),
    # the arrival moved by more than the margin (see eta_notice): one message per visit and new arrival
    "dispatch.job.eta_changed": NoticeRule("eta_changed", "customer", subject="visit_arrival"),
    # a paid repair's quote: the total and the status link, once per quote (subject = quote id)
    "dispatch.job.quote_presented": NoticeRule("quote_presented", "customer", subject="subject"),
    # R-D7: the dealer's monthly assessment, once per dealer and month (subject = "assessment:<month>")
    "settlement.assessment.issued": NoticeRule("assessment_issued", "dealer", subject="subject"),
}
"""Event type -> the notice it causes. ``dispatch.job.quote_accepted``/``quote_declined`` cause none: the
customer gave that answer on site, to the engineer."""

RESCHEDULE_RULE = NoticeRule("reschedule_confirmed", "customer", subject="visit_arrival")
"""An ETA change the customer made (reason ``rescheduled``, a slot booked on the status page or with the call
centre) is confirmed whatever its size: the customer asked for it and expects the new window in writing."""


def eta_notice(fact: Fact, margin: timedelta) -> NoticeRule | None:
    """Which notice an ETA change causes: a confirmation when the customer rescheduled; otherwise a notice only
    when the planned arrival moved by more than ``margin`` (earlier or later) from the one before. A first
    planned arrival (no previous one) is not a change: the assignment message told the window."""
    if fact.data.get("reason") == "rescheduled":
        return RESCHEDULE_RULE
    planned, previous = fact.data.get("planned_arrival"), fact.data.get("previous_arrival")
    if not isinstance(planned, datetime) or not isinstance(previous, datetime):
        return None
    return NOTICES["dispatch.job.eta_changed"] if abs(planned - previous) > margin else None


SPARE_LENT_DUE_RULE = NoticeRule("spare_unit_lent_due", "customer")
"""A spare lent with a known due-back time: the message names it (its own provider template, since an SMS
template is fixed text). ``dispatch.job.spare_unit_lent`` does not carry ``due_back_at`` today (a step payload);
the consumer passes it on when the event does."""


def _rule_for(fact: Fact, eta_margin: timedelta) -> NoticeRule | None:
    if fact.type == "dispatch.job.eta_changed":
        return eta_notice(fact, eta_margin)
    if fact.type == "dispatch.job.spare_unit_lent" and fact.data.get("due_back"):
        return SPARE_LENT_DUE_RULE
    return NOTICES.get(fact.type)


def notices_for(fact: Fact, *, eta_margin: timedelta = timedelta(minutes=30)) -> list[Notice]:
    """The notices a fact causes (none for facts that only feed the status projection)."""
    rule = _rule_for(fact, eta_margin)
    if rule is None:
        return []
    if rule.audience == "customer" and not fact.ticket_id:
        return []
    if rule.audience == "dealer" and not fact.dealer_id:
        return []
    if rule.subject == "visit":
        subject = f"{fact.ticket_id}#{fact.visit}"
    elif rule.subject == "visit_arrival":
        planned = fact.data.get("planned_arrival")
        subject = f"{fact.ticket_id}#{fact.visit}@{planned.isoformat() if isinstance(planned, datetime) else planned}"
    elif rule.subject == "subject_revision":
        subject = f"{fact.subject_id}#{fact.data.get('revision', 1)}"
    else:
        subject = str(fact.subject_id)
    return [Notice(kind=rule.kind, audience=rule.audience, urgent=rule.urgent, dedup_subject=subject,
                   ticket_id=fact.ticket_id, dealer_id=fact.dealer_id if rule.audience == "dealer" else None,
                   variables=dict(fact.data))]


def recipient_key(notice: Notice) -> str:
    """Who the notice is for, before any address is known: the dealer, or the customer of a ticket."""
    if notice.audience == "dealer":
        return f"dealer:{notice.dealer_id}"
    return f"customer:{notice.ticket_id}"


def dedup_key(notice: Notice) -> str:
    """(event kind, visit/subject, recipient): the unique constraint of the messages table."""
    return f"{notice.kind}|{notice.dedup_subject}|{recipient_key(notice)}"
