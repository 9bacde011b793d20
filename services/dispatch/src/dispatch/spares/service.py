"""Spare-unit use cases (R-S6): the pool per service centre (register, list, the overdue list), lending one to a job
and collecting it (called by the job's ``lend_spare`` / ``collect_spare`` actions), converting it (sold or written
off), the close guard, the overdue reminder and the suggestion for a job whose resolve deadline is at risk.

A spare is never lent twice at once, whatever the application does: the lend is a conditional
``UPDATE spare_units ... WHERE status = 'available'`` (a racing second lend finds nothing to update and is a 409
naming the field), and the database keeps one open loan per spare (``ux_spare_loans_open``) and one lent spare
per job (``ux_spare_units_job_lent``). Every function runs in the caller's unit of work (flush, never commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.events import dispatch as ev
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from ..config import DispatchConfig
from ..contracts import service as contracts
from ..domain import spare_lifecycle as lifecycle
from ..domain.assignment import haversine_km
from ..domain.job_lifecycle import OPEN_STATUSES
from ..domain.spare_lifecycle import AVAILABLE, LENT
from ..jobs.events import job_payload
from ..models import Job, ServiceCentre, SlaPolicyRow, SpareLoan, SpareUnit
from .schemas import SpareConvert, SpareCreate, SpareRead, SpareSuggestion

OVERDUE_BATCH = 200


def read(spare: SpareUnit, now: datetime) -> SpareRead:
    if spare.status == LENT:
        where = f"job:{spare.job_id}"
    elif spare.status in lifecycle.CONVERTED:
        where = "gone"
    else:
        where = f"centre:{spare.centre_id}"
    return SpareRead(
        id=spare.id, serial=spare.serial, product_line=spare.product_line, condition=spare.condition,
        status=spare.status, centre_id=spare.centre_id, dealer_id=spare.dealer_id, job_id=spare.job_id,
        lent_at=spare.lent_at, due_back_at=spare.due_back_at, reminded_at=spare.reminded_at,
        loan_hours=spare.loan_hours, converted_reason=spare.converted_reason, version=spare.version,
        overdue=lifecycle.is_overdue(spare.status, spare.due_back_at, now), location=where)


# --- the pool ------------------------------------------------------------------------------------

async def register(session: AsyncSession, cfg: DispatchConfig, body: SpareCreate, *, dealer_scope: str | None,
                   now: datetime) -> SpareUnit:
    """A spare enters a centre's pool, available. ``dealer_scope``: a dealer caller, who may register into its
    own centres only (another centre is unknown to it: 404)."""
    centre = await session.get(ServiceCentre, body.centre_id)
    if centre is None or (dealer_scope is not None and centre.dealer_id != dealer_scope):
        raise NotFound(f"service centre {body.centre_id} not found", field="centre_id")
    if await session.scalar(select(SpareUnit.id).where(SpareUnit.serial == body.serial)) is not None:
        raise Conflict(f"spare unit {body.serial} is already registered", field="serial", code="spare_exists")
    hours = body.loan_hours or int(cfg.spare_due_back.total_seconds() // 3600)
    spare = SpareUnit(id=str(new_id()), serial=body.serial, product_line=body.product_line, condition=body.condition,
                      status=AVAILABLE, centre_id=centre.id, dealer_id=centre.dealer_id, loan_hours=hours,
                      version=1, created_at=now, updated_at=now)
    session.add(spare)
    await session.flush()
    return spare


async def list_spares(session: AsyncSession, *, visible: ColumnElement[bool], status: str | None, overdue: bool,
                      product_line: str | None, centre_id: str | None, now: datetime, limit: int,
                      offset: int) -> Sequence[SpareUnit]:
    """The caller's spares; ``overdue``: the ops list (lent past their due-back time, longest overdue first)."""
    q = select(SpareUnit).where(visible)
    if overdue:
        q = q.where(SpareUnit.status == LENT, SpareUnit.due_back_at <= now).order_by(SpareUnit.due_back_at)
    else:
        q = q.order_by(SpareUnit.serial)
    if status:
        q = q.where(SpareUnit.status == status)
    if product_line:
        q = q.where(SpareUnit.product_line == product_line)
    if centre_id:
        q = q.where(SpareUnit.centre_id == centre_id)
    return (await session.scalars(q.order_by(SpareUnit.id).limit(limit).offset(offset))).all()


