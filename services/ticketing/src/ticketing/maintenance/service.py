"""Preventive maintenance use cases (R-S10, issue 16 item 4; flush, never commit).

- plans: ``put_plan`` / ``list_plans`` / ``plan_history`` — a plan per unit or contract and kind, its terms data:
  each change a new version (``pm_plan_versions``, append-only: who, when, why) from its ``effective_from``, never
  backdated (422 ``terms_backdated``), so periods before it keep the version they were generated under;
- generation (``background.py``, clock-driven): ``generate`` inserts each period's occurrence per unit once, under
  the version in force for the period (``domain/pm.py::due_by_version``) —
  ``ON CONFLICT (plan_id, serial, period_start) DO NOTHING``, so a restart, a second run or a second replica
  generates nothing new; ``open_maintenance_tickets`` opens a visit/inspection's maintenance ticket through the
  intake writer (``tickets/hotpath.py``, Idempotency-Key ``pm-<occurrence id>``: one ticket per occurrence even
  when two replicas race) — dispatch hears ``ticketing.ticket.opened`` with the window and books the job in it;
- ``miss_overdue``: the window closed without a result → ``missed`` and ``ticketing.pm.missed`` (conditional
  UPDATE: once);
- ``record_checklist``: the result, kept on the occurrence (the service record), completes it.
Tests: ``tests/ticketing/test_pm.py``."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.events.ticketing import PmMissed
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from ..access import remedy_filter
from ..domain import pm
from ..domain.pm_lifecycle import MOVES
from ..models import pm_occurrences, pm_plan_versions, pm_plans, ticket_transitions, units
from .schemas import ChecklistIn, PmPlanPut

log = logging.getLogger(__name__)


def _read(row: Any) -> dict[str, Any]:
    return dict(row._mapping) if hasattr(row, "_mapping") else dict(row)


_TERMS = ("every_months", "window_days", "lead_days", "effective_from", "active")


async def put_plan(session: AsyncSession, *, scope: str, target: str, kind: str, body: PmPlanPut, actor: str,
                   today: date, now: datetime) -> dict[str, Any]:
    """Set (create or change) the plan of a unit or contract for one kind from ``effective_from`` (today or later):
    a new version, audited; the same change resent for the same day adds none. Occurrences already generated keep
    the terms they were generated under."""
    if scope == "unit" and await session.scalar(sa.select(units.c.serial).where(units.c.serial == target)) is None:
        raise NotFound(f"unit {target} not found", field="target")
    if body.effective_from < today:
        raise Unprocessable(f"a plan change applies from today ({today}) or later: periods before it keep the plan "
                            "they were generated under", field="effective_from", code="terms_backdated")
    await session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('ticketing-pm:' || :k))"),
                          {"k": f"{scope}/{target}/{kind}"})
    p, v = pm_plans.c, pm_plan_versions.c
    plan = (await session.execute(sa.select(pm_plans).where(p.scope == scope, p.target == target, p.kind == kind))
            ).mappings().first()
    terms = {k: getattr(body, k) for k in _TERMS}
    if plan is None:
        plan = (await session.execute(sa.insert(pm_plans).values(
            id=new_id(), scope=scope, target=target, kind=kind, updated_by=actor, updated_at=now, **terms)
            .returning(*pm_plans.c))).mappings().one()
    latest = (await session.execute(sa.select(pm_plan_versions).where(v.plan_id == plan["id"])
                                    .order_by(v.version.desc()).limit(1))).mappings().first()
    if latest is not None and all(latest[k] == terms[k] for k in _TERMS) and latest["reason"] == body.reason:
        return {**dict(plan), "version": latest["version"]}
    version = (latest["version"] if latest else 0) + 1
    await session.execute(sa.insert(pm_plan_versions).values(
        plan_id=plan["id"], version=version, reason=body.reason, created_by=actor, created_at=now, **terms))
    row = (await session.execute(sa.update(pm_plans).where(p.id == plan["id"]).values(
        updated_by=actor, updated_at=now, **terms).returning(*pm_plans.c))).mappings().one()
    return {**dict(row), "version": version}


def _latest_version() -> sa.ScalarSelect[Any]:
    v = pm_plan_versions.c
    return sa.select(sa.func.max(v.version)).where(v.plan_id == pm_plans.c.id).scalar_subquery()


async def list_plans(session: AsyncSession, *, scope: str, target: str) -> list[dict[str, Any]]:
    rows = await session.execute(sa.select(pm_plans, _latest_version().label("version")).where(
        pm_plans.c.scope == scope, pm_plans.c.target == target).order_by(pm_plans.c.kind))
    return [_read(r) for r in rows]


async def plan_history(session: AsyncSession, *, scope: str, target: str, kind: str) -> list[dict[str, Any]]:
    """Every version of the plan, oldest first: its terms, from when, who set it and why."""
    p, v = pm_plans.c, pm_plan_versions.c
    plan_id = await session.scalar(sa.select(p.id).where(p.scope == scope, p.target == target, p.kind == kind))
    if plan_id is None:
        raise NotFound(f"no {kind} plan for {scope} {target}", field="kind")
    rows = await session.execute(sa.select(pm_plan_versions).where(v.plan_id == plan_id).order_by(v.version))
    return [dict(r) for r in rows.mappings()]


async def _versions(session: AsyncSession) -> dict[UUID, list[pm.PlanVersion]]:
    v = pm_plan_versions.c
    out: dict[UUID, list[pm.PlanVersion]] = {}
    for r in (await session.execute(sa.select(pm_plan_versions).order_by(v.plan_id, v.version))).mappings():
        out.setdefault(r["plan_id"], []).append(pm.PlanVersion(r["version"], pm.PlanTerms(
            r["every_months"], r["window_days"], r["lead_days"], r["effective_from"]), r["active"]))
    return out


def _instant(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=clock.BUSINESS_TZ)


async def generate(session: AsyncSession, *, today: date, now: datetime) -> int:
    """Every plan's due periods, each under the version in force for it, for each of its units (not retired),
    inserted once per plan, unit and period (a restart or a second runner adds nothing); how many were new."""
    created = 0
    versions = await _versions(session)
    for plan in (await session.execute(sa.select(pm_plans).order_by(pm_plans.c.id))).mappings():
        periods = pm.due_by_version(versions.get(plan["id"], []), today)
        if not periods:
            continue
        column = units.c.serial if plan["scope"] == "unit" else units.c.contract_code
        serials = (await session.scalars(sa.select(units.c.serial).where(
            column == plan["target"], units.c.status != "retired").order_by(units.c.serial))).all()
        rows = [{"id": new_id(), "plan_id": plan["id"], "serial": s, "kind": plan["kind"], "period_start": p.start,
                 "window_start": _instant(p.start), "window_end": _instant(p.end), "status": MOVES["generate"].to,
                 "plan_version": version, "created_at": now} for s in serials for version, p in periods]
        if rows:
            result = await session.execute(insert(pm_occurrences).values(rows).on_conflict_do_nothing(
                index_elements=["plan_id", "serial", "period_start"]).returning(pm_occurrences.c.id))
            created += len(result.all())
    return created


async def to_schedule(session: AsyncSession, *, limit: int = 50) -> list[dict[str, Any]]:
    """Visits/inspections still ``due`` without a ticket, with the unit's contact (what intake needs)."""
    o, u = pm_occurrences, units
    rows = await session.execute(
        sa.select(o.c.id, o.c.serial, o.c.kind, o.c.window_start, o.c.window_end, o.c.period_start, u.c.customer_name,
                  u.c.phone, u.c.address, u.c.region_code)
        .join(u, u.c.serial == o.c.serial)
        .where(o.c.status.in_(MOVES["schedule"].allowed_from), o.c.ticket_id.is_(None),
               o.c.kind.in_(sorted(pm.ON_SITE)))
        .order_by(o.c.window_start).limit(limit))
    return [dict(r) for r in rows.mappings()]


