"""Use cases of the customer's status page: read the ticket's view, verify the link, take a rating."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import DomainError, NotFound

from ..domain import links
from ..models import tickets
from ..replies.service import rate_by_link


class LinkRefused(DomainError):
    status = 403
    code = "link_refused"
    title = "This link is not valid"


def ticket_of_link(token: str, *, secret: bytes, now: datetime) -> str:
    """The ticket a link names, or LinkRefused (tampered, malformed: 403; expired: 410)."""
    try:
        return links.verify(token, now=now, secret=secret)
    except links.BadLink as exc:
        raise LinkRefused(f"link {exc.reason}", code=f"link_{exc.reason}",
                          status=410 if exc.reason == "expired" else 403) from None


async def view(session: AsyncSession, *, ticket_id: str) -> dict[str, Any]:
    row = (await session.execute(sa.select(tickets).where(tickets.c.ticket_id == ticket_id))).mappings().first()
    if row is None:
        raise NotFound("ticket not found", field="token")
    return dict(row)


async def rate(session: AsyncSession, *, ticket_id: str, rating: int, comment: str | None, now: datetime) -> bool:
    """Record the customer's rating (once per visit)."""
    current = await view(session, ticket_id=ticket_id)
    return await rate_by_link(session, ticket_id=ticket_id, visit=current["visit"], rating=rating, comment=comment,
                              now=now)
