"""The live path of assignment (issue 14, item 2): each engineer's day sequence, read from the database as the
routing core's ``Route``, so a new job is *inserted* into a route (``routing_insert.insert_job``: least added
lateness, then least travel, promised windows kept) instead of being given to whoever is nearest now.

An engineer's sequence for a day is the jobs the engineer holds (offered, accepted, started), in order: started
ones first (they never move), then by planned arrival (a published plan's or an earlier insertion's), then by
arrive deadline. Which day: the engineer's *current* day (today while today's shift has not ended, else the next
working day) for the live path; a given day for appointment slots. A job held with a planned arrival on a later
day belongs to that day's route. The frame of a day is ``shift_start``..``shift_end`` (Asia/Shanghai), from the
engineer's last known position (seen that day) or home, back home; none on an absence or a weekday the weekly
shifts leave out (``plans/inputs.works_on``). The window of a job is the plan's (``plans/inputs.job_input``):
booked slot start or opening .. SLA arrive deadline; a booked slot's end (``booked_end``) is the latest start.

Only the ``cfg.live_candidates`` engineers nearest the job (by last known position or home, SQL ``ORDER BY`` on
a flat-earth distance) who serve its zone and have its skills and tools are read, with the jobs they hold
(``read_candidates``): one statement of plain columns (no ORM objects: a decision reads ~100 jobs), whatever the
number of engineers; each row carries its row version (``xmin``). Then only the engineers whose routes the decision
changes are locked, their ``route_version`` bumped, and checked to be as read (``still_as_read``, one statement
comparing the row versions): the decision stands, or is made again on a fresh read. What does not change per decision
(service minutes, the fault classes' tools and parts, the service centres' locations: ``reference``) comes from a
per-process cache.

Parts (issue 14, restock stops): a job expected to need parts costs ONE more query (``stock_for``): the candidates'
van stock of those parts and the zone's centres holding them. A van short of them may still take the job behind a
stop at the nearest centre holding them (``routing_insert``); a held job with a live restock stop
(``jobs.restock_centre_id``) has that stop before it on its route. A job whose parts no van and no centre holds is
placed as if it needed none (the engineer orders them: ``waiting_parts``).
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.clock import business_date

from ..config import DispatchConfig
from ..domain import routing as r
from ..domain.job_lifecycle import ACCEPTED, EN_ROUTE, OFFERED, ON_SITE, PAUSED
from ..domain.routing_model import RouteFrame, restock_stop, route_legs, schedule, stop_for, to_seconds
from ..models import CentreStock, Engineer, Job, ServiceCentre, ServiceDuration, VanStock
from ..plans import inputs as plan_inputs
from ..plans import stock as stock_data
from ..plans import tools as tool_data
from ..plans.durations import cached
from ..plans.inputs import DEFAULT_UNSERVED_COST, STARTED, at_time, day_bounds, engineer_input, job_input, works_on
from ..plans.inputs import service_minutes as minutes_of

__all__ = ["HELD", "LiveDay", "Reference", "StockView", "arrivals", "build_day", "core_job", "current_day",
           "durations", "durations_for", "held_core", "held_jobs", "load_day", "lock_engineers", "minutes_of",
           "read_candidates", "reference", "still_as_read", "stock_for"]

HELD = (OFFERED, ACCEPTED, EN_ROUTE, ON_SITE, PAUSED)
"""Statuses in which a job is on its engineer's route."""
URGENT_ZONE = "in_zone"  # R-S2: 2 h to arrive; an urgent job may displace a movable one


@dataclass(frozen=True)
class Reference:
    """What a decision needs that does not change per decision: (product line, fault class, skill level) ->
    service minutes, and (product line, fault class) -> the tools its jobs need."""

    durations: dict[tuple[str, str, int], int]
    tools: tool_data.ToolTable
    parts: stock_data.PartTable = field(default_factory=dict)
    centres: dict[str, tuple[float, float]] = field(default_factory=dict)  # service centre id -> location


