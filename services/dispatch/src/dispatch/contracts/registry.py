"""The registry of customer service contracts (issue 16): register one (the code jobs and terms name), list, get,
update (audited: every create and update is one ``contract_changes`` row with who, when, what changed and why), and
the jobs that arrived naming a code nobody registered.

A job naming an unregistered code is still dispatched — work is never dropped — on the configured default terms
(there are none recorded for an unknown code), and it records ``contract_known = false`` at its arrival; ops list
them (``unknown_contract_jobs``) and ``dispatch_jobs_unknown_contract_total`` counts them. Terms can only be
changed for a registered code (404 naming ``contract_code`` otherwise: register first).

Every function runs in the caller's unit of work (flush, never commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, NotFound, Unprocessable

from ..domain import contract_lifecycle as lifecycle
from ..models import ContractChange, CustomerContract, Job
from .schemas import ContractCreate, ContractUpdate


async def is_known(session: AsyncSession, code: str | None) -> bool | None:
    """Whether ``code`` is registered (None: no code)."""
    if not code:
        return None
    return await session.scalar(select(CustomerContract.code).where(CustomerContract.code == code)) is not None


async def get(session: AsyncSession, code: str, *, lock: bool = False) -> CustomerContract:
    q = select(CustomerContract).where(CustomerContract.code == code)
    row = await session.scalar(q.with_for_update() if lock else q)
    if row is None:
        raise NotFound(f"contract {code} is not registered (register it first: POST /v1/contracts)",
                       field="contract_code", code="contract_not_registered")
    return row


def _check_dates(valid_from: date, valid_to: date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise Unprocessable(f"valid_to ({valid_to}) is before valid_from ({valid_from})", field="valid_to",
                            code="validity_inverted")


async def register(session: AsyncSession, body: ContractCreate, *, actor: Principal, now: datetime) -> CustomerContract:
    """A new contract, active; 409 naming ``code`` when the code is taken."""
    _check_dates(body.valid_from, body.valid_to)
    if await is_known(session, body.code):
        raise Conflict(f"contract {body.code} is already registered", field="code", code="contract_exists")
    row = CustomerContract(code=body.code, customer_name=body.customer_name, customer_ref=body.customer_ref,
                           sla_tier=body.sla_tier, valid_from=body.valid_from, valid_to=body.valid_to,
                           status=lifecycle.ACTIVE, version=1, created_by=actor.sub, created_at=now,
                           updated_by=actor.sub, updated_at=now)
    session.add(row)
    await session.flush()  # a racing twin fails here on the primary key (409 by the shared handler)
    session.add(ContractChange(contract_code=row.code, version=1, action="created", changes={
        k: [None, v] for k, v in body.model_dump(mode="json", exclude={"code", "reason"}).items()},
        reason=body.reason, actor=actor.sub, at=now))
    await session.flush()
    return row


async def update(session: AsyncSession, code: str, body: ContractUpdate, *, actor: Principal,
                 now: datetime) -> CustomerContract:
    """Change some fields (audited). ``version``, when given, must be the current one (409 otherwise); a status move
    must be in ``domain/contract_lifecycle.MOVES`` (409 naming ``status``); nothing changed: the contract as is."""
    row = await get(session, code, lock=True)
    if body.version is not None and body.version != row.version:
        raise Conflict(f"contract {code} is at version {row.version}, not {body.version}", field="version",
                       code="stale_version")
    wanted = body.model_dump(mode="json", exclude_unset=True, exclude={"version", "reason"})
    if "status" in wanted and not lifecycle.allowed(row.status, wanted["status"]):
        raise Conflict(f"a contract that is {row.status} cannot become {wanted['status']}", field="status",
                       code="contract_status")
    typed = body.model_dump(exclude_unset=True, exclude={"version", "reason"})
    _check_dates(typed.get("valid_from", row.valid_from), typed.get("valid_to", row.valid_to))
    before = {k: getattr(row, k) for k in typed}
    changes: dict[str, Any] = {k: [_json(before[k]), wanted[k]] for k in typed if before[k] != typed[k]}
    if not changes:
        return row
    for k in changes:
        setattr(row, k, typed[k])
    row.version, row.updated_by, row.updated_at = row.version + 1, actor.sub, now
    session.add(ContractChange(contract_code=code, version=row.version, action="updated", changes=changes,
                               reason=body.reason, actor=actor.sub, at=now))
    await session.flush()
    return row


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


async def list_contracts(session: AsyncSession, *, status: str | None, limit: int,
                         offset: int) -> Sequence[CustomerContract]:
    q = select(CustomerContract)
    if status:
        q = q.where(CustomerContract.status == status)
    return (await session.scalars(q.order_by(CustomerContract.code).limit(limit).offset(offset))).all()


async def changes(session: AsyncSession, code: str) -> Sequence[ContractChange]:
    await get(session, code)
    return (await session.scalars(select(ContractChange).where(ContractChange.contract_code == code)
                                  .order_by(ContractChange.version))).all()


async def unknown_contract_jobs(session: AsyncSession, *, limit: int, offset: int) -> Sequence[Job]:
    """The ops list: jobs that arrived naming a contract code nobody had registered, newest first (dispatched on
    the default terms all the same)."""
    return (await session.scalars(select(Job).where(Job.contract_known.is_(False))
                                  .order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset))).all()