def ticket_body(occ: dict[str, Any]) -> dict[str, Any] | None:
    """The intake request of an occurrence's maintenance ticket (None: the unit lacks the contact to visit)."""
    if not all(occ.get(k) for k in ("customer_name", "phone", "address", "region_code")):
        return None
    return {"serial": occ["serial"], "customer_name": occ["customer_name"], "phone": occ["phone"],
            "address": occ["address"], "region_code": occ["region_code"], "channel": "web",
            "fault_description": f"preventive maintenance {occ['kind']} (R-S10), period {occ['period_start']}",
            "requested_action": "inspection", "force_new": True,
            "force_reason": f"preventive maintenance {occ['kind']} (R-S10)"}


async def mark_scheduled(session: AsyncSession, *, occurrence_id: UUID, ticket_id: UUID) -> None:
    await session.execute(sa.update(pm_occurrences).where(
        pm_occurrences.c.id == occurrence_id, pm_occurrences.c.status.in_(MOVES["schedule"].allowed_from))
        .values(status=MOVES["schedule"].to, ticket_id=ticket_id))


def ticket_id_of(response: str | Any) -> UUID:
    data = json.loads(response) if isinstance(response, str | bytes) else response
    return UUID(str(data["id"]))


async def miss_overdue(session: AsyncSession, *, now: datetime) -> int:
    """Occurrences whose window closed without a result: ``missed``, each with its ``ticketing.pm.missed`` once."""
    o = pm_occurrences
    missed = (await session.execute(
        sa.update(o).where(o.c.status.in_(MOVES["miss"].allowed_from), o.c.window_end <= now)
        .values(status=MOVES["miss"].to, missed_at=now).returning(*o.c))).mappings().all()
    if not missed:
        return 0
    facts = {r["serial"]: r for r in (await session.execute(sa.select(
        units.c.serial, units.c.dealer_id, units.c.contract_code).where(
        units.c.serial.in_({m["serial"] for m in missed})))).mappings()}
    await add_events(session, *[PmMissed(aggregate_id=m["serial"], payload={
        "occurrence_id": str(m["id"]), "plan_id": str(m["plan_id"]), "serial": m["serial"], "kind": m["kind"],
        "dealer_id": facts[m["serial"]]["dealer_id"], "contract_code": facts[m["serial"]]["contract_code"],
        "ticket_id": str(m["ticket_id"]) if m["ticket_id"] else None, "window_start": m["window_start"],
        "window_end": m["window_end"], "missed_at": now}) for m in missed])
    return len(missed)


