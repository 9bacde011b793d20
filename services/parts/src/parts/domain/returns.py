"""R-P4: old-part returns (以旧换新): due date and missed detection."""

from __future__ import annotations

from datetime import datetime, timedelta


def return_due(issued_at: datetime, *, days: int = 30) -> datetime:
    """When the old part must be back."""
    if days <= 0:
        raise ValueError("days must be positive")
    return issued_at + timedelta(days=days)


def is_missed(*, due_on: datetime, now: datetime, received: bool) -> bool:
    """A return not received by its due date is missed (and becomes a chargeback)."""
    return not received and now > due_on
