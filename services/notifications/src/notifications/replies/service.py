"""Use cases of inbound replies: an opt-out is applied at once; a rating or a complaint is queued and
carried to ticketing by the reply worker (ticketing may be away; nothing is lost)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..clients.ticketing import TicketingDirectory, TicketingRefused, TicketingUnavailable
from ..contacts.service import opt_out_sms
from ..domain.replies import classify
from ..metrics import REPLIES
from ..models import deliveries, messages, replies, tickets

MAX_ATTEMPTS = 8


async def ticket_of_phone(session: AsyncSession, phone: str, *, prefer_kind: str | None = None) -> str | None:
    """The ticket of the latest SMS sent to this number (the survey, when asked for, wins)."""
    q = (sa.select(messages.c.ticket_id).join(deliveries, deliveries.c.message_id == messages.c.id)
         .where(deliveries.c.channel == "sms", deliveries.c.address == phone, deliveries.c.sent_at.is_not(None),
                messages.c.ticket_id.is_not(None)))
    if prefer_kind:
        found = (await session.execute(q.where(messages.c.kind == prefer_kind)
                                       .order_by(deliveries.c.sent_at.desc()).limit(1))).scalar()
        if found:
            return str(found)
    found = (await session.execute(q.order_by(deliveries.c.sent_at.desc()).limit(1))).scalar()
    return str(found) if found else None


async def receive_sms(session: AsyncSession, *, provider_ref: str, phone: str, content: str, now: datetime) -> str:
    """Record one inbound SMS (a re-push of the same provider id changes nothing); returns its kind."""
    reply = classify(content)
    ticket_id = None
    if reply.kind in ("rating", "complaint"):
        ticket_id = await ticket_of_phone(session, phone, prefer_kind="job_completed")
    outcome = "pending" if reply.kind in ("rating", "complaint") else "done" if reply.kind == "opt_out" else "ignored"
    stmt = pg_insert(replies).values(
        provider_ref=provider_ref, channel="sms", phone=phone, content=content[:2000], kind=reply.kind,
        rating=reply.rating, ticket_id=ticket_id, outcome=outcome, next_attempt_at=now, received_at=now,
    ).on_conflict_do_nothing(index_elements=[replies.c.provider_ref]).returning(replies.c.id)
    if (await session.execute(stmt)).first() is None:
        return "duplicate"
    REPLIES.labels(reply.kind).inc()
    if reply.kind == "opt_out":
        await opt_out_sms(session, phone=phone, source=f"sms:{content.strip()[:20]}", now=now)
    if reply.kind == "rating" and ticket_id:
        await _rate_view(session, ticket_id, reply.rating, now)
    return reply.kind


async def rate_by_link(session: AsyncSession, *, ticket_id: str, visit: int, rating: int, comment: str | None,
                       now: datetime) -> bool:
    """A rating from the status page (once per visit); carried to ticketing like an SMS rating."""
    stmt = pg_insert(replies).values(
        provider_ref=f"link:{ticket_id}:{visit}", channel="link", phone="", content=(comment or "")[:2000],
        kind="rating", rating=rating, ticket_id=ticket_id, outcome="pending", next_attempt_at=now, received_at=now,
    ).on_conflict_do_nothing(index_elements=[replies.c.provider_ref]).returning(replies.c.id)
    if (await session.execute(stmt)).first() is None:
        return False
    REPLIES.labels("rating").inc()
    await _rate_view(session, ticket_id, rating, now)
    return True


async def _rate_view(session: AsyncSession, ticket_id: str, rating: int | None, now: datetime) -> None:
    await session.execute(sa.update(tickets).where(tickets.c.ticket_id == ticket_id)
                          .values(rating=rating, rated_at=now))


async def forward_pending(session: AsyncSession, *, ticketing: TicketingDirectory, now: datetime,
                          limit: int = 20) -> int:
    """Carry pending ratings and complaints to ticketing (R-T5, R-T6); retried with backoff."""
    rows = (await session.execute(
        sa.select(replies).where(replies.c.outcome == "pending", replies.c.next_attempt_at <= now)
        .order_by(replies.c.id).limit(limit).with_for_update(skip_locked=True))).mappings().all()
    for r in rows:
        values: dict[str, Any]
        try:
            if r["kind"] == "rating":
                if not r["ticket_id"]:
                    values = {"outcome": "ignored", "detail": "no ticket for this number"}
                else:
                    result = await ticketing.record_satisfaction(
                        r["ticket_id"], int(r["rating"]), r["content"] if r["channel"] == "link" else None,
                        channel=r["channel"])
                    values = {"outcome": "done", "detail": result}
            else:
                complaint_id = await ticketing.open_complaint(r["ticket_id"], r["content"])
                values = {"outcome": "done", "detail": f"complaint {complaint_id}"}
        except TicketingUnavailable as exc:
            attempts = r["attempts"] + 1
            values = {"attempts": attempts, "detail": str(exc)[:500],
                      "next_attempt_at": now + timedelta(seconds=min(600, 2 ** attempts)),
                      "outcome": "pending" if attempts < MAX_ATTEMPTS else "failed"}
        except TicketingRefused as exc:
            values = {"outcome": "failed", "detail": str(exc)[:500], "attempts": r["attempts"] + 1}
        await session.execute(sa.update(replies).where(replies.c.id == r["id"]).values(**values))
    return len(rows)


async def list_replies(session: AsyncSession, *, limit: int) -> list[dict[str, Any]]:
    rows = (await session.execute(sa.select(replies).order_by(replies.c.id.desc()).limit(limit))).mappings().all()
    return [dict(r) for r in rows]
