"""The statement's status machine (R-D5): draft → reviewed → approved → paid, maker-checker on approval.

A statement run *issues* a draft (``StatementIssued``); later runs may supersede a draft or reviewed
revision with a new one, never an approved or paid one (a closed quarter is never rewritten). Each move
below is one conditional UPDATE in ``statements/service.py``; the table says which event it emits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aftersales_shared.events.envelope import IntegrationEvent
from aftersales_shared.events.settlement import StatementApproved, StatementIssued, StatementPaid


class StatementStatus(StrEnum):
    DRAFT = "draft"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    PAID = "paid"


class StatementAction(StrEnum):
    REVIEW = "review"
    APPROVE = "approve"
    PAY = "pay"


@dataclass(frozen=True)
class Move:
    source: StatementStatus
    target: StatementStatus
    event: type[IntegrationEvent] | None  # emitted through the outbox in the same transaction
    by_column: str  # who moved it
    at_column: str  # when


INITIAL = StatementStatus.DRAFT
ISSUED_EVENT: type[IntegrationEvent] = StatementIssued
"""What a run emits for every new revision it writes (status ``INITIAL``)."""

MOVES: dict[StatementAction, Move] = {
    StatementAction.REVIEW: Move(StatementStatus.DRAFT, StatementStatus.REVIEWED, None,
                                 "reviewed_by", "reviewed_at"),
    StatementAction.APPROVE: Move(StatementStatus.REVIEWED, StatementStatus.APPROVED, StatementApproved,
                                  "approved_by", "approved_at"),
    StatementAction.PAY: Move(StatementStatus.APPROVED, StatementStatus.PAID, StatementPaid, "paid_by", "paid_at"),
}

CLOSED: frozenset[StatementStatus] = frozenset({StatementStatus.APPROVED, StatementStatus.PAID})
"""A quarter whose statement is in one of these is never rewritten; late facts go to the next quarter."""

STATUSES: tuple[StatementStatus, ...] = tuple(StatementStatus)


def may_move(action: StatementAction, *, actor: str, prepared_by: str) -> bool:
    """Maker-checker (R-D5): whoever prepared a statement may not approve it; other moves have no such rule."""
    return not (action is StatementAction.APPROVE and actor == prepared_by)


def is_closed(status: str) -> bool:
    """Whether a statement in ``status`` closes its quarter."""
    return status in CLOSED