async def get_spare(session: AsyncSession, spare_id: str, *, visible: ColumnElement[bool]) -> SpareUnit:
    spare = await session.scalar(select(SpareUnit).where(SpareUnit.id == spare_id, visible))
    if spare is None:
        raise NotFound(f"spare unit {spare_id} not found", field="spare_id")
    return spare


async def _open_loan(session: AsyncSession, spare: SpareUnit) -> SpareLoan | None:
    return await session.scalar(select(SpareLoan).where(SpareLoan.spare_id == spare.id,
                                                        SpareLoan.ended_at.is_(None)))


def _end_loan(spare: SpareUnit, to: str, now: datetime) -> None:
    spare.status, spare.job_id, spare.lent_at, spare.due_back_at, spare.reminded_at = to, None, None, None, None
    spare.version, spare.updated_at = spare.version + 1, now


async def convert(session: AsyncSession, spare_id: str, body: SpareConvert, *, visible: ColumnElement[bool],
                  now: datetime) -> SpareUnit:
    """Sold or written off, with a reason (also a spare out at a customer: its loan ends, the job may close)."""
    spare = await session.scalar(select(SpareUnit).where(SpareUnit.id == spare_id, visible).with_for_update())
    if spare is None:
        raise NotFound(f"spare unit {spare_id} not found", field="spare_id")
    try:
        m = lifecycle.move(spare.status, lifecycle.CONVERT_ACTION[body.to])
    except lifecycle.IllegalSpareMove as exc:
        raise Conflict(str(exc), field="to", code="spare_state") from exc
    loan = await _open_loan(session, spare)
    if loan is not None:
        loan.ended_at, loan.outcome, loan.reason = now, body.to, body.reason
    _end_loan(spare, lifecycle.target(m, spare.status), now)
    spare.converted_reason = body.reason
    await session.flush()
    return spare


# --- lending and collecting (the job's lend_spare / collect_spare actions) ------------------------

async def lend(session: AsyncSession, job: Job, *, spare_id: str | None, serial: str | None, at: datetime,
               now: datetime) -> SpareUnit:
    """Lend a pool spare (by id, or by serial) to a locked job: it must be available, of the job's product line,
    and the centre's dealer's (or the manufacturer's) when the job's engineer works for a dealer."""
    field = "spare_id" if spare_id else "spare_serial"
    ref = spare_id or serial or ""
    spare = await session.scalar(select(SpareUnit).where(
        SpareUnit.id == spare_id if spare_id else SpareUnit.serial == serial))
    if spare is None:
        raise NotFound(f"spare unit {ref} not found in the pool", field=field, code="spare_not_found")
    if spare.product_line != job.product_line:
        raise Unprocessable(f"spare unit {spare.serial} is of product line {spare.product_line}, the job needs "
                            f"{job.product_line}", field=field, code="spare_wrong_product_line")
    if spare.dealer_id is not None and spare.dealer_id != job.engineer_dealer_id:
        raise Conflict(f"spare unit {spare.serial} belongs to another dealer's pool", field=field,
                       code="spare_other_dealer")
    held = await session.scalar(select(SpareUnit.serial).where(SpareUnit.job_id == job.id, SpareUnit.status == LENT))
    if held is not None:
        raise Conflict(f"spare unit {held} is already lent to this job", field=field, code="spare_already_lent")
    lifecycle.move(AVAILABLE, "lend")  # the table allows only this move into lent
    hours = await contracts.spare_due_back_hours(session, job, at, fallback=spare.loan_hours)  # issue 16: a term
    due = lifecycle.due_back(at, timedelta(hours=hours))
    won = (await session.execute(
        update(SpareUnit).where(SpareUnit.id == spare.id, SpareUnit.status == AVAILABLE)
        .values(status=LENT, job_id=job.id, lent_at=at, due_back_at=due, reminded_at=None,
                version=SpareUnit.version + 1, updated_at=now)
        .returning(SpareUnit.id).execution_options(synchronize_session=False))).first()
    if won is None:  # lent (or converted) by someone else, possibly a moment ago in a racing request
        await session.refresh(spare)
        raise Conflict(f"spare unit {spare.serial} is not available (it is {spare.status})", field=field,
                       code="spare_unavailable")
    session.add(SpareLoan(id=str(new_id()), spare_id=spare.id, job_id=job.id, lent_at=at, due_back_at=due))
    await session.flush()
    await session.refresh(spare)
    return spare


