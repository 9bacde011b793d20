"""Who may call what (role aliases named by what they allow) and who sees which rows (the scope, once).

Scopes (``aftersales_shared.auth.scope_of``): staff see every job and engineer; a dealer sees the jobs of its
own engineers and those engineers; an engineer sees its own jobs and itself. A dealer token without
``dealer_id`` or an engineer token without ``engineer_id`` is refused (403).

Personal data (R-T7, ``aftersales_shared.pii``): :func:`sees_customer` decides, for every response that shows a
job's customer name, phone or address, whether the caller sees them in clear.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends
from sqlalchemy.orm import InstrumentedAttribute

from aftersales_shared.auth import Principal, Role, require_roles, scope_of
from aftersales_shared.errors import Forbidden
from aftersales_shared.pii import sees_contact

from .models import Engineer, Job, SpareUnit

CanConfigureDispatch = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER))]
"""Zones, service centres, SLA calendars and policies, engineers."""
CanAssignJobs = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER))]
"""Manual assignment of a job to an engineer."""
CanReadDispatchConfig = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.OPS))]
"""SLA policies and the queue of unassigned jobs."""
CanReadJobs = Annotated[Principal, Depends(require_roles(
    Role.ADMIN, Role.DISPATCHER, Role.OPS, Role.DEALER, Role.ENGINEER))]
"""Jobs and engineers, narrowed to the caller's scope."""
CanActAsEngineer = Annotated[Principal, Depends(require_roles(Role.ENGINEER))]
"""The engineer app: own jobs, actions on them."""
CanPlanRoutes = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER))]
"""Request and publish zone-day plans; a job's planning data (window, duration, skills, cost, pin)."""
CanReadPlans = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.OPS))]
"""Plans: routes, unplanned jobs, score; the service-duration table."""
CanBookAppointments = Annotated[Principal, Depends(require_roles(
    Role.ADMIN, Role.DISPATCHER, Role.CALL_CENTER, Role.NOTIFIER))]
"""A job's appointment slots and booking one (the call center, and the notifications service for the customer)."""
CanReadEngineer = Annotated[Principal, Depends(require_roles(
    Role.ADMIN, Role.DISPATCHER, Role.OPS, Role.DEALER, Role.ENGINEER, Role.NOTIFIER))]
"""One engineer: scoped like the engineers list; the notifications service reads any (display name only)."""
CanRecordAbsences = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER))]
"""An engineer's absence (re-plans the zone-days it touches)."""
CanReadSlaReports = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.OPS, Role.DEALER))]
"""SLA attainment; a dealer's report covers its own engineers' jobs."""
CanRecordJobPayment = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.ENGINEER))]
"""A paid repair's payment (issue 15): the engineer holding the job on site, or dispatch staff."""
CanReadRateCards = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.OPS, Role.ENGINEER))]
"""A product line's paid-repair rate card (issue 15): staff, and the engineers who quote by it."""
CanReadRepairReports = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.OPS))]
"""Paid-repair revenue (issue 15)."""
CanManageSpares = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.DEALER))]
"""Register a spare unit into a service centre's pool (a dealer: into its own centres only)."""
CanReadSpares = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.OPS, Role.DEALER))]
"""Spare units and the overdue list (R-S6); a dealer sees its own centres' spares."""
CanConvertSpares = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER))]
"""Convert a spare unit (sold to the customer, or written off) with a reason."""
CanManageContractTerms = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPS))]
"""Change a customer service contract's terms from a date (issue 16: the service manager, ops)."""
CanReadContractTerms = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.OPS,
                                                                  Role.FINANCE))]
"""A customer contract's terms in force and their history."""
CanReadContractCredits = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.OPS,
                                                                    Role.FINANCE))]
"""R-S9: a customer contract's credits."""
CanWaiveContractCredits = Annotated[Principal, Depends(require_roles(Role.FINANCE))]
"""R-S9: waive a customer contract's credit (a finance decision)."""
CanRecordThirdPartyCosts = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.FINANCE))]
"""R-S9: a job's third-party repair cost, recorded by the owner (the manufacturer's staff)."""
CanReadRetentionRuns = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPS))]
"""R-T4: the retention job's runs (what it archived)."""


def _visible(principal: Principal, *, engineer_col: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
             dealer_col: InstrumentedAttribute[str | None]) -> sa.ColumnElement[bool]:
    """The caller's scope as a WHERE clause over a table's engineer and dealer columns."""
    scope = scope_of(principal)
    if scope.kind == "staff":
        return sa.true()
    if scope.kind == "dealer":
        return dealer_col == scope.dealer_id
    return engineer_col == scope.engineer_id


def visible_jobs(principal: Principal) -> sa.ColumnElement[bool]:
    """Jobs the caller may see: its own (engineer), its engineers' (dealer), all (staff)."""
    return _visible(principal, engineer_col=Job.engineer_id, dealer_col=Job.engineer_dealer_id)


def visible_engineers(principal: Principal) -> sa.ColumnElement[bool]:
    """Engineers the caller may see: itself (engineer), its own (dealer), all (staff)."""
    return _visible(principal, engineer_col=Engineer.id, dealer_col=Engineer.dealer_id)


def visible_engineer(principal: Principal) -> sa.ColumnElement[bool]:
    """One engineer: the notifications service (no scope of its own) may read any; others by their scope."""
    if Role.NOTIFIER in principal.roles and not principal.roles & {Role.ADMIN, Role.DISPATCHER, Role.OPS,
                                                                   Role.DEALER, Role.ENGINEER}:
        return sa.true()
    return visible_engineers(principal)


def visible_spares(principal: Principal) -> sa.ColumnElement[bool]:
    """Spare units the caller may see: its own centres' (dealer), all (staff), none by listing (engineer: the
    spare-unit suggestion of its job names those it may lend)."""
    scope = scope_of(principal)
    if scope.kind == "staff":
        return sa.true()
    if scope.kind == "dealer":
        return SpareUnit.dealer_id == scope.dealer_id
    return sa.false()


def engineer_id_of(principal: Principal) -> str:
    """The calling engineer's id (403 when the token names none)."""
    if not principal.engineer_id:
        raise Forbidden("an engineer token must carry engineer_id", field="engineer_id")
    return principal.engineer_id


def sees_customer(principal: Principal, job: Job) -> bool:
    """Whether the caller sees the job's customer contact in clear: dispatchers, admins (and the call center),
    and the engineer who holds the job; everyone else (ops, dealers, other engineers) sees it masked."""
    holds = principal.engineer_id is not None and job.engineer_id == principal.engineer_id
    return sees_contact(principal, is_assignee=holds)