async def list_occurrences(session: AsyncSession, *, status: str | None, kind: str | None, serial: str | None,
                           due_before: date | None, limit: int, offset: int) -> list[dict[str, Any]]:
    o = pm_occurrences
    q = sa.select(o).order_by(o.c.window_start, o.c.id).limit(limit).offset(offset)
    if status:
        q = q.where(o.c.status == status)
    if kind:
        q = q.where(o.c.kind == kind)
    if serial:
        q = q.where(o.c.serial == serial)
    if due_before:
        q = q.where(o.c.window_start < _instant(due_before))
    return [dict(r) for r in (await session.execute(q)).mappings()]


async def record_checklist(session: AsyncSession, *, occurrence_id: UUID, body: ChecklistIn, viewer: Principal,
                           now: datetime) -> dict[str, Any]:
    """The result becomes the occurrence's service record and completes it (staff: any; an engineer: one whose
    maintenance ticket its job moved)."""
    o, t = pm_occurrences, ticket_transitions
    row = (await session.execute(sa.select(o).where(
        o.c.id == occurrence_id, remedy_filter(viewer, o.c.ticket_id, t.c.ticket_id, t.c.actor))
        .with_for_update())).mappings().first()
    if row is None:
        raise NotFound(f"PM occurrence {occurrence_id} not found", field="occurrence_id")
    move = MOVES["record"]
    if row["status"] not in move.allowed_from:
        raise Conflict(f"PM occurrence is already {row['status']}", field="occurrence_id", code="pm_already_recorded")
    return dict((await session.execute(sa.update(o).where(o.c.id == occurrence_id).values(
        status=move.to, checklist=[i.model_dump() for i in body.items], recorded_by=viewer.sub, recorded_at=now)
        .returning(*o.c))).mappings().one())
