"""Who may do what in parts, and who sees which rows.

Role aliases are named by what they allow; routes take them as a parameter (``_p: CanMoveStock``). Several
aliases have the same role set today (the parts clerk runs the warehouse), but each names one permission,
so a change of who may ship does not silently change who may edit the catalogue.

Who sees which rows is written once, in :func:`visible`: the caller's shared ``scope_of`` (staff, dealer,
engineer) turned into a WHERE clause over a parts table. Every listing and every single-row read or write that
is scoped (requests, returns, warehouses and their stock) filters with it; a row outside the scope is "not
found". Figures asked for by dealer id (parts budget, base stock) go through :func:`dealer_in_scope`.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends

from aftersales_shared.auth import Principal, Role, Scope, require_roles, scope_of
from aftersales_shared.errors import Forbidden

from . import models

R = Role

CanReadCatalogue = Annotated[Principal, Depends(require_roles(
    R.PARTS_CLERK, R.ADMIN, R.OPS, R.DEALER, R.ENGINEER, R.FINANCE, R.DISPATCHER, R.CALL_CENTER))]
CanEditCatalogue = Annotated[Principal, Depends(require_roles(R.PARTS_CLERK, R.ADMIN))]
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
