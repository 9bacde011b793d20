"""Who may do what in settlement (role aliases named by what they allow) and who sees which rows (the one
scope → WHERE clause).

Staff here are finance, admin and ops: they see every dealer's rows. A dealer sees only its own; a dealer
token without ``dealer_id`` is refused (403). Rows outside the caller's scope look absent (404 / empty list).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import ColumnElement, true

from aftersales_shared.auth import Principal, Role, Scope, require_roles, scope_of

SETTLEMENT_STAFF = frozenset({Role.FINANCE, Role.ADMIN, Role.OPS})

CanManageDealers = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.ADMIN))]
"""Create dealers and contract versions."""
CanRecordPayments = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.ADMIN))]
"""Record payments received (one or a CSV import) — the base of fee model (c)."""
CanRecordFindings = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.ADMIN))]
"""Book verification findings and charges (R-D3, R-D4, R-D5)."""
CanSubmitMonthlyReports = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.ADMIN, Role.DEALER))]
"""Submit a month's records / quality feedback (a dealer only its own)."""
CanListDealers = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.ADMIN, Role.OPS))]
"""List every dealer."""
CanReadAuditTrail = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.ADMIN, Role.OPS))]
"""Read a statement's audit trail."""
CanReadSettlement = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.ADMIN, Role.OPS, Role.DEALER))]
"""Read dealers, contracts, ledgers, statements, exports, assessments, disputes (a dealer only its own)."""
CanPrepareStatements = Annotated[Principal, Depends(require_roles(Role.FINANCE))]
"""Run a quarter's statements."""
CanMoveStatements = Annotated[Principal, Depends(require_roles(Role.FINANCE))]
"""Review, approve (not one's own: maker-checker) and mark statements paid."""
CanResolveDisputes = Annotated[Principal, Depends(require_roles(Role.FINANCE))]
"""Accept or reject a dealer's dispute."""
CanOpenDisputes = Annotated[Principal, Depends(require_roles(Role.DEALER))]
"""Dispute one's own statement (R-D6)."""
CanReadRetentionRuns = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.ADMIN, Role.OPS))]
"""Read what the retention job archived (R-T4)."""
CanWaivePenalties = Annotated[Principal, Depends(require_roles(Role.FINANCE))]
"""Waive SLA liquidated damages (R-S9: force majeure, customer-caused delay with evidence)."""


def scope(principal: Principal) -> Scope:
    """The caller's scope with settlement's staff roles (403 for a dealer token without dealer_id)."""
    return scope_of(principal, staff_roles=SETTLEMENT_STAFF)


def visible(principal: Principal | Scope, dealer_column: ColumnElement[Any]) -> ColumnElement[bool]:
    """The WHERE clause of everything a caller may see: all rows for staff, a dealer's own rows otherwise."""
    s = principal if isinstance(principal, Scope) else scope(principal)
    if s.is_staff:
        return true()
    return dealer_column == s.dealer_id


_PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}}
_REASONS = {400: "Refused by a business rule", 401: "Missing or invalid bearer token",
            403: "The caller's role may not do this", 404: "Not found, or outside the caller's scope",
            409: "Conflicts with the current state", 422: "Invalid input (the field is named)"}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The 4xx answers a route documents (RFC 9457 problem+json); 401/403 always."""
    return {c: {"description": _REASONS[c], "content": _PROBLEM} for c in sorted({401, 403, *codes})}