@dataclass(frozen=True)
class StockView:
    """For one decision of a job needing parts: the candidates' van stock of those parts, and the zone's service
    centres holding any of them (restock stops), read now (``stock_for``)."""

    vans: dict[str, dict[str, int]]
    centres: list[r.ServiceCentre]


@dataclass
class LiveDay:
    """The day sequences of some engineers, as one core ``Plan`` (epoch = now), and the rows behind it (plain
    column rows of ``ENGINEER_COLUMNS`` / ``ROUTE_COLUMNS``, or ORM objects)."""

    plan: r.Plan
    engineers: list[r.Engineer]
    rows: dict[str, Any]
    held: dict[str, Any]
    days: dict[str, date]
    durations: dict[tuple[str, str, int], int]
    centres: list[r.ServiceCentre] = field(default_factory=list)  # restock stops this decision may add


def current_day(e: Any, now: datetime) -> date | None:
    """The day the engineer's live route is: today until today's shift ends, else the next working day."""
    today = business_date(now)
    for k in range(8):
        d = today + timedelta(days=k)
        if works_on(e, d) and at_time(d, e.shift_end) > now:
            return d
    return None


def _on_day(j: Any, d: date, current: date, bounds: tuple[datetime, datetime]) -> bool:
    """Whether a held job is on the engineer's route of day ``d`` (``current``: the engineer's current day;
    ``bounds``: ``day_bounds(d)``)."""
    if j.status in STARTED or j.planned_arrival is None:
        return d == current
    if d == current:
        return j.planned_arrival < bounds[1]
    return bounds[0] <= j.planned_arrival < bounds[1]


_FAR = datetime.max.replace(tzinfo=UTC)


def _order(j: Any) -> tuple[int, datetime, datetime]:
    return (0 if j.status in STARTED else 1, j.planned_arrival or _FAR, j.arrive_due or _FAR)


async def durations(session: AsyncSession, cfg: DispatchConfig) -> dict[tuple[str, str, int], int]:
    """(product line, fault class) -> service minutes, what a plan uses, from the per-process cache
    (``plans/durations.cached``)."""
    return await cached(session, cfg)


async def reference(session: AsyncSession, cfg: DispatchConfig) -> Reference:
    """Service minutes and the fault classes' tools, from the per-process caches (``DISPATCH_LIVE_CACHE_SECONDS``;
    a change made through this process clears them)."""
    return Reference(await cached(session, cfg), await tool_data.cached(session, cfg),
                     await stock_data.cached_table(session, cfg), await stock_data.cached_centres(session, cfg))


_ENGINEERS = f"{Engineer.metadata.schema}.{Engineer.__tablename__}"
_JOBS = f"{Job.metadata.schema}.{Job.__tablename__}"
_VAN, _CSTOCK, _CENTRES = (f"{m.metadata.schema}.{m.__tablename__}" for m in (VanStock, CentreStock, ServiceCentre))
_STOCK_FOR = sa.text(f"""
    SELECT 'v' AS kind, engineer_id AS id, part_no, qty, NULL::float8 AS lat, NULL::float8 AS lon FROM {_VAN}
     WHERE engineer_id = ANY(CAST(:ids AS text[])) AND part_no = ANY(CAST(:parts AS text[]))
    UNION ALL
    SELECT 'c', c.id, s.part_no, s.qty, c.lat, c.lon FROM {_CSTOCK} AS s JOIN {_CENTRES} AS c ON c.id = s.centre_id
     WHERE c.region_code = :zone AND s.part_no = ANY(CAST(:parts AS text[])) AND s.qty > 0""").bindparams(
    sa.bindparam("ids", type_=sa.ARRAY(sa.String)), sa.bindparam("parts", type_=sa.ARRAY(sa.String)))


