"""Engineer use cases: create or replace an engineer, list those in the caller's scope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Conflict

from ..models import Engineer
from .schemas import EngineerUpsert


async def upsert_engineer(session: AsyncSession, *, engineer_id: str, body: EngineerUpsert) -> dict[str, Any]:
    """Create or update an engineer (skills per product line, zones, shifts, absences, capacity); what was stored."""
    e = await session.get(Engineer, engineer_id, with_for_update=True)
    if e is None:
        e = Engineer(id=engineer_id, active_jobs=0)
    elif body.max_jobs < e.active_jobs:  # the capacity CHECK would refuse it: say which field and why
        raise Conflict(f"engineer {engineer_id} holds {e.active_jobs} jobs; max_jobs cannot go below that",
                       field="max_jobs", code="engineer_holds_more_jobs")
    data = body.model_dump(mode="json", by_alias=True)
    shifts = {"shift_start": time.fromisoformat(body.shift_start), "shift_end": time.fromisoformat(body.shift_end)}
    for k, v in {**data, **shifts}.items():
        setattr(e, k, v)
    session.add(e)
    await session.flush()
    return {"id": engineer_id, **data}


async def list_engineers(session: AsyncSession, *, visible: ColumnElement[bool], limit: int,
                         offset: int) -> Sequence[Engineer]:
    q = select(Engineer).where(visible).order_by(Engineer.id).limit(limit).offset(offset)
    return (await session.scalars(q)).all()
