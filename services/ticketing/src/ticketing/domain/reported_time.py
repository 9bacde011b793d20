"""A report's own time (issue 15, R-S7): a fault reported by e-mail, SMS, web form or voicemail outside service
hours is keyed in later; the SLA clock starts when the customer reported it, under the contract's calendar.

Pure (no I/O, no clock: ``now`` is passed). The bounds are configuration (``TicketingSettings``).
"""

from __future__ import annotations

from datetime import datetime, timedelta


def reported_time_problem(reported_at: datetime, *, now: datetime, max_age: timedelta,
                          skew: timedelta) -> tuple[str, str] | None:
    """``(code, detail)`` when ``reported_at`` cannot be the report's time, None when it can: not in the future
    (beyond the allowed ``skew``), not older than ``max_age``."""
    if reported_at > now + skew:
        return "reported_at_future", f"reported_at is in the future (after {(now + skew).isoformat()})"
    if reported_at < now - max_age:
        hours = int(max_age.total_seconds() // 3600)
        return "reported_at_too_old", f"reported_at is more than {hours} h ago (before {(now - max_age).isoformat()})"
    return None
