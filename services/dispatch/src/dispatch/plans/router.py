"""HTTP API of planning (issue 14): a job's planning data, service durations, the parts a fault class needs and
what vans and service centres hold, zone-day plans, publishing, and the engineer's route for a day (HTTP only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.schemas import BusinessDate

from ..access import (
    CanActAsEngineer,
    CanConfigureDispatch,
    CanPlanRoutes,
    CanReadJobs,
    CanReadPlans,
    engineer_id_of,
    visible_jobs,
)
from ..config import DispatchConfig
from ..fields import Id
from ..models import Job, PlanStop
from . import durations, service, stock, tools
from .schemas import (
    CentreStockRead,
    DurationRead,
    DurationUpsert,
    EngineerToolsRead,
    FaultClassPartsRead,
    FaultClassToolsRead,
    JobPlanningRead,
    JobPlanningUpdate,
    MyRouteRead,
    MyStopRead,
    PartsPut,
    PlanRead,
    PlanRequest,
    PlanScore,
    PlanSummary,
    PublishRead,
    RouteRead,
    SkippedRead,
    StockPut,
    StopRead,
    ToolsPut,
    UnplannedRead,
    VanStockRead,
)

router = APIRouter(prefix="/v1", tags=["plans"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid token"}, 403: {"description": "role not allowed"},
    422: {"description": "invalid body, path or query (problem+json names the field)"},
}
JOB_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 404: {"description": "no such job in the caller's scope"},
    409: {"description": "the job is closed"},
    422: {"description": "invalid body, or the pinned engineer does not exist (problem+json names the field)"}}
PLAN_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 404: {"description": "no such plan"}}
PUBLISH_ERRORS: dict[int | str, dict[str, Any]] = {
    **PLAN_ERRORS, 409: {"description": "the plan is not done (requested, running, failed or already published)"}}

ENGINEER_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 404: {"description": "no such engineer"}}
CENTRE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 404: {"description": "no such service centre"}}

PlanId = Annotated[Id, Path()]
JobId = Annotated[Id, Path()]
EngineerId = Annotated[Id, Path()]
CentreId = Annotated[Id, Path()]
ProductLine = Annotated[Id, Path()]
FaultClass = Annotated[Id, Path()]


def cfg(request: Request) -> DispatchConfig:
    config: DispatchConfig = request.app.state.dispatch_cfg
    return config


@router.get("/jobs/{job_id}/planning", response_model=JobPlanningRead, responses=JOB_ERRORS)
async def get_job_planning(job_id: JobId, session: DbSession, p: CanReadJobs, request: Request) -> JobPlanningRead:
    """What a plan needs of the job (window, service minutes, skills, cost of not serving, pin), defaults filled."""
    job = await service.visible_job(session, job_id=job_id, visible=visible_jobs(p))
    return await service.job_planning(session, cfg(request), job)


@router.patch("/jobs/{job_id}/planning", response_model=JobPlanningRead, responses=JOB_ERRORS)
async def patch_job_planning(job_id: JobId, body: JobPlanningUpdate, session: DbSession, _: CanPlanRoutes,
                             request: Request) -> JobPlanningRead:
    """Change a job's planning data (only the fields sent; ``null`` = back to the default). A pin binds the job
    to that engineer in every plan and publication."""
    return await service.update_job_planning(session, cfg(request), job_id=job_id, body=body, now=clock.now())


@router.put("/service-durations", response_model=DurationRead, responses=ERRORS)
async def put_duration(body: DurationUpsert, session: DbSession, _: CanConfigureDispatch) -> DurationRead:
    """Expected service minutes by product line x fault class (null fault class = the line's default) x skill
    level (null = any level); with ``override`` the value wins over the one learned from completed jobs."""
    row = await service.upsert_duration(session, body=body, now=clock.now())
    view = next(v for v in await durations.table(session)
                if (v.product_line, v.fault_class, v.skill_level) == (row.product_line, row.fault_class,
                                                                      row.skill_level))
    return DurationRead.of(view)


@router.get("/service-durations", response_model=list[DurationRead], responses=ERRORS)
async def list_durations(session: DbSession, _: CanReadPlans) -> list[DurationRead]:
    """Configured and learned durations (learned minutes, sample count) and what a plan uses (``effective``)."""
    return [DurationRead.of(v) for v in await durations.table(session)]


@router.put("/fault-classes/{product_line}/{fault_class}/parts", response_model=FaultClassPartsRead,
            responses=ERRORS)
async def put_fault_class_parts(product_line: ProductLine, fault_class: FaultClass, body: PartsPut,
                                session: DbSession, _: CanConfigureDispatch) -> FaultClassPartsRead:
    """The parts a job of this product line x fault class is expected to need (replaces the list); a plan serves
    them from the engineer's van, or plans a restock stop at a service centre that holds them."""
    parts = await stock.put_fault_class_parts(session, product_line=product_line, fault_class=fault_class,
                                              parts=body.parts, now=clock.now())
    return FaultClassPartsRead(product_line=product_line, fault_class=fault_class, parts=parts)


@router.get("/fault-classes/{product_line}/{fault_class}/parts", response_model=FaultClassPartsRead,
            responses=ERRORS)
async def get_fault_class_parts(product_line: ProductLine, fault_class: FaultClass, session: DbSession,
                                _: CanReadPlans) -> FaultClassPartsRead:
    """The parts a job of this product line x fault class is expected to need (``{}``: none configured)."""
    parts = await stock.fault_class_parts(session, product_line=product_line, fault_class=fault_class)
    return FaultClassPartsRead(product_line=product_line, fault_class=fault_class, parts=parts)


@router.put("/fault-classes/{product_line}/{fault_class}/tools", response_model=FaultClassToolsRead,
            responses=ERRORS)
async def put_fault_class_tools(product_line: ProductLine, fault_class: FaultClass, body: ToolsPut,
                                session: DbSession, _: CanConfigureDispatch) -> FaultClassToolsRead:
    """The tools a job of this product line x fault class needs (replaces the set): only an engineer carrying
    every one may serve it, in a plan or a live insertion."""
    got = await tools.put_fault_class_tools(session, product_line=product_line, fault_class=fault_class,
                                            tools=body.tools, now=clock.now())
    return FaultClassToolsRead(product_line=product_line, fault_class=fault_class, tools=got)


@router.get("/fault-classes/{product_line}/{fault_class}/tools", response_model=FaultClassToolsRead,
            responses=ERRORS)
async def get_fault_class_tools(product_line: ProductLine, fault_class: FaultClass, session: DbSession,
                                _: CanReadPlans) -> FaultClassToolsRead:
    """The tools a job of this product line x fault class needs (``[]``: none configured)."""
    got = await tools.fault_class_tools(session, product_line=product_line, fault_class=fault_class)
    return FaultClassToolsRead(product_line=product_line, fault_class=fault_class, tools=got)


@router.put("/engineers/{engineer_id}/tools", response_model=EngineerToolsRead, responses=ENGINEER_ERRORS)
async def put_engineer_tools(engineer_id: EngineerId, body: ToolsPut, session: DbSession,
                             _: CanConfigureDispatch) -> EngineerToolsRead:
    """The tools the engineer carries (replaces the set)."""
    got = await tools.put_engineer_tools(session, engineer_id=engineer_id, tools=body.tools)
    return EngineerToolsRead(engineer_id=engineer_id, tools=got)


@router.get("/engineers/{engineer_id}/tools", response_model=EngineerToolsRead, responses=ENGINEER_ERRORS)
async def get_engineer_tools(engineer_id: EngineerId, session: DbSession, _: CanReadPlans) -> EngineerToolsRead:
    """The tools the engineer carries."""
    return EngineerToolsRead(engineer_id=engineer_id,
                             tools=await tools.engineer_tools(session, engineer_id=engineer_id))


@router.put("/engineers/{engineer_id}/van-stock", response_model=VanStockRead, responses=ENGINEER_ERRORS)
async def put_van_stock(engineer_id: EngineerId, body: StockPut, session: DbSession,
                        _: CanConfigureDispatch) -> VanStockRead:
    """What the engineer's van holds ``{part_no: qty}`` (replaces the stock)."""
    parts = await stock.put_van_stock(session, engineer_id=engineer_id, parts=body.parts, now=clock.now())
    return VanStockRead(engineer_id=engineer_id, parts=parts)


@router.get("/engineers/{engineer_id}/van-stock", response_model=VanStockRead, responses=ENGINEER_ERRORS)
async def get_van_stock(engineer_id: EngineerId, session: DbSession, _: CanReadPlans) -> VanStockRead:
    """What the engineer's van holds."""
    return VanStockRead(engineer_id=engineer_id, parts=await stock.get_van_stock(session, engineer_id=engineer_id))


@router.put("/service-centres/{centre_id}/stock", response_model=CentreStockRead, responses=CENTRE_ERRORS)
async def put_centre_stock(centre_id: CentreId, body: StockPut, session: DbSession,
                           _: CanConfigureDispatch) -> CentreStockRead:
    """What the service centre holds ``{part_no: qty}`` (replaces the stock): a route of its zone may stop there
    to restock."""
    parts = await stock.put_centre_stock(session, centre_id=centre_id, parts=body.parts, now=clock.now())
    return CentreStockRead(centre_id=centre_id, parts=parts)


@router.get("/service-centres/{centre_id}/stock", response_model=CentreStockRead, responses=CENTRE_ERRORS)
async def get_centre_stock(centre_id: CentreId, session: DbSession, _: CanReadPlans) -> CentreStockRead:
    """What the service centre holds."""
    return CentreStockRead(centre_id=centre_id, parts=await stock.get_centre_stock(session, centre_id=centre_id))


def _summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "zone": row.zone, "date": row.day, "version": row.version, "status": row.status,
            "time_limit_s": row.time_limit_s, "created_at": row.created_at, "started_at": row.started_at,
            "finished_at": row.finished_at, "published_at": row.published_at, "error": row.error}


