"""Parts in planning (issue 14, item 1): what a job is expected to need, what vans and service centres hold.

A job's expected parts: its own ``expected_parts`` when a dispatcher named them (``{}`` = none), else the parts of
its product line x fault class (``fault_class_parts``), else none. A plan serves them from the engineer's van
(``van_stock``); a route may stop at a service centre of the zone holding them (``centre_stock``) to restock first.
Each write replaces the whole list or stock under a transaction-scoped advisory lock on its key, so two racing
writes end as one of them, never as a mix or a duplicate-key error. Every function flushes, never commits.

Stock moves (``stock_moves``, one row per part and cause): a completed job's parts used leave the van
(:func:`draw_down_used`, never below zero); a restock stop's parts leave the centre for the van when the stop is
committed to a route (:func:`take_restock`: a plan published, a live insertion placing a job behind the stop), by a
conditional UPDATE (``qty >= asked``), so two routes racing for the last unit: one gets it; what a restock took
for a job that leaves the route before the engineer set off to it goes back to its centre
(:func:`give_back_restock` for a live restock, :func:`give_back_planned` for a published plan's stop). The
``(ref, part_no)`` key makes a retried cause move nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import NotFound

from ..config import DispatchConfig
from ..domain import routing as r
from ..models import (
    CentreStock,
    Engineer,
    FaultClassPart,
    Job,
    PlanRestock,
    PlanStop,
    ServiceCentre,
    StockMove,
    VanStock,
)
from .process_cache import ProcessCache

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
    forget()
    return await fault_class_parts(session, product_line=product_line, fault_class=fault_class)


_CACHE: ProcessCache[PartTable] = ProcessCache()


async def cached_table(session: AsyncSession, cfg: DispatchConfig) -> PartTable:
    """:func:`fault_class_table`, kept in this process for ``cfg.live_cache`` (the live path's read)."""
    return await _CACHE.get(lambda: fault_class_table(session), cfg.live_cache)


def forget() -> None:
    """Changed in this process: the next :func:`cached_table` reads again."""
    _CACHE.forget()


_CENTRES: ProcessCache[dict[str, tuple[float, float]]] = ProcessCache()


async def cached_centres(session: AsyncSession, cfg: DispatchConfig) -> dict[str, tuple[float, float]]:
    """Service centre id -> location, kept in this process for ``cfg.live_cache`` (where a held job's live restock
    stop is; a centre's stock is never cached: the decision reads it, the take checks it)."""
    async def load() -> dict[str, tuple[float, float]]:
        rows = (await session.execute(sa.select(ServiceCentre.id, ServiceCentre.lat, ServiceCentre.lon))).all()
        return {x.id: (x.lat, x.lon) for x in rows if x.lat is not None and x.lon is not None}
    return await _CENTRES.get(load, cfg.live_cache)


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


# --- stock that moves -----------------------------------------------------------------------------

async def _claim(session: AsyncSession, *, kind: str, ref: str, part_no: str, asked: int, engineer_id: str,
                 centre_id: str | None, job_id: str | None, plan_id: str | None, now: datetime) -> int | None:
    """The ledger row of this cause and part, inserted with nothing moved yet; None when it exists (a retry)."""
    got = await session.execute(insert(StockMove).values(
        kind=kind, ref=ref, part_no=part_no, asked=asked, moved=0, engineer_id=engineer_id, centre_id=centre_id,
        job_id=job_id, plan_id=plan_id, at=now).on_conflict_do_nothing(
        index_elements=[StockMove.ref, StockMove.part_no]).returning(StockMove.id))
    return got.scalar()


_VAN = f"{VanStock.metadata.schema}.{VanStock.__tablename__}"
_DRAW = sa.text(f"""
    WITH old AS (SELECT qty FROM {_VAN} WHERE engineer_id = :e AND part_no = :p FOR UPDATE)
    UPDATE {_VAN} AS v SET qty = GREATEST(v.qty - :q, 0), updated_at = :now FROM old
     WHERE v.engineer_id = :e AND v.part_no = :p RETURNING LEAST(old.qty, :q)""")


async def draw_down_used(session: AsyncSession, *, job_id: str, engineer_id: str | None,
                         parts: Mapping[str, int], now: datetime) -> dict[str, int]:
    """The parts a completed job used leave the engineer's van (never below zero: a van that held fewer gives what
    it held). Once per job (``ref = used:<job>``): a retried completion or redelivery moves nothing again.
    Returns what was moved now, per part."""
    moved: dict[str, int] = {}
    if engineer_id is None:
        return moved
    for part, q in sorted(parts.items()):
        move_id = await _claim(session, kind="used", ref=f"used:{job_id}", part_no=part, asked=q,
                               engineer_id=engineer_id, centre_id=None, job_id=job_id, plan_id=None, now=now)
        if move_id is None or q <= 0:
            continue
        took = (await session.execute(_DRAW, {"e": engineer_id, "p": part, "q": q, "now": now})).scalar() or 0
        await session.execute(sa.update(StockMove).where(StockMove.id == move_id).values(moved=took))
        moved[part] = took
    await session.flush()
    return moved


async def take_restock(session: AsyncSession, *, ref: str, centre_id: str, engineer_id: str,
                       parts: Mapping[str, int], now: datetime, job_id: str | None = None,
                       plan_id: str | None = None, whole: bool = False) -> dict[str, int]:
    """A restock stop committed to a route: each part moves from the centre to the van, all of its quantity or
    none (``UPDATE .. WHERE qty >= asked``: of two routes racing for the last unit, one gets it). Once per ``ref``.
    ``whole``: every part or nothing (the centre's rows of the parts are locked first, in part order; nothing is
    written when one falls short). Returns what was moved, per part (a part missing from the result was not
    there)."""
    moved: dict[str, int] = {}
    if whole:
        have = dict((await session.execute(sa.select(CentreStock.part_no, CentreStock.qty).where(
            CentreStock.centre_id == centre_id, CentreStock.part_no.in_(list(parts)))
            .order_by(CentreStock.part_no).with_for_update())).all())
        if any(have.get(p, 0) < q for p, q in parts.items()):
            return moved
    for part, q in sorted(parts.items()):
        if q <= 0:
            continue
        move_id = await _claim(session, kind="restock", ref=ref, part_no=part, asked=q, engineer_id=engineer_id,
                               centre_id=centre_id, job_id=job_id, plan_id=plan_id, now=now)
        if move_id is None:
            continue
        got = await session.execute(sa.update(CentreStock).where(
            CentreStock.centre_id == centre_id, CentreStock.part_no == part, CentreStock.qty >= q)
            .values(qty=CentreStock.qty - q, updated_at=now).returning(CentreStock.qty))
        if got.scalar() is None:
            continue
        up = insert(VanStock).values(engineer_id=engineer_id, part_no=part, qty=q, updated_at=now)
        await session.execute(up.on_conflict_do_update(
            index_elements=[VanStock.engineer_id, VanStock.part_no],
            set_={"qty": VanStock.qty + up.excluded.qty, "updated_at": up.excluded.updated_at}))
        await session.execute(sa.update(StockMove).where(StockMove.id == move_id).values(moved=q))
        moved[part] = q
    await session.flush()
    return moved


async def moves_of_job(session: AsyncSession, job_id: str) -> list[StockMove]:
    return list((await session.scalars(sa.select(StockMove).where(StockMove.job_id == job_id)
                                       .order_by(StockMove.id))).all())



async def _give_back(session: AsyncSession, *, ref: str, centre_id: str | None, part: str, qty: int,
                     engineer_id: str, job_id: str, plan_id: str | None, now: datetime) -> int | None:
    """One part goes back van -> centre under the ledger row ``(ref, part)``: the centre's row locked before the
    van's (as a take locks them, so a take and a give-back racing on one centre and van never deadlock), never
    below zero (a van holding fewer now gives what it holds). A centre deleted since keeps nothing (the parts stay
    the van's, ``moved`` 0). None: this ref gave it back already (a retry or a racing give-back)."""
    known = centre_id is not None and await session.scalar(
        sa.select(ServiceCentre.id).where(ServiceCentre.id == centre_id)) is not None
    if known:
        await session.execute(sa.select(CentreStock.part_no).where(
            CentreStock.centre_id == centre_id, CentreStock.part_no == part).with_for_update())
    move_id = await _claim(session, kind="return", ref=ref, part_no=part, asked=qty, engineer_id=engineer_id,
                           centre_id=centre_id, job_id=job_id, plan_id=plan_id, now=now)
    if move_id is None:
        return None
    took = 0
    if known and qty > 0:
        took = (await session.execute(_DRAW, {"e": engineer_id, "p": part, "q": qty, "now": now})).scalar() or 0
    if took:
        up = insert(CentreStock).values(centre_id=centre_id, part_no=part, qty=took, updated_at=now)
        await session.execute(up.on_conflict_do_update(
            index_elements=[CentreStock.centre_id, CentreStock.part_no],
            set_={"qty": CentreStock.qty + up.excluded.qty, "updated_at": up.excluded.updated_at}))
    await session.execute(sa.update(StockMove).where(StockMove.id == move_id).values(moved=took))
    return took


async def give_back_restock(session: AsyncSession, *, job_id: str, engineer_id: str,
                            now: datetime) -> dict[str, int]:
    """The job left ``engineer_id``'s route before he set off to it: the parts live insertion's restock stops moved
    to his van for it (``live:<job>:..`` takes) go back to their centres, once per take (``ref = return:<take
    ref>``), never below zero (:func:`_give_back`). Returns what went back, per part."""
    takes = (await session.execute(sa.select(StockMove.ref, StockMove.part_no, StockMove.moved, StockMove.centre_id)
                                   .where(StockMove.job_id == job_id, StockMove.kind == "restock",
                                          StockMove.engineer_id == engineer_id, StockMove.moved > 0,
                                          StockMove.ref.like("live:%"))
                                   .order_by(StockMove.centre_id, StockMove.part_no, StockMove.id))).all()
    back: dict[str, int] = {}
    for t in takes:
        took = await _give_back(session, ref=f"return:{t.ref}", centre_id=t.centre_id, part=t.part_no, qty=t.moved,
                                engineer_id=engineer_id, job_id=job_id, plan_id=None, now=now)
        if took is not None:
            back[t.part_no] = back.get(t.part_no, 0) + took
    await session.flush()
    return back


async def give_back_planned(session: AsyncSession, *, job_id: str, engineer_id: str, plan_id: str,
                            need: Mapping[str, int], now: datetime) -> dict[str, int]:
    """The job left ``engineer_id``'s route of the published plan ``plan_id`` before he set off to it: of the
    parts the plan's restock stop before it (the nearest one before its position) moved to his van, what the job
    needed (``need``) goes back to that centre, at most what the stop took less what jobs that left before gave
    back (a stop takes only what the jobs after it need beyond the van's stock, so the van keeps what the others
    still need). Once per job and stop (``ref = return:<take ref>:<job>``). Returns what went back, per part."""
    if not any(q > 0 for q in need.values()):
        return {}
    at = await session.scalar(sa.select(PlanStop.position).where(
        PlanStop.plan_id == plan_id, PlanStop.job_id == job_id, PlanStop.engineer_id == engineer_id))
    if at is None:
        return {}
    stop = await session.scalar(sa.select(PlanRestock).where(
        PlanRestock.plan_id == plan_id, PlanRestock.engineer_id == engineer_id, PlanRestock.position < at)
        .order_by(PlanRestock.position.desc()).limit(1))
    if stop is None:
        return {}
    take = f"plan:{plan_id}:{engineer_id}:{stop.position}"
    taken = dict((await session.execute(sa.select(StockMove.part_no, StockMove.moved).where(
        StockMove.ref == take, StockMove.part_no.in_(list(need))))).all())
    given = dict((await session.execute(sa.select(StockMove.part_no, sa.func.sum(StockMove.asked)).where(
        StockMove.kind == "return", StockMove.ref.like(f"return:{take}:%"), StockMove.part_no.in_(list(need)))
        .group_by(StockMove.part_no))).all())
    back: dict[str, int] = {}
    for part in sorted(need):
        qty = min(int(need[part]), taken.get(part, 0) - int(given.get(part) or 0))
        if qty <= 0:
            continue
        took = await _give_back(session, ref=f"return:{take}:{job_id}", centre_id=stop.centre_id, part=part,
                                qty=qty, engineer_id=engineer_id, job_id=job_id, plan_id=plan_id, now=now)
        if took is not None:
            back[part] = took
    await session.flush()
    return back
