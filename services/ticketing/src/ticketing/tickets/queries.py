"""Ticket search (keyset pagination on opened_at, id) and its opaque cursor."""

from __future__ import annotations

import base64
import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Unprocessable
from aftersales_shared.pii import mask_phone
from aftersales_shared.schemas import BUSINESS_DATE_MAX, BUSINESS_DATE_MIN

from ..access import dealer_filter
from ..domain.phones import normalise_phone
from ..models import tickets

log = logging.getLogger(__name__)
_DAY = timedelta(days=1)


def encode_cursor(at: datetime, id_: UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{id_}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (opened_at, id) a cursor points after; 422 on ``cursor`` unless it is one ``encode_cursor`` could make
    (an aware instant inside the business range and a UUID)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at_text, id_ = raw.split("|")
        at, last = datetime.fromisoformat(at_text), UUID(id_)
    except Exception:  # noqa: BLE001 - any garbage is the client's mistake
        raise Unprocessable("malformed cursor", field="cursor") from None
    if at.tzinfo is None or not BUSINESS_DATE_MIN <= at.date() <= BUSINESS_DATE_MAX:
        raise Unprocessable("malformed cursor", field="cursor")
    return at, last


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(
    session: AsyncSession, *, viewer: Principal, phone: str | None = None, serial: str | None = None,
    name: str | None = None, ticket_no: str | None = None, status: str | None = None, dealer_id: str | None = None,
    opened_from: date | None = None, opened_to: date | None = None, q: str | None = None, limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the tickets this caller may see, newest first, and the cursor of the next page."""
    c = tickets.c
    where = [dealer_filter(viewer, c.dealer_id, dealer_id)]
    if phone:
        try:
            phone = normalise_phone(phone)
        except ValueError as e:
            raise Unprocessable(str(e), field="phone") from None
        where.append(c.phone == phone)
        # R-T7: who looked a customer up by phone is worth an audit line; the number itself never leaves masked
        log.info("%s searched tickets by phone %s", viewer.sub, mask_phone(phone))
    if serial:
        where.append(c.serial == serial)
    if name:
        where.append(c.customer_name.ilike(f"%{_like(name)}%"))
    if ticket_no:
        where.append(c.ticket_no == ticket_no)
    if status:
        where.append(c.status == status)
    if opened_from:
        where.append(c.opened_at >= datetime.combine(opened_from, time.min, clock.BUSINESS_TZ))
    if opened_to:
        where.append(c.opened_at < datetime.combine(opened_to, time.min, clock.BUSINESS_TZ) + _DAY)
    if q:
        where.append(c.fault_description.ilike(f"%{_like(q)}%"))
    if cursor:
        at, last = decode_cursor(cursor)
        where.append(sa.tuple_(c.opened_at, c.id) < sa.tuple_(sa.literal(at), sa.literal(last)))
    rows = (await session.execute(sa.select(tickets).where(*where).order_by(c.opened_at.desc(), c.id.desc())
                                  .limit(limit + 1))).mappings().all()
    more = len(rows) > limit
    page = [dict(r) for r in rows[:limit]]
    return page, encode_cursor(page[-1]["opened_at"], page[-1]["id"]) if more else None
