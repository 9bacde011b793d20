"""Parts in planning (issue 14, item 1): what a job is expected to need, what vans and service centres hold.

A job's expected parts: its own ``expected_parts`` when a dispatcher named them (``{}`` = none), else the parts of
its product line x fault class (``fault_class_parts``), else none. A plan serves them from the engineer's van
(``van_stock``); a route may stop at a service centre of the zone holding them (``centre_stock``) to restock first.
Each write replaces the whole list or stock under a transaction-scoped advisory lock on its key, so two racing
writes end as one of them, never as a mix or a duplicate-key error. Every function flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import NotFound

from ..domain import routing as r
from ..models import CentreStock, Engineer, FaultClassPart, Job, ServiceCentre, VanStock

PartTable = dict[tuple[str, str], dict[str, int]]


async def _lock(session: AsyncSession, *key: str) -> None:
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended("/".join(key), 0))))


# --- what a job is expected to need ---------------------------------------------------------------

async def fault_class_table(session: AsyncSession) -> PartTable:
    out: PartTable = {}
    for row in await session.scalars(sa.select(FaultClassPart)):
        out.setdefault((row.product_line, row.fault_class), {})[row.part_no] = row.qty
    return out


async def fault_class_parts(session: AsyncSession, *, product_line: str, fault_class: str) -> dict[str, int]:
    rows = await session.scalars(sa.select(FaultClassPart).where(
        FaultClassPart.product_line == product_line, FaultClassPart.fault_class == fault_class)
        .order_by(FaultClassPart.part_no))
    return {x.part_no: x.qty for x in rows}


async def put_fault_class_parts(session: AsyncSession, *, product_line: str, fault_class: str,
                                parts: Mapping[str, int], now: datetime) -> dict[str, int]:
    await _lock(session, "fault_class_parts", product_line, fault_class)
    await session.execute(sa.delete(FaultClassPart).where(
        FaultClassPart.product_line == product_line, FaultClassPart.fault_class == fault_class))
    session.add_all(FaultClassPart(product_line=product_line, fault_class=fault_class, part_no=p, qty=q,
                                   updated_at=now) for p, q in parts.items())
    await session.flush()
    return await fault_class_parts(session, product_line=product_line, fault_class=fault_class)


def expected_parts(job: Job, table: PartTable) -> tuple[dict[str, int], str]:
    """The parts the job is expected to need and where that comes from (``job`` | ``fault_class`` | ``none``)."""
    if job.expected_parts is not None:
        return {p: int(q) for p, q in job.expected_parts.items()}, "job"
    named = table.get((job.product_line, job.fault_class or ""))
    return (dict(named), "fault_class") if named else ({}, "none")


# --- van and centre stock -------------------------------------------------------------------------

async def van_stock(session: AsyncSession, engineer_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in await session.scalars(sa.select(VanStock).where(VanStock.engineer_id.in_(list(engineer_ids)))
                                     .order_by(VanStock.part_no)):
        out.setdefault(row.engineer_id, {})[row.part_no] = row.qty
    return out


async def _engineer(session: AsyncSession, engineer_id: str) -> None:
    if await session.scalar(sa.select(Engineer.id).where(Engineer.id == engineer_id)) is None:
        raise NotFound(f"engineer {engineer_id} not found", field="engineer_id")


async def _centre(session: AsyncSession, centre_id: str) -> None:
    if await session.scalar(sa.select(ServiceCentre.id).where(ServiceCentre.id == centre_id)) is None:
        raise NotFound(f"service centre {centre_id} not found", field="centre_id")


async def get_van_stock(session: AsyncSession, *, engineer_id: str) -> dict[str, int]:
    await _engineer(session, engineer_id)
    return (await van_stock(session, [engineer_id])).get(engineer_id, {})


async def put_van_stock(session: AsyncSession, *, engineer_id: str, parts: Mapping[str, int],
                        now: datetime) -> dict[str, int]:
    """Replace what the van holds (a part at 0 is left out)."""
    await _engineer(session, engineer_id)
    await _lock(session, "van_stock", engineer_id)
    await session.execute(sa.delete(VanStock).where(VanStock.engineer_id == engineer_id))
    session.add_all(VanStock(engineer_id=engineer_id, part_no=p, qty=q, updated_at=now)
                    for p, q in parts.items() if q > 0)
    await session.flush()
    return (await van_stock(session, [engineer_id])).get(engineer_id, {})


async def centre_stock(session: AsyncSession, centre_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in await session.scalars(sa.select(CentreStock).where(CentreStock.centre_id.in_(list(centre_ids)))
                                     .order_by(CentreStock.part_no)):
        out.setdefault(row.centre_id, {})[row.part_no] = row.qty
    return out


async def get_centre_stock(session: AsyncSession, *, centre_id: str) -> dict[str, int]:
    await _centre(session, centre_id)
    return (await centre_stock(session, [centre_id])).get(centre_id, {})


async def put_centre_stock(session: AsyncSession, *, centre_id: str, parts: Mapping[str, int],
                           now: datetime) -> dict[str, int]:
    """Replace what the service centre holds (a part at 0 is left out)."""
    await _centre(session, centre_id)
    await _lock(session, "centre_stock", centre_id)
    await session.execute(sa.delete(CentreStock).where(CentreStock.centre_id == centre_id))
    session.add_all(CentreStock(centre_id=centre_id, part_no=p, qty=q, updated_at=now)
                    for p, q in parts.items() if q > 0)
    await session.flush()
    return (await centre_stock(session, [centre_id])).get(centre_id, {})


async def zone_centres(session: AsyncSession, zone: str) -> list[r.ServiceCentre]:
    """The zone's service centres that hold anything, as the routing core's restock depots."""
    rows = (await session.scalars(sa.select(ServiceCentre).where(ServiceCentre.region_code == zone)
                                  .order_by(ServiceCentre.id))).all()
    stock = await centre_stock(session, [c.id for c in rows])
    return [r.ServiceCentre(c.id, (c.lat, c.lon), stock=stock[c.id]) for c in rows if stock.get(c.id)]


def restock_levels(jobs: Iterable[r.Job]) -> dict[str, int]:
    """What a restock stop tops a van up to, per part: enough for the largest single job's need of it (at least
    what the van started with: ``routing.Engineer.van_level``)."""
    out: dict[str, int] = {}
    for j in jobs:
        for p, q in j.parts.items():
            out[p] = max(out.get(p, 0), q)
    return out
