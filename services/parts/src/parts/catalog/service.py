"""The parts catalogue: add a part, list, read one (unknown part → 422 naming the field: ``stock/ledger.part``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Conflict

from ..models import catalogue
from ..stock import ledger
from .schemas import PartCreate

_READ = [c for c in catalogue.c if c.name != "created_at"]


async def create(session: AsyncSession, body: PartCreate, *, now: datetime) -> dict[str, Any]:
    """Add a part; a part number is taken once (409 ``duplicate_part``)."""
    if (await session.execute(sa.select(catalogue.c.part_no).where(catalogue.c.part_no == body.part_no))).first():
        raise Conflict(f"part {body.part_no} already exists", field="part_no", code="duplicate_part")
    await session.execute(sa.insert(catalogue).values(**body.model_dump(), created_at=now))
    return body.model_dump()


async def list_parts(session: AsyncSession, *, product_line: str | None, limit: int,
                     offset: int) -> list[dict[str, Any]]:
    q = sa.select(*_READ).order_by(catalogue.c.part_no).limit(limit).offset(offset)
    if product_line is not None:
        q = q.where(catalogue.c.product_lines.any(product_line))
    return [dict(r) for r in (await session.execute(q)).mappings()]


async def get(session: AsyncSession, part_no: str) -> dict[str, Any]:
    return await ledger.part(session, part_no)
