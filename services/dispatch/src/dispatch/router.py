"""HTTP API: configuration (zones, calendars, policies, engineers), jobs, the field-engineer app, reports."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select

from aftersales_shared.app import DbSession
from aftersales_shared.auth import Principal, Role, require_roles
from aftersales_shared.errors import Forbidden, NotFound, Unprocessable

from . import service as svc
from .models import Engineer, Job, ServiceCentre, ServiceRecord, SlaCalendar, SlaPolicyRow, Zone
from .schemas import (
    ActionIn, AssignIn, CalendarUpsert, EngineerUpsert, JobRead, PolicyUpsert, ServiceCentreUpsert, ZoneUpsert,
)

router = APIRouter(prefix="/v1")
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER))]
Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.OPS))]
AnyJobReader = Annotated[Principal, Depends(require_roles(
    Role.ADMIN, Role.DISPATCHER, Role.OPS, Role.DEALER, Role.ENGINEER))]
EngineerP = Annotated[Principal, Depends(require_roles(Role.ENGINEER))]
RegionCode = Annotated[str, Query(pattern=r"^\d{6}$")]


def cfg(request: Request) -> svc.DispatchConfig:
    return request.app.state.dispatch_cfg


# --- configuration -----------------------------------------------------------------------------

@router.put("/zones/{region_code}", tags=["config"])
async def put_zone(region_code: str, body: ZoneUpsert, session: DbSession, _: Admin) -> dict:
    """Map an administrative region code to a zone class (and its centroid)."""
    if not region_code.isdigit() or len(region_code) != 6:
        raise Unprocessable("region_code is six digits", field="region_code")
    z = await session.get(Zone, region_code) or Zone(region_code=region_code)
    z.name, z.province_code, z.zone_class, z.lat, z.lon = body.name, region_code[:2], body.zone_class, body.lat, body.lon
    session.add(z)
    return {"region_code": region_code, **body.model_dump()}


@router.put("/service-centres/{centre_id}", tags=["config"])
async def put_centre(centre_id: str, body: ServiceCentreUpsert, session: DbSession, _: Admin) -> dict:
    """A service centre with coordinates."""
    c = await session.get(ServiceCentre, centre_id) or ServiceCentre(id=centre_id[:40])
    for k, v in body.model_dump().items():
        setattr(c, k, v)
    session.add(c)
    return {"id": c.id, **body.model_dump()}


@router.put("/sla/calendars/{code}", tags=["config"])
async def put_calendar(code: str, body: CalendarUpsert, session: DbSession, _: Admin) -> dict:
    """Create or change a calendar; open jobs on it get new deadlines in the same transaction."""
    if len(code) > 40:
        raise Unprocessable("code is at most 40 characters", field="code")
    now = svc.utcnow()
    c = await session.get(SlaCalendar, code) or SlaCalendar(code=code)
    c.tz, c.always_open, c.use_statutory = body.tz, body.always_open, body.use_statutory
    c.intervals, c.weekdays = [list(i) for i in body.intervals], body.weekdays
    c.overrides, c.updated_at = {d.isoformat(): v for d, v in body.overrides.items()}, now
    session.add(c)
    await session.flush()
    n = await svc.recompute_open(session, now, calendar_code=code)
    return {"code": code, "recomputed_jobs": n}


@router.put("/sla/policies", tags=["config"])
async def put_policy(body: PolicyUpsert, session: DbSession, _: Admin) -> dict:
    """Create or change the policy of (contract, zone class); open jobs are recomputed."""
    if await session.get(SlaCalendar, body.calendar_code) is None:
        raise Unprocessable("unknown calendar", field="calendar_code")
    now = svc.utcnow()
    contract = body.contract_code or ""
    row = await session.scalar(select(SlaPolicyRow).where(
        SlaPolicyRow.contract_code == contract, SlaPolicyRow.zone_class == body.zone_class))
    if row is None:
        row = SlaPolicyRow(id=f"{contract or 'default'}-{body.zone_class}"[:40], contract_code=contract,
                           zone_class=body.zone_class)
    for k, v in body.model_dump(exclude={"contract_code"}).items():
        setattr(row, k, v)
    row.updated_at = now
    session.add(row)
    await session.flush()
    n = await svc.recompute_open(session, now, zone_class=body.zone_class)
    return {"id": row.id, "recomputed_jobs": n}


@router.get("/sla/policies", tags=["config"])
async def list_policies(session: DbSession, _: Reader) -> list[dict]:
    rows = (await session.scalars(select(SlaPolicyRow).order_by(SlaPolicyRow.contract_code,
                                                                SlaPolicyRow.zone_class))).all()
    return [{"id": r.id, "contract_code": r.contract_code or None, "zone_class": r.zone_class,
             "calendar_code": r.calendar_code, "respond_minutes": r.respond_minutes,
             "arrive_minutes": r.arrive_minutes, "resolve_minutes": r.resolve_minutes,
             "resolve_from": r.resolve_from, "warn_fractions": r.warn_fractions} for r in rows]


@router.put("/engineers/{engineer_id}", tags=["engineers"])
async def put_engineer(engineer_id: str, body: EngineerUpsert, session: DbSession, _: Admin) -> dict:
    """Create or update an engineer (skills per product line, zones, shifts, absences, capacity)."""
    if len(engineer_id) > 40:
        raise Unprocessable("engineer id is at most 40 characters", field="engineer_id")
    e = await session.get(Engineer, engineer_id)
    if e is None:
        e = Engineer(id=engineer_id, active_jobs=0)
    data = body.model_dump(mode="json", by_alias=True)
    for k, v in data.items():
        setattr(e, k, v)
    session.add(e)
    await session.flush()
    return {"id": engineer_id, **data}


@router.get("/engineers", tags=["engineers"])
async def list_engineers(session: DbSession, p: AnyJobReader, limit: int = Query(100, ge=1, le=1000),
                         offset: int = Query(0, ge=0)) -> list[dict]:
    q = select(Engineer).order_by(Engineer.id).limit(limit).offset(offset)
    if p.has(Role.ENGINEER) and not p.has(Role.ADMIN, Role.DISPATCHER, Role.OPS):
        q = q.where(Engineer.id == (p.engineer_id or ""))
    elif p.has(Role.DEALER) and not p.has(Role.ADMIN, Role.DISPATCHER, Role.OPS):
        q = q.where(Engineer.dealer_id == (p.dealer_id or ""))
    return [{"id": e.id, "name": e.name, "employer": e.employer, "dealer_id": e.dealer_id, "skills": e.skills,
             "zones": e.zones, "max_jobs": e.max_jobs, "active_jobs": e.active_jobs, "active": e.active,
             "last_lat": e.last_lat, "last_lon": e.last_lon} for e in (await session.scalars(q)).all()]


# --- jobs ----------------------------------------------------------------------------------------

def _scope(q, p: Principal):  # noqa: ANN001, ANN202
    """Engineers see their own jobs, dealers their engineers' jobs; dispatch/admin/ops see all."""
    if p.has(Role.ADMIN, Role.DISPATCHER, Role.OPS):
        return q
    if p.has(Role.DEALER) and p.dealer_id:
        return q.where(Job.engineer_dealer_id == p.dealer_id)
    if p.has(Role.ENGINEER) and p.engineer_id:
        return q.where(Job.engineer_id == p.engineer_id)
    raise Forbidden("the token names neither a dealer nor an engineer")


