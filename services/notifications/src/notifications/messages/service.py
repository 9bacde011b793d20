"""Use cases of the message aggregate: turn an event into the status projection and queued messages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from aftersales_shared.errors import NotFound, Unprocessable

from ..domain import templates
from ..domain.rules import Fact, Notice, dedup_key, notices_for, recipient_key
from ..domain.ticket_view import next_status
from ..models import messages, tickets

# One round trip per notice: the unique dedup_key turns a redelivered or replayed event into nothing,
# and the delivery row exists exactly when the message row was new.
_QUEUE = sa.text(f"""
WITH m AS (
  INSERT INTO {messages.name} (dedup_key, kind, audience, urgent, recipient_key, ticket_id, dealer_id, event_id,
                        event_type, occurred_at, variables, created_at)
  VALUES (:dedup_key, :kind, :audience, :urgent, :recipient_key, :ticket_id, :dealer_id, :event_id, :event_type,
          :occurred_at, CAST(:variables AS jsonb), :now)
  ON CONFLICT (dedup_key) DO NOTHING
  RETURNING id, recipient_key
)
INSERT INTO deliveries (message_id, recipient_key, status, next_attempt_at, created_at, updated_at)
SELECT id, recipient_key, 'queued', :now, :now, :now FROM m
RETURNING id
""")


_PENDING = "notifications.pending_notices"


async def record_event(session: AsyncSession, *, fact: Fact, event_id: UUID, now: datetime,
                       eta_margin: timedelta = timedelta(minutes=30)) -> int:
    """Project the fact onto the ticket view and queue its notices (written when the unit of work commits);
    returns how many notices the fact produced (a redelivered one is dropped by the dedup key then)."""
    if fact.ticket_id:
        await _project(session, fact, now=now)
    notices = notices_for(fact, eta_margin=eta_margin)
    for notice in notices:
        queue_notice(session, notice=notice, event_id=event_id, event_type=fact.type, occurred_at=fact.at, now=now)
    return len(notices)


def queue_notice(session: AsyncSession, *, notice: Notice, event_id: UUID, event_type: str,
                 occurred_at: datetime, now: datetime) -> None:
    """Insert the message and its delivery unless the (kind, subject, recipient) message exists already.

    The rows of a whole consumer batch go to the database together, pipelined (asyncpg ``executemany``), just
    before the unit of work commits: one statement round trip per event was 40 % of the service's time at
    1,000 events/s (make bench-notify). They are written in the same transaction as the inbox rows."""
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        sa.event.listen(session.sync_session, "before_commit", _write_pending, once=True)
    pending.append({
        "dedup_key": dedup_key(notice), "kind": notice.kind, "audience": notice.audience, "urgent": notice.urgent,
        "recipient_key": recipient_key(notice), "ticket_id": notice.ticket_id, "dealer_id": notice.dealer_id,
        "event_id": event_id, "event_type": event_type, "occurred_at": occurred_at,
        "variables": json.dumps(notice.variables, default=str, ensure_ascii=False), "now": now,
    })


def _write_pending(sync_session: Session) -> None:
    """``before_commit`` (runs inside the async session's greenlet, so it may execute SQL)."""
    pending = sync_session.info.pop(_PENDING, None)
    if pending:
        sync_session.execute(_QUEUE, pending)


async def _project(session: AsyncSession, fact: Fact, *, now: datetime) -> None:
    assert fact.ticket_id
    current = (await session.execute(sa.select(tickets).where(tickets.c.ticket_id == fact.ticket_id)
                                     .with_for_update())).mappings().first()
    cur_visit = current["visit"] if current else 1
    if current is not None and fact.visit and fact.visit < cur_visit:
        return  # a late event of an earlier visit says nothing about today's (visit 0: any visit)
    new_visit = current is not None and fact.visit > cur_visit
    values: dict[str, Any] = {"visit": max(fact.visit, cur_visit), "updated_at": now,
                              "status": next_status(current["status"] if current else None, fact.type,
                                                    new_visit=new_visit)}
    if new_visit:
        values.update(job_id=None, engineer_id=None, engineer_name=None, window_start=None, window_end=None)
    if fact.data.get("ticket_no"):
        values["ticket_no"] = fact.data["ticket_no"]
    if fact.dealer_id and fact.type.startswith("ticketing."):
        values["dealer_id"] = fact.dealer_id
    if fact.job_id:
        values["job_id"] = fact.job_id
    if fact.type == "dispatch.job.created" and fact.data.get("arrive_by"):
        values["window_end"] = fact.data["arrive_by"]
    if fact.type == "dispatch.job.assigned":
        values.update(engineer_id=fact.engineer_id, engineer_name=None, window_start=fact.at)
    if fact.type == "dispatch.job.eta_changed":
        # the promised window when dispatch names one, else "before the planned arrival"
        values.update(window_start=fact.data.get("window_start"),
                      window_end=fact.data.get("window_end") or fact.data.get("planned_arrival"))
    if fact.type == "ticketing.callback.recorded" and fact.data.get("satisfaction"):
        values.update(rating=fact.data["satisfaction"], rated_at=fact.at)
    stmt = pg_insert(tickets).values(ticket_id=fact.ticket_id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=[tickets.c.ticket_id], set_=values))


async def get_message(session: AsyncSession, *, message_id: int, where: Any) -> dict[str, Any]:
    """One message with its delivery (``where``: the caller's scope)."""
    rows = await list_messages(session, where=sa.and_(where, messages.c.id == message_id), limit=1)
    if not rows:
        raise NotFound(f"message {message_id} not found", field="message_id")
    return rows[0]


async def list_messages(session: AsyncSession, *, where: Any, limit: int, ticket_id: str | None = None,
                        dealer_id: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """The audit, newest first, joined with how each message travelled."""
    from ..models import deliveries

    q = (sa.select(messages, deliveries.c.status, deliveries.c.channel, deliveries.c.provider, deliveries.c.address,
                   deliveries.c.attempts, deliveries.c.total_attempts, deliveries.c.sent_at, deliveries.c.delivered_at,
                   deliveries.c.last_error, deliveries.c.hold_reason, deliveries.c.next_attempt_at,
                   deliveries.c.id.label("delivery_id"))
         .join(deliveries, deliveries.c.message_id == messages.c.id, isouter=True)
         .where(where).order_by(messages.c.id.desc()).limit(limit))
    if ticket_id:
        q = q.where(messages.c.ticket_id == ticket_id)
    if dealer_id:
        q = q.where(messages.c.dealer_id == dealer_id)
    if kind:
        q = q.where(messages.c.kind == kind)
    return [dict(r) for r in (await session.execute(q)).mappings().all()]


def preview(*, kind: str, locale: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Render a template without sending anything."""
    try:
        names = templates.variables_of(kind, locale)
        subject, body = templates.render(kind, locale, variables)
    except templates.UnknownTemplate:
        raise Unprocessable(f"no template for {kind}", field="kind") from None
    return {"kind": kind, "locale": locale if (kind, locale) in templates.TEMPLATES else templates.DEFAULT_LOCALE,
            "subject": subject, "body": body, "variables": names,
            "missing": [n for n in names if variables.get(n) in (None, "")]}