async def collect(session: AsyncSession, job: Job, *, condition: str, at: datetime, now: datetime) -> SpareUnit | None:
    """The spare lent to a locked job comes back in ``condition``: available again (in repair when faulty).
    None: the job holds no pool spare."""
    spare = await session.scalar(select(SpareUnit).where(SpareUnit.job_id == job.id, SpareUnit.status == LENT)
                                 .with_for_update())
    if spare is None:
        return None
    m = lifecycle.move(spare.status, lifecycle.collect_action(condition))
    loan = await _open_loan(session, spare)
    if loan is not None:
        loan.ended_at, loan.outcome, loan.condition_back = at, "collected", condition
    _end_loan(spare, lifecycle.target(m, spare.status), now)
    spare.condition = condition
    await session.flush()
    return spare


async def due_back_now(session: AsyncSession, job: Job, now: datetime) -> int:
    """R-S6: the job was cancelled, so the spare lent to it is due back now (its due-back time brought forward, never
    pushed back): it is on the overdue list at once and gets its once-per-loan reminder; the count of spares."""
    rows = (await session.execute(
        update(SpareUnit).where(SpareUnit.job_id == job.id, SpareUnit.status == LENT)
        .values(due_back_at=sa.func.least(SpareUnit.due_back_at, now), version=SpareUnit.version + 1, updated_at=now)
        .returning(SpareUnit.id).execution_options(synchronize_session=False))).all()
    if rows:
        await session.execute(update(SpareLoan).where(SpareLoan.job_id == job.id, SpareLoan.ended_at.is_(None))
                              .values(due_back_at=sa.func.least(SpareLoan.due_back_at, now)))
    return len(rows)


async def collect_ended(session: AsyncSession, spare_id: str, *, condition: str, visible: ColumnElement[bool],
                        now: datetime) -> SpareUnit:
    """Ops collect a spare lent to a job that ended without it (cancelled): it comes back in ``condition``
    (available again, in repair when faulty) and the job announces ``spare_unit_collected``. A spare of an open job
    comes back through the job's ``collect_spare`` action (409 naming ``spare_id``)."""
    spare = await session.scalar(select(SpareUnit).where(SpareUnit.id == spare_id, visible))
    if spare is None:
        raise NotFound(f"spare unit {spare_id} not found", field="spare_id")
    if spare.status != LENT or spare.job_id is None:
        raise Conflict(f"spare unit {spare.serial} is not lent (it is {spare.status})", field="spare_id",
                       code="no_spare_lent")
    job = await session.scalar(select(Job).where(Job.id == spare.job_id).with_for_update())
    assert job is not None
    if job.status in OPEN_STATUSES:
        raise Conflict(f"job {job.id} is still open: its engineer collects the spare (collect_spare)",
                       field="spare_id", code="job_open")
    got = await collect(session, job, condition=condition, at=now, now=now)
    if got is None:  # collected by a racing request a moment ago
        raise Conflict(f"spare unit {spare.serial} is not lent any more", field="spare_id", code="no_spare_lent")
    job.spare_collected_at = now
    await add_events(session, ev.SpareUnitCollected(aggregate_id=job.id, payload=job_payload(
        job, now, reason=got.serial)))
    return got