@router.post("/plans", status_code=202, response_model=PlanSummary, responses={
    **ERRORS, 202: {"description": "the plan of the zone-day: a new version, requested, or the one already "
                                   "requested or running (same id)"},
    422: {"description": "invalid body, or the date is over (problem+json names the field)"}})
async def request_plan(body: PlanRequest, session: DbSession, p: CanPlanRoutes, request: Request) -> PlanSummary:
    """Plan a zone for a date: answered at once (202) with the plan id; a planner worker plans it
    (``GET /v1/plans/{id}`` until ``done`` or ``failed``). One requested/running plan per zone-day."""
    row, _created = await service.request_plan(session, cfg(request), zone=body.zone, day=body.date,
                                               requested_by=p.sub[:100], now=clock.now(), today=clock.business_today())
    return PlanSummary(**_summary(row))


@router.get("/plans/{plan_id}", response_model=PlanRead, responses=PLAN_ERRORS)
async def get_plan(plan_id: PlanId, session: DbSession, _: CanReadPlans) -> PlanRead:
    """The plan: status, score, routes (engineer, ordered stops with planned arrival/start/end and the window;
    ``kind: restock`` stops at a service centre to restock the van), unplanned jobs with the reason."""
    row, routes, stops, unplanned = await service.get_plan(session, plan_id)
    by_eng: dict[str, list[StopRead]] = {}
    for s in stops:
        by_eng.setdefault(s.engineer_id, []).append(StopRead(
            position=s.position, job_id=s.job_id, planned_arrival=s.planned_arrival, planned_start=s.planned_start,
            planned_end=s.planned_end, window_start=s.window_start, window_end=s.window_end,
            window_met=s.window_met, started=s.started))
    for x in await service.plan_restocks(session, plan_id):
        by_eng.setdefault(x.engineer_id, []).append(StopRead(
            position=x.position, kind="restock", job_id=None, centre_id=x.centre_id,
            planned_arrival=x.planned_arrival, planned_start=x.planned_start, planned_end=x.planned_end,
            window_start=None, window_end=None, window_met=True, started=False))
    for ss in by_eng.values():
        ss.sort(key=lambda x: x.position)
    return PlanRead(
        **_summary(row), score=PlanScore(**row.score) if row.score else None,
        routes=[RouteRead(engineer_id=x.engineer_id, depart_at=x.depart_at, return_at=x.return_at,
                          distance_m=x.distance_m, travel_s=x.travel_s, stops=by_eng.get(x.engineer_id, []))
                for x in routes],
        unplanned=[UnplannedRead(job_id=u.job_id, reason=u.reason, detail=u.detail) for u in unplanned])