async def stock_for(session: AsyncSession, parts: Sequence[str], engineer_ids: Sequence[str],
                    zone: str) -> StockView:
    """One query: the engineers' van stock of ``parts`` and the zone's centres holding any of them."""
    rows = (await session.execute(_STOCK_FOR, {"ids": list(engineer_ids), "parts": sorted(parts),
                                                "zone": zone})).all()
    vans: dict[str, dict[str, int]] = {}
    held: dict[str, dict[str, int]] = {}
    where: dict[str, tuple[float, float]] = {}
    for x in rows:
        (vans if x.kind == "v" else held).setdefault(x.id, {})[x.part_no] = x.qty
        if x.kind == "c":
            where[x.id] = (x.lat, x.lon)
    return StockView(vans, [r.ServiceCentre(c, where[c], stock=held[c]) for c in sorted(held)])


async def durations_for(session: AsyncSession, lines: set[str]) -> dict[tuple[str, str, int], int]:
    """The configured minutes of ``lines`` only, read now (the path before the cache; the benchmark's baseline)."""
    rows = (await session.scalars(sa.select(ServiceDuration).where(ServiceDuration.product_line.in_(lines)))).all()
    return {(d.product_line, d.fault_class, d.skill_level): d.minutes for d in rows}


def core_job(j: Any, cfg: DispatchConfig, ref: Reference, *,
             window: tuple[datetime, datetime] | None = None, parts: bool = True) -> r.Job:
    """A job (row or ORM object) as the routing core's job: the plan's window and defaults, its tools and (with
    ``parts``) expected parts, the booked slot's end as the latest start, ``urgent`` for an in-zone (2 h) job;
    ``window`` replaces the window (a trial slot, never late)."""
    day_end = j.arrive_due or day_bounds(business_date(j.opened_at))[1]  # the day's end only without a deadline
    base = job_input(j, minutes=minutes_of(j, ref.durations, cfg.default_service_minutes),
                     by_level=plan_inputs.service_by_level(j, ref.durations, cfg.default_service_minutes),
                     unserved_cost=float(j.unserved_cost or DEFAULT_UNSERVED_COST), day_end=day_end,
                     tools=tool_data.required_tools(j, ref.tools)[0],
                     parts=stock_data.expected_parts(j, ref.parts)[0] if parts else None,
                     urgent=window is None and j.zone_class == URGENT_ZONE)
    if window is not None:
        return replace(base, earliest=window[0], latest=window[1], late_penalty=None, urgent=False)
    return base


CORE_CACHE_SIZE = 50_000
"""How many held jobs' core ``Job`` this process keeps (``held_core``), oldest dropped first."""
_CORE: OrderedDict[tuple[str, str, bool], tuple[Any, Any, Any, DispatchConfig, r.Job]] = OrderedDict()


def held_core(j: Any, cfg: DispatchConfig, ref: Reference, *, parts: bool) -> r.Job:
    """:func:`core_job` of a held job's row, kept in this process by the row's version (``xmin``): a job whose row
    did not change since an earlier decision is not built again, as long as the reference tables (the per-process
    caches' objects) and the settings it was built from are the same. A row without ``xmin`` is built each time."""
    xmin = getattr(j, "xmin", None)
    if xmin is None:
        return core_job(_decoded(j), cfg, ref, parts=parts)
    key = (j.id, xmin, parts)
    hit = _CORE.get(key)
    if hit is not None and hit[0] is ref.durations and hit[1] is ref.tools and hit[2] is ref.parts and hit[3] is cfg:
        return hit[4]
    built = core_job(_decoded(j), cfg, ref, parts=parts)
    _CORE[key] = (ref.durations, ref.tools, ref.parts, cfg, built)
    if len(_CORE) > CORE_CACHE_SIZE:
        _CORE.popitem(last=False)
    return built


_JSON_TEXT = ("required_skills", "required_tools", "expected_parts")
"""A held job's JSON columns read as text (``_HELD``): decoded only when its core ``Job`` is built, not for every
held job of every decision (most come from ``held_core``'s cache)."""