async def guard_close(session: AsyncSession, job: Job) -> None:
    """A job cannot close while a pool spare is out at its customer: 409 naming the spare, unless the spare is
    collected or converted (sold / written off) first."""
    spare = await session.scalar(select(SpareUnit).where(SpareUnit.job_id == job.id, SpareUnit.status == LENT))
    if spare is not None:
        raise Conflict(f"spare unit {spare.serial} ({spare.id}) is still out: collect it, or convert it (sold or "
                       f"written off) with a reason, before closing the job", field="spare_id",
                       code="spare_out", extra={"spare_id": spare.id, "serial": spare.serial})


# --- the reminder and the suggestion ------------------------------------------------------------

async def remind_overdue(session: AsyncSession, now: datetime, limit: int = OVERDUE_BATCH) -> int:
    """Each lent spare past its due-back time gets one ``dispatch.job.spare_unit_overdue`` (on its job), once per
    loan (``reminded_at``); ``FOR UPDATE SKIP LOCKED`` lets two replicas share the work, never the reminder."""
    rows = (await session.execute(
        select(SpareUnit, Job).join(Job, Job.id == SpareUnit.job_id)
        .where(SpareUnit.status == LENT, SpareUnit.due_back_at <= now, SpareUnit.reminded_at.is_(None))
        .order_by(SpareUnit.due_back_at).limit(limit).with_for_update(of=SpareUnit, skip_locked=True))).all()
    events = []
    for spare, job in rows:
        m = lifecycle.move(spare.status, "remind")
        spare.reminded_at = now
        await session.execute(update(SpareLoan).where(SpareLoan.spare_id == spare.id, SpareLoan.ended_at.is_(None))
                              .values(reminded_at=now))
        events += [cls(aggregate_id=job.id, payload=job_payload(
            job, now, reason=spare.serial, spare_id=spare.id, serial=spare.serial, due_back_at=spare.due_back_at))
            for cls in m.events]
    await session.flush()
    await add_events(session, *events)
    return len(rows)


async def suggestion(session: AsyncSession, cfg: DispatchConfig, job: Job, now: datetime,
                     limit: int = 5) -> SpareSuggestion:
    """Whether the job should get a spare now: its contract entitles one (the term ``spare_entitled`` in force today;
    where no change of the contract set it, ``sla_policies.spare_entitled``), its
    resolve deadline is at risk (``spare_lifecycle.resolve_at_risk``), it is open and holds none; then the
    available spares of its product line it may get, nearest centre first."""
    policy = await session.get(SlaPolicyRow, job.policy_id) if job.policy_id else None
    terms = await contracts.terms_on(session, contract_code=job.contract_code, on=clock.business_date(now),
                                     defaults=contracts.defaults_of(cfg))
    entitled = terms.spare_entitled if terms.spare_entitled is not None else bool(policy and policy.spare_entitled)
    at_risk = lifecycle.resolve_at_risk(job.warnings_sent, job.pauses, policy.resolve_minutes if policy else None,
                                        now, parts_wait_fraction=cfg.spare_parts_wait_fraction)
    out = await session.scalar(select(SpareUnit.id).where(SpareUnit.job_id == job.id, SpareUnit.status == LENT))
    suggested = entitled and at_risk is not None and out is None and job.status in OPEN_STATUSES
    spares: list[SpareRead] = []
    if suggested:
        rows = list((await session.execute(
            select(SpareUnit, ServiceCentre.lat, ServiceCentre.lon).join(
                ServiceCentre, ServiceCentre.id == SpareUnit.centre_id)
            .where(SpareUnit.status == AVAILABLE, SpareUnit.product_line == job.product_line,
                   sa.or_(SpareUnit.dealer_id.is_(None), SpareUnit.dealer_id == job.engineer_dealer_id)))).all())
        site = (job.lat, job.lon) if job.lat is not None and job.lon is not None else None
        rows.sort(key=lambda r: (haversine_km(site, (r.lat, r.lon)) if site else 0.0, r[0].serial))
        spares = [read(r[0], now) for r in rows[:limit]]
    return SpareSuggestion(job_id=job.id, product_line=job.product_line, entitled=entitled, at_risk=at_risk,
                           suggested=suggested, spare_out=out, spares=spares)
