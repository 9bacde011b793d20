"""Engineer use cases: create or replace an engineer, list those in the caller's scope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.clock import business_date
from aftersales_shared.errors import Conflict, NotFound

from ..config import DispatchConfig
from ..domain.job_lifecycle import ACCEPTED, OFFERED
from ..models import Engineer, Job, PlanRow, PlanStop
from ..plans.inputs import day_bounds
from ..plans.replan import mark_replan
from .schemas import AbsenceRecord, EngineerUpsert


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


async def get_engineer(session: AsyncSession, *, engineer_id: str, visible: ColumnElement[bool]) -> Engineer:
    e = await session.scalar(select(Engineer).where(Engineer.id == engineer_id, visible))
    if e is None:
        raise NotFound(f"engineer {engineer_id} not found", field="engineer_id")
    return e


async def record_absence(session: AsyncSession, cfg: DispatchConfig, *, engineer_id: str, body: AbsenceRecord,
                         now: datetime) -> dict[str, Any]:
    """The engineer is absent on ``body.date`` (added to the absences unless already covered): from then on no
    live insertion or plan uses that day, and every zone-day the engineer's work touches that day (jobs held for
    it, stops of the zone-day's published plan) is marked for a re-plan (one per zone-day, debounced)."""
    e = await session.get(Engineer, engineer_id, with_for_update=True)
    if e is None:
        raise NotFound(f"engineer {engineer_id} not found", field="engineer_id")
    d = body.date
    if not any(date.fromisoformat(a["from"]) <= d <= date.fromisoformat(a["to"]) for a in e.absences or []):
        e.absences = [*(e.absences or []), {"from": d.isoformat(), "to": d.isoformat(), "reason": body.reason}]
    start, end = day_bounds(d)
    on_day = (Job.planned_arrival >= start) & (Job.planned_arrival < end)
    if d == business_date(now):  # a job held without a planned arrival is today's work
        on_day = on_day | Job.planned_arrival.is_(None)
    held = select(Job.region_code).where(Job.engineer_id == engineer_id, Job.status.in_((OFFERED, ACCEPTED)), on_day)
    planned = select(PlanRow.zone).join(PlanStop, PlanStop.plan_id == PlanRow.id).where(
        PlanRow.day == d, PlanRow.status == "published", PlanStop.engineer_id == engineer_id)
    zones = sorted(set((await session.scalars(held)).all()) | set((await session.scalars(planned)).all()))
    for zone in zones:
        await mark_replan(session, cfg, zone=zone, day=d, reason="absence", now=now)
    await session.flush()
    return {"engineer_id": engineer_id, "date": d, "reason": body.reason, "replans": zones}
