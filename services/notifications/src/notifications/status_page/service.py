"""Use cases of the customer's status page: read the ticket's view, verify the link, take a rating, reschedule
the visit within the slots dispatch offers."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Conflict, DomainError, NotFound, Unprocessable

from ..clients.dispatch import DispatchDirectory, Slot, SlotNotOffered, SlotsUnavailable
from ..domain import links
from ..models import tickets
from ..replies.service import rate_by_link

RESCHEDULABLE = ("received", "assigned")
"""Before the engineer sets off, the customer may move the visit; afterwards the page no longer offers it."""


class DispatchAway(DomainError):
    status = 503
    code = "dispatch_unavailable"
    title = "Rescheduling is not available right now"


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


def reschedulable(v: dict[str, Any]) -> bool:
    return bool(v.get("job_id")) and v.get("status") in RESCHEDULABLE


async def offered_slots(v: dict[str, Any], *, dispatch: DispatchDirectory) -> list[Slot] | None:
    """The slots to show (None: rescheduling is not offered now — after departure, or dispatch is away)."""
    if not reschedulable(v):
        return None
    try:
        return await dispatch.slots(str(v["job_id"]))
    except SlotsUnavailable:
        return None


def parse_slot(raw: str) -> Slot:
    """The form's ``slot`` value: ``<start ISO>|<end ISO>`` (aware), start before end."""
    try:
        start_s, end_s = raw.split("|", 1)
        start, end = datetime.fromisoformat(start_s), datetime.fromisoformat(end_s)
    except ValueError:
        raise Unprocessable("choose one of the offered slots", field="slot") from None
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise Unprocessable("choose one of the offered slots", field="slot")
    return Slot(start=start, end=end, label="")


async def reschedule(session: AsyncSession, *, ticket_id: str, slot: Slot, dispatch: DispatchDirectory) -> Slot:
    """Book ``slot`` through dispatch (409 when it is not offered) and show it on the page at once; dispatch's
    ``eta_changed`` (reason ``rescheduled``) then confirms it by message. A double submit books once: the
    Idempotency-Key is the (ticket, visit, slot)."""
    v = await view(session, ticket_id=ticket_id)
    if not reschedulable(v):
        raise Conflict("the visit can no longer be moved here; please call the hotline", field="slot",
                       code="not_reschedulable")
    key = "status-page-" + hashlib.sha256(
        f"{ticket_id}|{v['visit']}|{slot.start.isoformat()}|{slot.end.isoformat()}".encode()).hexdigest()
    try:
        booked = await dispatch.book(str(v["job_id"]), slot, key)
    except SlotNotOffered:
        raise Conflict("this slot is no longer offered", field="slot", code="slot_not_offered") from None
    except SlotsUnavailable as exc:
        raise DispatchAway(str(exc), field="slot") from None
    await session.execute(sa.update(tickets).where(tickets.c.ticket_id == ticket_id)
                          .values(window_start=booked.start, window_end=booked.end))
    return booked
