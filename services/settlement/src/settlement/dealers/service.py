"""Dealers, their contract versions and monthly report submissions (the key every other aggregate hangs on)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, NotFound
from aftersales_shared.ids import new_id

from ..access import visible
from ..audit import audit
from ..models import contracts, dealers, monthly_reports
from .schemas import ContractCreate, DealerCreate, MonthlyReportCreate


async def get_dealer(session: AsyncSession, *, dealer_id: str, principal: Principal) -> dict[str, Any]:
    """One dealer the caller may see (a dealer sees only itself; others look absent: 404)."""
    row = (await session.execute(select(dealers).where(
        dealers.c.id == dealer_id, visible(principal, dealers.c.id)))).mappings().first()
    if row is None:
        raise NotFound(f"dealer {dealer_id} not found", field="dealer_id")
    return dict(row)


async def create_dealer(session: AsyncSession, *, body: DealerCreate, actor: Principal,
                        now: datetime) -> dict[str, Any]:
    """Register a dealer (409 when the id is taken)."""
    row = (await session.execute(
        insert(dealers).values(id=body.id, name=body.name, territories=body.territories, created_at=now)
        .on_conflict_do_nothing(index_elements=["id"]).returning(*dealers.c))).mappings().first()
    if row is None:
        raise Conflict(f"dealer {body.id} already exists", field="id", code="dealer_exists")
    await audit(session, actor=actor.sub, action="dealer_created", entity_type="dealer", entity_id=body.id, now=now)
    return dict(row)


async def list_dealers(session: AsyncSession, *, principal: Principal, after: str | None,
                       limit: int) -> list[Any]:
    """Dealers by id, keyset-paged."""
    q = select(dealers).where(visible(principal, dealers.c.id)).order_by(dealers.c.id).limit(limit)
    if after is not None:
        q = q.where(dealers.c.id > after)
    return list((await session.execute(q)).mappings())


async def create_contract(session: AsyncSession, *, dealer_id: str, body: ContractCreate, actor: Principal,
                          now: datetime) -> dict[str, Any]:
    """A new contract version for the dealer (versions count up per dealer, serialised per dealer)."""
    await get_dealer(session, dealer_id=dealer_id, principal=actor)
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('settlement-contract:' || :d))"),
                          {"d": dealer_id})
    params = body.parameters.model_dump(mode="json", exclude_none=True)
    version = (await session.execute(select(func.coalesce(func.max(contracts.c.version), 0) + 1)
                                     .where(contracts.c.dealer_id == dealer_id))).scalar_one()
    row = (await session.execute(insert(contracts).values(
        id=new_id(), dealer_id=dealer_id, version=version, effective_from=body.effective_from,
        effective_to=body.effective_to, fee_model=body.fee_model, parameters=params, created_by=actor.sub,
        created_at=now).returning(*contracts.c))).mappings().one()
    await audit(session, actor=actor.sub, action="contract_created", entity_type="contract", entity_id=str(row["id"]),
                details={"dealer_id": dealer_id, "version": row["version"], "fee_model": body.fee_model,
                         "parameters": params}, now=now)
    return dict(row)


async def list_contracts(session: AsyncSession, *, dealer_id: str, principal: Principal) -> list[Any]:
    """The dealer's contract versions, oldest first."""
    await get_dealer(session, dealer_id=dealer_id, principal=principal)
    return list((await session.execute(select(contracts).where(contracts.c.dealer_id == dealer_id)
                                       .order_by(contracts.c.version))).mappings())


async def submit_monthly_report(session: AsyncSession, *, dealer_id: str, body: MonthlyReportCreate,
                                actor: Principal, now: datetime) -> dict[str, Any]:
    """A month's submission (R-D5): repair records and quality feedback; a resubmission replaces it."""
    await get_dealer(session, dealer_id=dealer_id, principal=actor)
    stmt = insert(monthly_reports).values(
        dealer_id=dealer_id, month=date.fromisoformat(body.month + "-01"), records=body.records,
        quality_feedback=body.quality_feedback, submitted_at=now, submitted_by=actor.sub)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["dealer_id", "month"],
        set_={c: stmt.excluded[c] for c in ("records", "quality_feedback", "submitted_at", "submitted_by")}))
    await audit(session, actor=actor.sub, action="monthly_report_submitted", entity_type="dealer",
                entity_id=dealer_id, details=body.model_dump(), now=now)
    return {"dealer_id": dealer_id, **body.model_dump()}