def _decoded(j: Any) -> Any:
    """``j`` with its ``_JSON_TEXT`` columns decoded (a row of ``_HELD``); anything else as it is."""
    if not any(isinstance(getattr(j, c, None), str) for c in _JSON_TEXT):
        return j
    out = SimpleNamespace(**j._mapping)
    for c in _JSON_TEXT:
        v = getattr(out, c)
        if isinstance(v, str):
            setattr(out, c, json.loads(v))
    return out


def _start_of(e: Any, d: date, now: datetime) -> tuple[float, float]:
    seen = e.last_seen_at is not None and business_date(e.last_seen_at) == d and d == business_date(now)
    if seen and e.last_lat is not None and e.last_lon is not None:
        return (e.last_lat, e.last_lon)
    return (e.home_lat, e.home_lon)


def _frame(e: r.Engineer, jobs: list[r.Job], epoch: datetime,
           restocks: dict[str, r.Stop] | None = None) -> tuple[RouteFrame, list[r.Stop]]:
    shift_start = to_seconds(epoch, e.shift_start, up=True)
    shift_end = to_seconds(epoch, e.shift_end, up=False)
    stops = []
    for rj in jobs:
        if restocks and rj.id in restocks and not rj.started:  # its live restock stop comes first
            stops.append(restocks[rj.id])
        st = stop_for(rj, epoch, engineer=e)  # this engineer's service time (by his level)
        if rj.started:
            s0 = min(0, to_seconds(epoch, rj.started_at or epoch, up=False))
            st = replace(st, arrival_s=s0, start_s=s0, end_s=s0 + rj.service_s_for(e))
        stops.append(st)
    return RouteFrame(e.id, e.start, e.end_point, max(0, shift_start), shift_start, shift_end, shift_end), stops


ENGINEER_COLUMNS = ("id", "dealer_id", "active", "skills", "shifts", "absences", "shift_start",
                    "shift_end", "home_lat", "home_lon", "last_lat", "last_lon", "last_seen_at", "tools")
"""What of an engineer the route's frame, the insertion and the offer use (zones only filter, in SQL)."""
ROUTE_COLUMNS = ("id", "engineer_id", "status", "planned_arrival", "earliest_start", "booked_end", "arrive_due",
                 "opened_at", "lat", "lon", "service_minutes", "product_line", "fault_class", "required_skills",
                 "required_skill", "required_tools", "unserved_cost", "pinned_engineer_id", "arrived_at",
                 "last_action_at", "zone_class", "expected_parts", "restock_centre_id", "restock_parts")
"""What of a held job its route is built from (``build_day``, ``core_job``)."""
_E_XMIN = sa.cast(sa.literal_column("engineers.xmin"), sa.Text).label("xmin")
"""The row version: PostgreSQL gives a row a new ``xmin`` on every update, so equal versions mean unchanged rows."""
_E_COLS = [getattr(Engineer, c) for c in ENGINEER_COLUMNS]


_E_SELECT = ", ".join(f"e.{c}" for c in ENGINEER_COLUMNS) + ", e.xmin::text AS xmin"
_E_DISTANCE = ("(coalesce(e.last_lat, e.home_lat) - :lat) * (coalesce(e.last_lat, e.home_lat) - :lat)"
               " + ((coalesce(e.last_lon, e.home_lon) - :lon) * :k) * ((coalesce(e.last_lon, e.home_lon) - :lon) * :k)")