@router.post("/plans/{plan_id}/publish", response_model=PublishRead, responses=PUBLISH_ERRORS)
async def publish_plan(plan_id: PlanId, session: DbSession, _: CanPlanRoutes, request: Request) -> PublishRead:
    """Assign the planned jobs to the planned engineers with the planned arrival times (started jobs never
    move; pins are kept) and emit ``dispatch.plan.published``."""
    row, assigned, kept, skipped = await service.publish(session, cfg(request), plan_id=plan_id, now=clock.now())
    return PublishRead(plan_id=row.id, status=row.status, assigned=assigned, kept=kept,
                       skipped=[SkippedRead(job_id=j, reason=why) for j, why in skipped])


@router.get("/me/route", tags=["app"], response_model=MyRouteRead, responses=ERRORS)
async def my_route(session: DbSession, p: CanActAsEngineer, request: Request,
                   date: Annotated[BusinessDate | None, Query(description="default: today")] = None) -> MyRouteRead:
    """The calling engineer's route for the day, in planned order (from the published plans, then what live
    insertion added: ``plan_id`` null): the jobs it holds and the restock stops at service centres
    (``kind: restock``)."""
    me = engineer_id_of(p)
    day = date or clock.business_today()
    stops = await service.engineer_route(session, cfg(request), engineer_id=me, day=day)
    out = []
    for i, (s, x) in enumerate(stops):
        if isinstance(x, Job):
            assert isinstance(s, PlanStop | service.LiveStop)
            out.append(MyStopRead(
                position=i, job_id=x.id, ticket_no=x.ticket_no, status=x.status, plan_id=s.plan_id,
                planned_arrival=s.planned_arrival, planned_start=s.planned_start, planned_end=s.planned_end,
                latest_start=s.window_end, lat=x.lat, lon=x.lon))
        else:
            out.append(MyStopRead(
                position=i, kind="restock", job_id=None, ticket_no=None, status=None, centre_id=x.id,
                centre_name=x.name, plan_id=s.plan_id, planned_arrival=s.planned_arrival,
                planned_start=s.planned_start, planned_end=s.planned_end, latest_start=None, lat=x.lat, lon=x.lon))
    return MyRouteRead(engineer_id=me, date=day, stops=out)
