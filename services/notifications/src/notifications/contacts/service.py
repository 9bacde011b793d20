"""Use cases of a recipient's contact: preferences, locale and the SMS opt-out (also set by a TD reply)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import NotFound

from ..models import contacts


async def upsert(session: AsyncSession, *, recipient_key: str, values: dict[str, Any],
                 now: datetime) -> dict[str, Any]:
    """Create or replace a contact; switching the opt-out on stamps when and by whom."""
    old = (await session.execute(sa.select(contacts).where(contacts.c.recipient_key == recipient_key)
                                 .with_for_update())).mappings().first()
    values = {**values, "updated_at": now}
    if recipient_key.startswith("phone:") and not values.get("phone"):
        values["phone"] = recipient_key.removeprefix("phone:")
    if values.get("sms_opt_out") and not (old and old["sms_opt_out"]):
        values.update(opt_out_at=now, opt_out_source="api")
    elif not values.get("sms_opt_out"):
        values.update(opt_out_at=None, opt_out_source=None)
    stmt = pg_insert(contacts).values(recipient_key=recipient_key, **values)
    row = (await session.execute(stmt.on_conflict_do_update(index_elements=[contacts.c.recipient_key], set_=values)
                                 .returning(*contacts.c))).mappings().one()
    return dict(row)


async def get(session: AsyncSession, *, recipient_key: str) -> dict[str, Any]:
    q = sa.select(contacts).where(contacts.c.recipient_key == recipient_key)
    row = (await session.execute(q)).mappings().first()
    if row is None:
        raise NotFound(f"no contact {recipient_key}", field="recipient_key")
    return dict(row)


async def opt_out_sms(session: AsyncSession, *, phone: str, source: str, now: datetime) -> None:
    """The number gets no more SMS (a TD / 退订 reply); other preferences stay."""
    values = {"sms_opt_out": True, "opt_out_at": now, "opt_out_source": source, "updated_at": now}
    stmt = pg_insert(contacts).values(recipient_key=f"phone:{phone}", phone=phone, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=[contacts.c.recipient_key], set_=values))
