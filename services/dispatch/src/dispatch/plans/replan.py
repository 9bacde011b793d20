"""Re-planning on disruption (issue 14): an urgent job no route can take on time, an engineer absent, a job
overrunning its planned end. A disruption only marks its zone-day (``replan_marks``, one row per zone-day:
``INSERT .. ON CONFLICT`` appends the reason and keeps the first due time), so a burst of disruptions makes one
re-plan; the background step (``plans.service.request_due_replans``) requests the plan when the mark is due."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..config import DispatchConfig
from ..models import ReplanMark

REASONS = ("urgent_unplaceable", "absence", "overrun")


async def mark_replan(session: AsyncSession, cfg: DispatchConfig, *, zone: str, day: date, reason: str,
                      now: datetime) -> None:
    """Ask for a new version of the zone-day's plan, debounced: due ``replan_debounce`` after the first
    disruption; later ones before it is requested only add their reason."""
    assert reason in REASONS, reason
    stmt = insert(ReplanMark).values(zone=zone, day=day, due_at=now + cfg.replan_debounce, reasons=[reason])
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[ReplanMark.zone, ReplanMark.day],
        set_={"reasons": ReplanMark.reasons.op("||")(stmt.excluded.reasons)}))
