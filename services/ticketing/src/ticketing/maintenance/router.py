"""HTTP for preventive maintenance (R-S10, issue 16 item 4): plans, occurrences, checklists (HTTP only)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.schemas import BusinessDate, Limit, Offset

from ..access import CanManagePmPlans, CanReadPm, CanRecordPm
from ..fields import Serial
from . import service
from .schemas import ChecklistIn, PmKind, PmOccurrenceRead, PmPlanPut, PmPlanRead, PmPlanVersionRead, PmStatus, Scope

router = APIRouter(tags=["preventive maintenance"])
Target = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                             description="the unit's serial (scope unit) or the contract code (scope contract)")]


@router.put("/v1/pm-plans/{scope}/{target}/{kind}", response_model=PmPlanRead,
            responses={404: {"description": "scope unit: no such unit (problem+json)"},
                       422: {"description": "effective_from before today (terms_backdated) or a bad value"}},
            summary="Set or change a unit's or contract's PM plan for one kind (admin, call_center): every N months "
                    "from effective_from, a window, generated lead_days ahead (R-S10); each change a new, audited "
                    "version from its date")
async def put_plan(scope: Scope, target: Target, kind: PmKind, body: PmPlanPut, session: DbSession,
                   p: CanManagePmPlans) -> Any:
    return await service.put_plan(session, scope=scope, target=target, kind=kind, body=body, actor=p.sub,
                                  today=clock.business_today(), now=clock.now())


@router.get("/v1/pm-plans/{scope}/{target}/{kind}/history", response_model=list[PmPlanVersionRead],
            responses={404: {"description": "no such plan (problem+json)"}},
            summary="Every version of a PM plan, oldest first: terms, from when, who and why (admin, call_center, "
                    "ops)")
async def plan_history(scope: Scope, target: Target, kind: PmKind, session: DbSession, p: CanReadPm) -> Any:
    return await service.plan_history(session, scope=scope, target=target, kind=kind)


@router.get("/v1/pm-plans/{scope}/{target}", response_model=list[PmPlanRead],
            summary="A unit's or contract's PM plans (admin, call_center, ops)")
async def list_plans(scope: Scope, target: Target, session: DbSession, p: CanReadPm) -> Any:
    return await service.list_plans(session, scope=scope, target=target)


@router.get("/v1/pm-occurrences", response_model=list[PmOccurrenceRead],
            summary="PM visits, inspections and calls, by window start (admin, call_center, ops); a call "
                    "occurrence is the call center's task")
async def list_occurrences(session: DbSession, p: CanReadPm, status: PmStatus | None = None,
                           kind: PmKind | None = None, serial: Serial | None = None,
                           due_before: Annotated[BusinessDate | None, Query(
                               description="windows opening before this business date")] = None,
                           limit: Limit = 100, offset: Offset = 0) -> Any:
    return await service.list_occurrences(session, status=status, kind=kind, serial=serial,
                                          due_before=due_before,
                                          limit=limit, offset=offset)


@router.post("/v1/pm-occurrences/{occurrence_id}/checklist", response_model=PmOccurrenceRead,
             responses={404: {"description": "no such occurrence (or not one the caller may act on)"},
                        409: {"description": "the occurrence's result is already recorded (problem+json)"}},
             summary="Record a PM occurrence's checklist result — the service record — and complete it "
                     "(call_center, admin; engineer: an occurrence whose ticket its job moved)")
async def record_checklist(occurrence_id: UUID, body: ChecklistIn, session: DbSession, p: CanRecordPm) -> Any:
    return await service.record_checklist(session, occurrence_id=occurrence_id, body=body, viewer=p,
                                          now=clock.now())
