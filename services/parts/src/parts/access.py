"""Who may do what in parts, and who sees which rows.

Role aliases are named by what they allow; routes take them as a parameter (``_p: CanMoveStock``). Several
aliases have the same role set today (the parts clerk runs the warehouse), but each names one permission,
so a change of who may ship does not silently change who may edit the catalogue.

Who sees which rows is written once, in :func:`visible`: the caller's shared ``scope_of`` (staff, dealer,
engineer) turned into a WHERE clause over a parts table. Every listing and every single-row read or write that
is scoped (requests, returns, warehouses and their stock) filters with it; a row outside the scope is "not
found". Figures asked for by dealer id (parts budget, base stock) go through :func:`dealer_in_scope`.

Which job or ticket a new part request may name is :func:`may_name_job` / :func:`may_name_ticket` (issue 13):
a delivered part resumes the named job in dispatch, so a reference is a write on another service's aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends

from aftersales_shared.auth import Principal, Role, Scope, require_roles, scope_of
from aftersales_shared.errors import Conflict, Forbidden, Unprocessable

from . import models

R = Role

CanReadCatalogue = Annotated[Principal, Depends(require_roles(
    R.PARTS_CLERK, R.ADMIN, R.OPS, R.DEALER, R.ENGINEER, R.FINANCE, R.DISPATCHER, R.CALL_CENTER))]
CanEditCatalogue = Annotated[Principal, Depends(require_roles(R.PARTS_CLERK, R.ADMIN))]
CanRepublishCatalogue = Annotated[Principal, Depends(require_roles(R.ADMIN))]
"""Announce the whole catalogue again (issue 15), for a consumer that started after the parts were created."""
CanManageWarehouses = Annotated[Principal, Depends(require_roles(R.PARTS_CLERK, R.ADMIN))]
CanReadStock = Annotated[Principal, Depends(require_roles(R.PARTS_CLERK, R.ADMIN, R.OPS, R.DEALER, R.ENGINEER))]
CanMoveStock = Annotated[Principal, Depends(require_roles(R.PARTS_CLERK, R.ADMIN))]
"""Receipts, transfers, adjustments, reorder points."""
CanWatchStockAndCommitments = Annotated[Principal, Depends(require_roles(R.OPS, R.PARTS_CLERK, R.ADMIN))]
"""Low-stock list and the ship-by watch list (R-P1)."""
CanReadBaseStock = Annotated[Principal, Depends(require_roles(R.OPS, R.PARTS_CLERK, R.ADMIN, R.DEALER))]
CAN_REQUEST_PARTS = frozenset({R.ENGINEER, R.DEALER, R.PARTS_CLERK, R.ADMIN})
CanRequestParts = Annotated[Principal, Depends(require_roles(*CAN_REQUEST_PARTS))]
"""Create a request; attach documents to, take delivery of, or cancel one's own (scoped)."""
CanReadRequests = Annotated[Principal, Depends(require_roles(
    R.ENGINEER, R.DEALER, R.PARTS_CLERK, R.ADMIN, R.OPS, R.FINANCE))]
"""Part requests and old-part returns, scoped by :func:`visible`."""
CanRecordPayment = Annotated[Principal, Depends(require_roles(R.FINANCE, R.PARTS_CLERK, R.ADMIN))]
CanShipRequests = Annotated[Principal, Depends(require_roles(R.PARTS_CLERK, R.ADMIN))]
CanReceiveReturns = Annotated[Principal, Depends(require_roles(R.PARTS_CLERK, R.ADMIN))]
CanSetPartsBudget = Annotated[Principal, Depends(require_roles(R.FINANCE, R.ADMIN))]
CanReadPartsBudget = Annotated[Principal, Depends(require_roles(
    R.FINANCE, R.ADMIN, R.PARTS_CLERK, R.OPS, R.DEALER))]
CanSetPartsTerms = Annotated[Principal, Depends(require_roles(R.FINANCE, R.ADMIN))]
"""Change a dealer's parts terms from a date (ship clock, return days, base-stock %)."""
CanReadPartsReports = Annotated[Principal, Depends(require_roles(
    R.OPS, R.PARTS_CLERK, R.ADMIN, R.FINANCE, R.DEALER))]
"""Read the reports the contracts ask for (R-O1 parts-replacement list, R-P8 horizon, R-P9 seasonal plan; a
dealer only its own rows)."""
CanReadPartsTerms = Annotated[Principal, Depends(require_roles(R.FINANCE, R.ADMIN, R.PARTS_CLERK, R.OPS, R.DEALER))]
"""Read a dealer's parts terms (a dealer only its own)."""

ORDERS_AS_STAFF = frozenset({R.PARTS_CLERK, R.ADMIN})
"""Callers who place requests on anyone's behalf (they name dealer/engineer in the body)."""


def is_engineer_caller(principal: Principal) -> bool:
    """Whether a new request is an engineer's own (staff who also hold the engineer role order as staff)."""
    return principal.has(R.ENGINEER) and not principal.has(*ORDERS_AS_STAFF)


