"""Engineer use cases: create or replace an engineer, list those in the caller's scope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Engineer
from .schemas import EngineerUpsert


async def upsert_engineer(session: AsyncSession, *, engineer_id: str, body: EngineerUpsert) -> dict[str, Any]:
    """Create or update an engineer (skills per product line, zones, shifts, absences, capacity); what was stored."""
    e = await session.get(Engineer, engineer_id)
    if e is None:
        e = Engineer(id=engineer_id, active_jobs=0)
    data = body.model_dump(mode="json", by_alias=True)
    for k, v in data.items():
        setattr(e, k, v)
    session.add(e)
    await session.flush()
    return {"id": engineer_id, **data}


async def list_engineers(session: AsyncSession, *, visible: ColumnElement[bool], limit: int,
                         offset: int) -> Sequence[Engineer]:
    q = select(Engineer).where(visible).order_by(Engineer.id).limit(limit).offset(offset)
    return (await session.scalars(q)).all()
