"""Use cases of the delivery aggregate outside the sender: receipts and the replay of failed deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain import delivery_lifecycle
from ..metrics import DELIVERIES
from ..models import deliveries, messages


async def record_receipt(session: AsyncSession, *, provider_message_id: str, success: bool, detail: str | None,
                         now: datetime) -> int:
    """A provider's delivery report: sent -> delivered or undelivered (unknown ids are ignored)."""
    target = "delivered" if success else "undelivered"
    outcome = delivery_lifecycle.move("sent", target)
    rows = (await session.execute(
        sa.update(deliveries).where(deliveries.c.provider_message_id == provider_message_id,
                                    deliveries.c.status == "sent")
        .values(status=target, delivered_at=now if success else None, receipt=detail, updated_at=now)
        .returning(deliveries.c.channel))).all()
    for (channel,) in rows:
        DELIVERIES.labels(channel or "-", outcome).inc()
    return len(rows)


async def replay_failed(session: AsyncSession, *, now: datetime, since: datetime | None, kind: str | None,
                        ids: list[int] | None, limit: int) -> int:
    """Put failed deliveries back in the queue from their first route entry (the runbook's replay)."""
    delivery_lifecycle.move("failed", "queued")
    where = [deliveries.c.status == "failed"]
    if since is not None:
        where.append(deliveries.c.updated_at >= since)
    if ids:
        where.append(deliveries.c.id.in_(ids))
    if kind:
        where.append(deliveries.c.message_id.in_(sa.select(messages.c.id).where(messages.c.kind == kind)))
    chosen = sa.select(deliveries.c.id).where(*where).order_by(deliveries.c.id).limit(limit).with_for_update(
        skip_locked=True).scalar_subquery()
    rows = (await session.execute(
        sa.update(deliveries).where(deliveries.c.id.in_(chosen))
        .values(status="queued", route=None, route_index=0, attempts=0, next_attempt_at=now, hold_reason=None,
                last_error=sa.func.concat("replayed after: ", deliveries.c.last_error), updated_at=now)
        .returning(deliveries.c.channel))).all()
    for (channel,) in rows:
        DELIVERIES.labels(channel or "-", "replayed").inc()
    return len(rows)


async def counts(session: AsyncSession) -> dict[str, Any]:
    rows = await session.execute(sa.select(deliveries.c.status, sa.func.count()).group_by(deliveries.c.status))
    return {s: n for s, n in rows.all()}
