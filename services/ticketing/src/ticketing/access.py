"""Who may do what in ticketing, and who sees which rows — each decided here, once.

Role aliases are named by what they allow:
- ``CanManageCatalog``: create product lines and warranty policy versions (admin);
- ``CanWriteServiceRecords``: open/cancel/reopen tickets, register units, file and resolve complaints, record
  callbacks (call_center, admin);
- ``CanReadServiceRecords``: read units, tickets, complaints, callbacks, reports (call_center, admin, ops; a
  dealer its own rows). Engineers have no role here (403).
- ``CanReadContactToNotify``: one ticket's contact, in clear, to send it a message (notifier only: the
  notifications service's token; it has no search, no list and no other read here);
- ``CanRecordSatisfaction``: a customer's rating of a ticket's repair completes its open callback (R-T5)
  (call_center, admin, notifier);
- ``CanFileComplaints``: file a complaint (call_center, admin, and notifier for a reply that reads as one, R-T6).
- ``CanCarryOutRemedies``: carry out a 三包 remedy on a ticket's unit (R-W4/R-W5, issue 15) (call_center, admin,
  and the engineer on the ticket: ``remedy_filter`` admits an engineer only to tickets its jobs moved).
- ``CanRegisterCards``: record a returned warranty card (R-W10): call_center, admin, and a dealer for its own units.
- ``CanManagePmPlans``: set a unit's or contract's preventive-maintenance plan (R-S10, issue 16) (admin, call_center).
- ``CanReadPm``: read PM plans and occurrences — the call center's PM calls, ops' visits (admin, call_center, ops).
- ``CanManageContractTerms``: change a customer service contract's terms from a date (admin; issue 16 item 1).
- ``CanReadContractTerms``: read a contract's terms and their history (admin, call_center, ops).
- ``CanReadRetentionRuns``: read the R-T4 retention job's runs (ops, admin).
- ``CanRecordPm``: record a PM occurrence's checklist (call_center, admin, and the engineer whose job moved the
  occurrence's maintenance ticket: ``remedy_filter``).

Rows: the notifier acts for every dealer's customers on the three routes that admit it, so its scope is all
rows, like staff's. ``dealer_filter`` turns the caller's shared ``scope_of`` into the WHERE clause every read uses
(staff see all dealers' rows, narrowed to ``dealer_id`` if they ask; a dealer only its own; asking for another
dealer is 403). A dealer names only its own units, tickets, complaints and callbacks: another dealer's row is 404, as an
unknown one (its existence does not leak); naming another dealer in a ``dealer_id`` filter is 403.

Personal data (R-T7): ``with_contact`` applies the shared rule (``aftersales_shared.pii``) to a row — phone, name
and address in clear for the roles that call customers, masked for everyone else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends

from aftersales_shared import pii
from aftersales_shared.auth import STAFF_ROLES, Principal, Role, require_roles, scope_of
from aftersales_shared.errors import Forbidden

CATALOG_MANAGERS = frozenset({Role.ADMIN})
SERVICE_RECORD_WRITERS = frozenset({Role.CALL_CENTER, Role.ADMIN})
SERVICE_RECORD_READERS = frozenset({Role.CALL_CENTER, Role.ADMIN, Role.OPS, Role.DEALER})
NOTIFIERS = frozenset({Role.NOTIFIER})
SATISFACTION_RECORDERS = SERVICE_RECORD_WRITERS | NOTIFIERS
COMPLAINT_FILERS = SERVICE_RECORD_WRITERS | NOTIFIERS
REMEDY_WRITERS = SERVICE_RECORD_WRITERS | frozenset({Role.ENGINEER})
CARD_REGISTRARS = SERVICE_RECORD_WRITERS | {Role.DEALER}  # R-W10: a dealer registers its own units' cards
PM_PLANNERS = frozenset({Role.ADMIN, Role.CALL_CENTER})
PM_READERS = frozenset({Role.ADMIN, Role.CALL_CENTER, Role.OPS})
TERMS_MANAGERS = frozenset({Role.ADMIN})
TERMS_READERS = frozenset({Role.ADMIN, Role.CALL_CENTER, Role.OPS})
RETENTION_READERS = frozenset({Role.OPS, Role.ADMIN})
_ALL_ROWS = STAFF_ROLES | NOTIFIERS

CanManageCatalog = Annotated[Principal, Depends(require_roles(*CATALOG_MANAGERS))]
CanWriteServiceRecords = Annotated[Principal, Depends(require_roles(*SERVICE_RECORD_WRITERS))]
CanReadServiceRecords = Annotated[Principal, Depends(require_roles(*SERVICE_RECORD_READERS))]
CanReadContactToNotify = Annotated[Principal, Depends(require_roles(*NOTIFIERS))]
CanRecordSatisfaction = Annotated[Principal, Depends(require_roles(*SATISFACTION_RECORDERS))]
CanFileComplaints = Annotated[Principal, Depends(require_roles(*COMPLAINT_FILERS))]
CanCarryOutRemedies = Annotated[Principal, Depends(require_roles(*REMEDY_WRITERS))]
CanRegisterCards = Annotated[Principal, Depends(require_roles(*CARD_REGISTRARS))]
CanManagePmPlans = Annotated[Principal, Depends(require_roles(*PM_PLANNERS))]
CanReadPm = Annotated[Principal, Depends(require_roles(*PM_READERS))]
CanRecordPm = Annotated[Principal, Depends(require_roles(*REMEDY_WRITERS))]
CanManageContractTerms = Annotated[Principal, Depends(require_roles(*TERMS_MANAGERS))]
CanReadContractTerms = Annotated[Principal, Depends(require_roles(*TERMS_READERS))]
CanReadRetentionRuns = Annotated[Principal, Depends(require_roles(*RETENTION_READERS))]


def visible_dealer(principal: Principal, requested: str | None = None) -> str | None:
    """The one dealer whose rows the caller reads (None: every dealer's), from the shared scope."""
    scope = scope_of(principal, staff_roles=_ALL_ROWS)
    if scope.is_staff:
        return requested
    if scope.dealer_id is None:  # e.g. an engineer token that also says dealer: it names no dealer to read
        raise Forbidden("a dealer token must carry dealer_id", field="dealer_id")
    if requested and requested != scope.dealer_id:
        raise Forbidden("dealers may read only their own data", field="dealer_id")
    return scope.dealer_id


def dealer_filter(principal: Principal, column: sa.ColumnElement[str | None],
                  requested: str | None = None) -> sa.ColumnElement[bool]:
    """The WHERE clause of the rows this caller may see (``column`` is the row's dealer id)."""
    dealer = visible_dealer(principal, requested)
    return sa.true() if dealer is None else column == dealer


def with_contact(principal: Principal, row: Mapping[str, Any]) -> dict[str, Any]:
    """The row with the customer's phone, name and address as this caller may see them (R-T7, shared rule)."""
    out = dict(row)
    if pii.sees_contact(principal):
        return out
    for key, mask in (("phone", pii.mask_phone), ("customer_name", pii.mask_name), ("address", pii.mask_address)):
        if key in out:
            out[key] = mask(out[key])
    return out


def remedy_filter(principal: Principal, ticket_id: sa.ColumnElement[Any],
                  held_by: sa.ColumnElement[Any], actor: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """The tickets on which this caller may carry out a remedy: staff every ticket; an engineer only a ticket one
    of its jobs moved (a ``ticket_transitions`` row by ``dispatch:<engineer_id>``; ``held_by`` is that table's
    ticket id, ``actor`` its actor column)."""
    scope = scope_of(principal, staff_roles=SERVICE_RECORD_WRITERS)
    if scope.is_staff:
        return sa.true()
    return sa.exists().where(held_by == ticket_id, actor == f"dispatch:{scope.engineer_id}")
