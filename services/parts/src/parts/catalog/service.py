"""The parts catalogue: add a part, change or withdraw it, list, read one (unknown part → 422 naming the field:
``stock/ledger.part``). The catalogue is the source of truth of part numbers and list prices (issue 15): every
create, change and withdrawal is announced as ``parts.catalog.part_changed`` (topic ``parts.catalog.v1``, keyed by
part number) through the outbox in the same transaction, with the part's ``version`` so consumers keep the newest;
``republish`` announces every part again for a consumer that started later (docs/parts.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Conflict, NotFound
from aftersales_shared.events.parts import PartChanged
from aftersales_shared.outbox import add_events

from ..models import catalogue
from ..stock import ledger
from .schemas import PartCreate, PartUpdate

_READ = [c for c in catalogue.c if c.name != "created_at"]


def part_changed(row: Any) -> PartChanged:
    """The announcement of a catalogue row as it is now."""
    return PartChanged(aggregate_id=row["part_no"], payload={
        "part_no": row["part_no"], "name": row["name"], "list_price": row["list_price"],
        "product_lines": list(row["product_lines"]), "parts_warranty_months": row["parts_warranty_months"],
        "version": row["version"], "active": row["active"], "updated_at": row["updated_at"]})


async def create(session: AsyncSession, body: PartCreate, *, now: datetime) -> dict[str, Any]:
    """Add a part (version 1, active) and announce it; a part number is taken once (409 ``duplicate_part``)."""
    if (await session.execute(sa.select(catalogue.c.part_no).where(catalogue.c.part_no == body.part_no))).first():
        raise Conflict(f"part {body.part_no} already exists", field="part_no", code="duplicate_part")
    row = (await session.execute(sa.insert(catalogue).values(
        **body.model_dump(), created_at=now, version=1, active=True, updated_at=now).returning(*_READ))
           ).mappings().one()
    await add_events(session, part_changed(row))
    return dict(row)


async def update(session: AsyncSession, part_no: str, body: PartUpdate, *, now: datetime) -> dict[str, Any]:
    """Change (or withdraw, or reinstate) a part: the row is locked, so versions never collide; a change that
    changes nothing keeps the version and announces nothing. 404 for an unknown part."""
    row = (await session.execute(sa.select(*_READ).where(catalogue.c.part_no == part_no).with_for_update())
           ).mappings().first()
    if row is None:
        raise NotFound(f"part {part_no} not found", field="part_no")
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None and row[k] != v}
    if not changes:
        return dict(row)
    row = (await session.execute(sa.update(catalogue).where(catalogue.c.part_no == part_no).values(
        **changes, version=catalogue.c.version + 1, updated_at=now).returning(*_READ))).mappings().one()
    await add_events(session, part_changed(row))
    return dict(row)


async def republish(session: AsyncSession, *, batch: int = 500) -> int:
    """Announce every catalogue part again as it is now (same version: a consumer that holds it changes nothing,
    one that started later gets the whole catalogue). Returns how many parts were announced."""
    count, last = 0, ""
    while True:
        rows = (await session.execute(sa.select(*_READ).where(catalogue.c.part_no > last)
                                      .order_by(catalogue.c.part_no).limit(batch))).mappings().all()
        if not rows:
            return count
        await add_events(session, *(part_changed(r) for r in rows))
        count, last = count + len(rows), rows[-1]["part_no"]


async def list_parts(session: AsyncSession, *, product_line: str | None, limit: int,
                     offset: int) -> list[dict[str, Any]]:
    q = sa.select(*_READ).order_by(catalogue.c.part_no).limit(limit).offset(offset)
    if product_line is not None:
        q = q.where(catalogue.c.product_lines.any(product_line))
    return [dict(r) for r in (await session.execute(q)).mappings()]


async def get(session: AsyncSession, part_no: str) -> dict[str, Any]:
    return await ledger.part(session, part_no)