# Per table: what else a dealer's / engineer's row must be (a dealer's own requests, not jobs' requests that
# merely name the dealer; a dealer's depots, an engineer's van). Tables not listed need only the owner column.
_DEALER_ROWS: dict[sa.Table, sa.ColumnElement[bool]] = {
    models.requests: models.requests.c.requester_kind == "dealer",
    models.warehouses: models.warehouses.c.kind == "dealer_depot",
}
_ENGINEER_ROWS: dict[sa.Table, sa.ColumnElement[bool]] = {
    models.warehouses: models.warehouses.c.kind == "engineer_van",
}


def visible(principal: Principal, table: sa.Table) -> sa.ColumnElement[bool]:
    """THE rule of who sees which rows of ``table``: staff all, a dealer its own, an engineer its own work.

    A dealer token without dealer_id / engineer token without engineer_id is refused (403) by ``scope_of``.
    """
    scope: Scope = scope_of(principal)
    if scope.is_staff:
        return sa.true()
    if scope.kind == "engineer":
        return sa.and_(table.c.engineer_id == scope.engineer_id, _ENGINEER_ROWS.get(table, sa.true()))
    return sa.and_(table.c.dealer_id == scope.dealer_id, _DEALER_ROWS.get(table, sa.true()))


def dealer_in_scope(principal: Principal, dealer_id: str | None, *, what: str) -> str | None:
    """Whose figures a caller reads when it names a dealer: staff any (as asked), a dealer only its own (403)."""
    scope = scope_of(principal)
    if scope.is_staff:
        return dealer_id
    if scope.kind == "dealer" and (dealer_id is None or dealer_id == scope.dealer_id):
        return scope.dealer_id
    raise Forbidden(f"dealers see only their own {what}", field="dealer_id")


# --- references a new part request makes (issue 13) ---------------------------------------------------------

@dataclass(frozen=True)
class KnownJob:
    """A job as dispatch's job events last described it to parts (``job_engineers``, jobs/service.py)."""

    job_id: str
    engineer_id: str | None  # who holds it (None: nobody now, e.g. after a decline)
    dealer_id: str | None  # the dealer employing that engineer (None: nobody holds it, or manufacturer staff)
    ticket_id: str | None  # None only for rows recorded before parts_0007, until the job's next event


def _not_yet(what: str, field: str, code: str) -> Conflict:
    """Parts cannot confirm the reference yet (the bus lags): 409, retryable."""
    return Conflict(f"{what}; retry once dispatch's assignment has reached parts", field=field, code=code,
                    extra={"retryable": True})


def requester_ids(principal: Principal) -> tuple[str | None, str | None]:
    """(engineer_id, dealer_id) a non-staff requester acts as: an engineer its engineer id (403 without one), a
    dealer its dealer id (403 without one)."""
    if is_engineer_caller(principal):
        if not principal.engineer_id:
            raise Forbidden("an engineer token must carry engineer_id", field="engineer_id")
        return principal.engineer_id, principal.dealer_id
    if not principal.dealer_id:
        raise Forbidden("a dealer token must carry dealer_id", field="dealer_id")
    return None, principal.dealer_id


def may_name_job(principal: Principal, job_id: str, ticket_id: str | None, job: KnownJob | None) -> None:
    """THE rule for the job (and ticket) a new request names: an engineer only a job it holds, a dealer only a
    job held by one of its engineers, the ticket only the job's own; staff (clerk, admin) any job.

    A job parts has not heard of (or that nobody holds right now) cannot be checked: 409 ``job_not_yet_known``
    / ``job_not_held``, retryable — an engineer who just got the job retries a moment later (docs/parts.md).
    """
    if not principal.has(*ORDERS_AS_STAFF):
        engineer, dealer = requester_ids(principal)
        if job is None:
            raise _not_yet(f"job {job_id} is not known to parts", "job_id", "job_not_yet_known")
        if is_engineer_caller(principal):
            if job.engineer_id is None:
                raise _not_yet(f"nobody holds job {job_id} as far as parts knows", "job_id", "job_not_held")
            if job.engineer_id != engineer:
                raise Forbidden(f"job {job_id} is assigned to another engineer", field="job_id",
                                code="job_of_another_engineer")
        elif job.dealer_id != dealer:
            if job.engineer_id is None:
                raise _not_yet(f"nobody holds job {job_id} as far as parts knows", "job_id", "job_not_held")
            raise Forbidden(f"job {job_id} belongs to another dealer", field="job_id", code="job_of_another_dealer")
    if job is not None and ticket_id and job.ticket_id and ticket_id != job.ticket_id:
        raise Unprocessable(f"ticket {ticket_id} is not the ticket of job {job_id}", field="ticket_id",
                            code="ticket_not_of_job")


def may_name_ticket(principal: Principal, ticket_id: str, jobs: list[KnownJob]) -> None:
    """A dealer's request naming a ticket but no job (dispatch then resumes the ticket's latest job): every
    job of the ticket parts knows a dealer of must be the caller's, and one must be. Staff: any ticket."""
    if principal.has(*ORDERS_AS_STAFF):
        return
    _engineer, dealer = requester_ids(principal)
    if any(j.dealer_id not in (None, dealer) for j in jobs):
        raise Forbidden(f"ticket {ticket_id} belongs to another dealer", field="ticket_id",
                        code="ticket_of_another_dealer")
    if not any(j.dealer_id == dealer for j in jobs):
        raise _not_yet(f"parts knows no job of ticket {ticket_id} held by this dealer", "ticket_id",
                       "ticket_not_yet_known")
