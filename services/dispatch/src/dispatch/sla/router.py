"""HTTP API of the SLA configuration: zones, service centres, calendars, policies (HTTP only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from aftersales_shared import clock
from aftersales_shared.app import DbSession

from ..access import CanConfigureDispatch, CanReadDispatchConfig
from ..fields import Id, RegionCode
from . import service
from .schemas import (
    CalendarSaved,
    CalendarUpsert,
    PolicyRead,
    PolicySaved,
    PolicyUpsert,
    ServiceCentreRead,
    ServiceCentreUpsert,
    ZoneRead,
    ZoneUpsert,
)

router = APIRouter(prefix="/v1", tags=["config"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid token"}, 403: {"description": "role not allowed"},
    422: {"description": "invalid body or path (problem+json names the field)"},
}


@router.put("/zones/{region_code}", response_model=ZoneRead, responses=ERRORS)
async def put_zone(region_code: Annotated[RegionCode, Path()], body: ZoneUpsert, session: DbSession,
                   _: CanConfigureDispatch) -> ZoneRead:
    """Map an administrative region code to a zone class (and its centroid)."""
    return ZoneRead.model_validate(await service.upsert_zone(session, region_code=region_code, body=body))


@router.put("/service-centres/{centre_id}", response_model=ServiceCentreRead, responses=ERRORS)
async def put_centre(centre_id: Annotated[Id, Path()], body: ServiceCentreUpsert, session: DbSession,
                     _: CanConfigureDispatch) -> ServiceCentreRead:
    """A service centre with coordinates."""
    return ServiceCentreRead.model_validate(await service.upsert_centre(session, centre_id=centre_id, body=body))


@router.put("/sla/calendars/{code}", response_model=CalendarSaved, responses=ERRORS)
async def put_calendar(code: Annotated[Id, Path()], body: CalendarUpsert, session: DbSession,
                       _: CanConfigureDispatch) -> CalendarSaved:
    """Create or change a calendar; open jobs on it get new deadlines in the same transaction."""
    n = await service.upsert_calendar(session, code=code, body=body, now=clock.now())
    return CalendarSaved(code=code, recomputed_jobs=n)


@router.put("/sla/policies", response_model=PolicySaved, responses=ERRORS)
async def put_policy(body: PolicyUpsert, session: DbSession, _: CanConfigureDispatch) -> PolicySaved:
    """Create or change the policy of (contract, zone class); open jobs are recomputed."""
    row, n = await service.upsert_policy(session, body=body, now=clock.now())
    return PolicySaved(id=row.id, recomputed_jobs=n)


@router.get("/sla/policies", response_model=list[PolicyRead], responses=ERRORS)
async def list_policies(session: DbSession, _: CanReadDispatchConfig) -> list[PolicyRead]:
    return [PolicyRead.model_validate(r) for r in await service.list_policies(session)]