async def read_candidates(session: AsyncSession, job: Any, *, limit: int, exclude: Sequence[str] = (),
                          only: Sequence[str] | None = None, skilled: bool = True,
                          tools: frozenset[str] = frozenset()) -> tuple[list[Any], list[Any]]:
    """The ``limit`` active engineers nearest the job (by last known position or home) who serve its zone and hold
    its skills (any level: the core checks levels) and ``tools`` (not ``skilled``, an urgent job: any skills and
    tools, so a job it displaces can go to an engineer who may do that one; the pinned engineer alone for a pinned
    job), nearest first, and :func:`held_jobs` of them, in ONE prepared statement: a ``UNION ALL`` of engineer
    rows and job rows over the union of their columns (the other kind's are NULL), told apart by ``kind``;
    engineers carry their rank by distance (``ord``)."""
    assert job.lat is not None and job.lon is not None
    if only is None and job.pinned_engineer_id is not None:
        only = [job.pinned_engineer_id]
    skills = (sorted(job.required_skills or {}) or [job.required_skill]) if skilled else []
    params = {"lat": float(job.lat), "lon": float(job.lon), "k": math.cos(math.radians(job.lat)),
              "exclude": list(exclude), "limit": limit, "held": list(HELD), "job_id": job.id}
    tools_json = json.dumps(sorted(tools) if skilled else [])
    if only is not None:
        stmt = _candidates_stmt(only=True, tools=False, exclude=bool(exclude))
        params |= {"ids": list(only)}
    else:
        stmt = _candidates_stmt(only=False, tools=tools_json != "[]", exclude=bool(exclude))
        params |= {"zone": json.dumps([job.region_code]), "skills": skills, "tools": tools_json}
    rows = (await session.execute(stmt, params)).all()  # a parameter the variant leaves out is ignored
    engineers = sorted((x for x in rows if x.kind == "e"), key=lambda x: x.ord)
    return engineers, [x for x in rows if x.kind == "j"]


def _pg_type(model: Any, column: str) -> str:
    return str(model.__table__.c[column].type.compile(dialect=postgresql.dialect()))


@cache
def _candidates_stmt(*, only: bool, tools: bool, exclude: bool) -> sa.TextClause:
    """The statement of :func:`read_candidates`: engineers among ``:ids`` (``only``) or in the zone with the skills
    (and ``tools``), not among ``:exclude`` (``exclude``); a filter that would be empty is left out (a decision
    scans every engineer of the zone: in one zone of 2,000, each clause is 2,000 evaluations). Engineers are ranked
    on (distance, id) alone, and only the ``:limit`` nearest are joined back for their columns."""
    where = ["e.id = ANY(CAST(:ids AS text[]))"] if only else [
        "e.zones @> CAST(:zone AS jsonb)", "e.skills ?& CAST(:skills AS text[])"]
    if tools:
        where.append("e.tools @> CAST(:tools AS jsonb)")
    if exclude:
        where.append("NOT (e.id = ANY(CAST(:exclude AS text[])))")
    e_only = [c for c in ENGINEER_COLUMNS if c != "id"]
    j_only = [c for c in ROUTE_COLUMNS if c != "id"]
    e_side = ", ".join([f"n.{c}" for c in e_only] + [
        f"NULL::{'text' if c in _JSON_TEXT else _pg_type(Job, c)} AS {c}" for c in j_only])
    j_side = ", ".join([f"NULL::{_pg_type(Engineer, c)}" for c in e_only] + [
        f"j.{c}::text" if c in _JSON_TEXT else f"j.{c}" for c in j_only])
    stmt = sa.text(f"""
    WITH ranked AS (
        SELECT e.id, {_E_DISTANCE} AS d FROM {_ENGINEERS} AS e
         WHERE e.active AND {" AND ".join(where)}
         ORDER BY d, e.id LIMIT :limit),
    near AS (SELECT {_E_SELECT}, r.d FROM ranked AS r JOIN {_ENGINEERS} AS e ON e.id = r.id)
    SELECT 'e' AS kind, row_number() OVER (ORDER BY n.d, n.id) AS ord, n.id, {e_side}, n.xmin FROM near AS n
    UNION ALL
    SELECT 'j', NULL, j.id, {j_side}, j.xmin::text FROM {_JOBS} AS j
     WHERE j.engineer_id IN (SELECT id FROM near) AND j.status = ANY(CAST(:held AS text[]))
       AND j.id <> :job_id""")
    arrays = {"exclude": exclude, "ids": only, "skills": not only}
    return stmt.bindparams(*(sa.bindparam(name, type_=sa.ARRAY(sa.String)) for name, used in arrays.items() if used),
                           _HELD_ARRAY)