@router.get("/jobs", tags=["jobs"], response_model=list[JobRead])
async def list_jobs(session: DbSession, p: AnyJobReader,
                    status: Annotated[str | None, Query(max_length=16)] = None,
                    engineer_id: Annotated[str | None, Query(max_length=40)] = None,
                    ticket_id: Annotated[str | None, Query(max_length=40)] = None,
                    limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0)) -> list[JobRead]:
    q = _scope(select(Job), p).order_by(Job.opened_at.desc()).limit(limit).offset(offset)
    if status:
        q = q.where(Job.status == status)
    if engineer_id:
        q = q.where(Job.engineer_id == engineer_id)
    if ticket_id:
        q = q.where(Job.ticket_id == ticket_id)
    return [JobRead.of(j) for j in (await session.scalars(q)).all()]


@router.get("/me/jobs", tags=["app"], response_model=list[JobRead])
async def my_jobs(session: DbSession, p: EngineerP, include_closed: bool = False) -> list[JobRead]:
    """The calling engineer's jobs (open ones unless include_closed)."""
    if not p.engineer_id:
        raise Forbidden("the token carries no engineer_id")
    q = select(Job).where(Job.engineer_id == p.engineer_id).order_by(Job.arrive_due)
    if not include_closed:
        q = q.where(Job.status.in_(svc.OPEN_STATUSES))
    return [JobRead.of(j) for j in (await session.scalars(q)).all()]