async def lock_engineers(session: AsyncSession, ids: Sequence[str], *, skip_locked: bool = False) -> list[Any]:
    """The engineers' rows (``ENGINEER_COLUMNS`` and ``xmin``), locked (``FOR UPDATE``) in id order, as they are
    now: while a decision holds them, no other insertion can change their routes, so one read of their jobs under
    the lock is the truth. ``skip_locked``: rows another transaction holds are left out instead of waited for."""
    if not ids:
        return []
    return list((await session.execute(sa.select(*_E_COLS, _E_XMIN).where(Engineer.id.in_(list(ids)))
                                       .order_by(Engineer.id).with_for_update(skip_locked=skip_locked))).all())


async def held_jobs(session: AsyncSession, engineer_ids: Sequence[str], job_id: str) -> list[Any]:
    """Every job the engineers hold (on a route), but ``job_id``: one prepared statement, rows of
    ``ROUTE_COLUMNS`` and ``xmin`` (plain columns: no ORM object is built or refreshed)."""
    if not engineer_ids:
        return []
    return list((await session.execute(_HELD, {"ids": list(engineer_ids), "held": list(HELD),
                                               "job_id": job_id})).all())


_HELD = sa.text(f"""
    SELECT {", ".join(f"j.{c}::text AS {c}" if c in _JSON_TEXT else f"j.{c}" for c in ROUTE_COLUMNS)},
           j.xmin::text AS xmin FROM {_JOBS} AS j
     WHERE j.engineer_id = ANY(CAST(:ids AS text[])) AND j.status = ANY(CAST(:held AS text[]))
       AND j.id <> :job_id""").bindparams(
    sa.bindparam("ids", type_=sa.ARRAY(sa.String)), sa.bindparam("held", type_=sa.ARRAY(sa.String)))
_HELD_ARRAY = sa.bindparam("held", type_=sa.ARRAY(sa.String))


async def still_as_read(session: AsyncSession, engineers: Sequence[Any], held_rows: Sequence[Any],
                        job_id: str) -> bool:
    """Lock ``engineers`` (``FOR UPDATE``, id order), bump their ``route_version`` and tell whether their rows and
    the jobs they hold are as read for a decision (``held_rows``): same row versions (``xmin``), no job added or
    gone. Then no other decision changed their routes since, and none can until this transaction ends. False: read
    again and decide again. One statement: in READ COMMITTED a statement that waited for a lock sees the locked
    row as it is now but other rows as they were when it began, so a job a concurrent decision added while this one
    waited is not among the jobs read here; that decision bumped the engineer's ``route_version`` too, so the
    engineer's row version differs and the decision is made again."""
    ids = sorted(e.id for e in engineers)
    rows = (await session.execute(_LOCK_ROUTES, {"ids": ids, "held": list(HELD), "job_id": job_id})).all()
    now = {(x.kind, x.id, x.xmin) for x in rows}
    return now == {("e", e.id, e.xmin) for e in engineers} | {("j", j.id, j.xmin) for j in held_rows
                                                              if j.engineer_id in ids}


_LOCK_ROUTES = sa.text(f"""
    WITH old AS (SELECT id, xmin::text AS v FROM {_ENGINEERS} WHERE id = ANY(CAST(:ids AS text[]))
                 ORDER BY id FOR UPDATE),
         bump AS (UPDATE {_ENGINEERS} AS e SET route_version = e.route_version + 1 FROM old WHERE e.id = old.id
                  RETURNING e.id)
    SELECT 'e' AS kind, old.id, old.v AS xmin FROM old
    UNION ALL
    SELECT 'j', j.id, j.xmin::text FROM {_JOBS} AS j WHERE j.engineer_id = ANY(CAST(:ids AS text[]))
        AND j.status = ANY(CAST(:held AS text[])) AND j.id <> :job_id""").bindparams(
    sa.bindparam("ids", type_=sa.ARRAY(sa.String)), sa.bindparam("held", type_=sa.ARRAY(sa.String)))