@router.get("/queue", tags=["jobs"], response_model=list[JobRead])
async def queue(session: DbSession, _: Reader, limit: int = Query(100, ge=1, le=500)) -> list[JobRead]:
    """Jobs waiting for an engineer, most urgent first."""
    q = select(Job).where(Job.status == "queued").order_by(Job.arrive_due).limit(limit)
    return [JobRead.of(j) for j in (await session.scalars(q)).all()]


@router.get("/jobs/{job_id}", tags=["jobs"])
async def get_job(job_id: str, session: DbSession, p: AnyJobReader) -> dict:
    """Job detail: customer contact, SLA deadlines, the service record once completed."""
    job = await session.scalar(_scope(select(Job).where(Job.id == job_id[:40]), p))
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    out = JobRead.of(job).model_dump(mode="json")
    rec = await session.get(ServiceRecord, job.id)
    out["service_record"] = None if rec is None else {
        "work_done": rec.work_done, "root_cause": rec.root_cause, "parts_used": rec.parts_used,
        "labour_minutes": rec.labour_minutes, "customer_name": rec.customer_name,
        "signature_ref": rec.signature_ref, "photos": rec.photos, "remote": rec.remote,
        "completed_at": rec.completed_at.isoformat()}
    return out


@router.post("/jobs/{job_id}/actions", tags=["app"])
async def job_action(job_id: str, body: ActionIn, session: DbSession, p: EngineerP, request: Request,
                     response: Response) -> dict:
    """One app action (accept, decline, depart, arrive, pause, resume, remote_resolve, lend/collect spare,
    complete). A repeated client_action_id is a no-op returning the first result."""
    if not p.engineer_id:
        raise Forbidden("the token carries no engineer_id")
    svc.ensure_record(body)
    result, replayed = await svc.perform_action(session, cfg(request), job_id[:40], p.engineer_id, body,
                                                svc.utcnow())
    response.headers["Idempotent-Replayed"] = "true" if replayed else "false"
    return result


@router.post("/jobs/{job_id}/assign", tags=["jobs"], response_model=JobRead)
async def assign(job_id: str, body: AssignIn, session: DbSession, _: Admin, request: Request) -> JobRead:
    """Manual assignment by a dispatcher."""
    job = await svc.manual_assign(session, cfg(request), job_id[:40], body.engineer_id, svc.utcnow())
    return JobRead.of(job)


# --- reports -------------------------------------------------------------------------------------

Dimension = Literal["zone_class", "contract", "dealer", "engineer", "day", "month"]


@router.get("/reports/sla-attainment", tags=["reports"])
async def sla_attainment(
    session: DbSession, p: Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.OPS,
                                                                       Role.DEALER))],
    date_from: date, date_to: date, by: Dimension = "zone_class",
) -> dict:
    """Share of milestones met, by milestone and one dimension, over jobs opened in [from, to]."""
    if date_to < date_from or (date_to - date_from).days > 366:
        raise Unprocessable("date_to must follow date_from within a year", field="date_to")
    start = datetime.combine(date_from, time(0), tzinfo=timezone.utc)
    end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=timezone.utc)
    q = select(Job.zone_class, Job.contract_code, Job.engineer_dealer_id, Job.engineer_id, Job.opened_at,
               Job.sla_met, Job.warnings_sent).where(Job.opened_at >= start, Job.opened_at < end)
    if not p.has(Role.ADMIN, Role.DISPATCHER, Role.OPS):
        q = q.where(Job.engineer_dealer_id == (p.dealer_id or "-"))
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for zc, contract, dealer, eng, opened, met, warned in (await session.execute(q)).all():
        key = {"zone_class": zc, "contract": contract or "default", "dealer": dealer or "manufacturer",
               "engineer": eng or "unassigned", "day": opened.date().isoformat(),
               "month": opened.strftime("%Y-%m")}[by]
        for m in svc.MILESTONE_NAMES:
            if m in met:
                tally[(m, key)][0 if met[m] else 1] += 1
            elif f"{m}:breach" in warned:
                tally[(m, key)][1] += 1  # still open but already late: counts as missed
    rows = [{"milestone": m, by: k, "met": a, "missed": b, "attainment": round(a / (a + b), 4)}
            for (m, k), (a, b) in sorted(tally.items())]
    return {"by": by, "date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "rows": rows}