async def load_day(session: AsyncSession, cfg: DispatchConfig, job: Any, now: datetime, *,
                   engineers: Sequence[Any], day: date | None = None) -> LiveDay:
    """The day sequences of ``engineers`` at ``now`` (their current day, or ``day``: then only those working
    that day and whose shift has not ended), without ``job`` itself (the one being inserted: a job held already
    is taken out of its route first)."""
    held_rows = await held_jobs(session, [e.id for e in engineers], job.id)
    return build_day(cfg, job, now, engineers=engineers, held_rows=held_rows,
                     ref=await reference(session, cfg), day=day)


def build_day(cfg: DispatchConfig, job: Any, now: datetime, *, engineers: Sequence[Any],
              held_rows: Sequence[Any], ref: Reference, day: date | None = None,
              stock: StockView | None = None) -> LiveDay:
    """:func:`load_day` from rows already read (no query): several days from one read. With ``stock`` (the job
    needs parts) the vans hold it and the held jobs need their parts; held jobs' live restock stops are on the
    routes either way."""
    days: dict[str, date] = {}
    for e in engineers:
        if day is not None:
            d = day if works_on(e, day) and at_time(day, e.shift_end) > now else None
        else:
            d = current_day(e, now)
        if d is not None:
            days[e.id] = d
    rows = {e.id: e for e in engineers if e.id in days}
    travel = r.HaversineTravel(speed_kmh=cfg.speed_kmh(job.zone_class), road_factor=cfg.road_factor)
    by_eng: dict[str, list[Any]] = {}
    currents = days if day is None else {eid: current_day(e, now) or days[eid] for eid, e in rows.items()}
    bounds = {d: day_bounds(d) for d in set(days.values())}
    for j in held_rows:
        eid = j.engineer_id
        if eid not in rows:
            continue
        d = days[eid]
        if _on_day(j, d, currents[eid], bounds[d]) and j.lat is not None and j.lon is not None:
            by_eng.setdefault(eid, []).append(j)
    core_engineers, frames, held = [], [], {}
    for eid, e in rows.items():
        d = days[eid]
        ce = engineer_input(e, d, van_stock=stock.vans.get(eid) if stock is not None else None,
                            start=_start_of(e, d, now), end=(e.home_lat, e.home_lon))
        mine = sorted(by_eng.get(eid, []), key=_order)
        held.update({j.id: j for j in mine})
        core_engineers.append(ce)
        frames.append(_frame(ce, [held_core(j, cfg, ref, parts=stock is not None) for j in mine], now,
                             _restocks(mine, ref)))
    routes = tuple(schedule(frame, stops, travel, now_s=0, legs=legs)
                   for (frame, stops), legs in zip(frames, route_legs(travel, frames), strict=True))
    return LiveDay(r.Plan(now, routes, (), travel), core_engineers, rows, held, days, ref.durations,
                   stock.centres if stock is not None else [])


RESTOCK_MINUTES = 15.0
"""Loading time at a service centre's counter (``routing.ServiceCentre.service_minutes``)."""


def _restocks(mine: Sequence[Any], ref: Reference) -> dict[str, r.Stop]:
    """job id -> the live restock stop before it (its centre's location from the per-process cache)."""
    out = {}
    for j in mine:
        cid = getattr(j, "restock_centre_id", None)
        if cid is not None and cid in ref.centres:
            c = r.ServiceCentre(cid, ref.centres[cid], service_minutes=RESTOCK_MINUTES)
            out[j.id] = replace(restock_stop(c, 10**9), parts=dict(j.restock_parts or {}))
    return out


def arrivals(plan: r.Plan, engineer_ids: set[str]) -> dict[str, tuple[str, datetime, int]]:
    """job id -> (engineer, planned arrival, position) on the routes of ``engineer_ids``."""
    out = {}
    for route in plan.routes:
        if route.engineer_id in engineer_ids:
            for pos, s in enumerate(route.stops):
                if s.restock is None:
                    out[s.job_id] = (route.engineer_id, plan.time(s.arrival_s), pos)
    return out
