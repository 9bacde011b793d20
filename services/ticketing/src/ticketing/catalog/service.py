"""Catalog use cases: product lines, policy versions, and the pure policy built from stored terms."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Conflict, NotFound
from aftersales_shared.ids import new_id

from ..domain.warranty import WarrantyPolicy
from ..models import product_lines, warranty_policies
from .schemas import PolicyCreate, PolicyTerms, ProductLineCreate


def to_domain(terms: dict[str, Any]) -> WarrantyPolicy:
    """Build the pure policy from stored terms."""
    t = PolicyTerms.model_validate(terms)
    return WarrantyPolicy(
        months=t.months, start_basis=t.start_basis, component_months=dict(t.component_months),
        uncovered=tuple(t.uncovered), exclusions=tuple(t.exclusions), return_days=t.return_days,
        exchange_days=t.exchange_days, dealer_doa_days=t.dealer_doa_days,
        repeat_repair_threshold=t.repeat_repair_threshold, extension_months=t.extension_months,
        extension_price=t.extension_price, repair_warranty_months=t.repair_warranty_months,
        parts_warranty_months=t.parts_warranty_months, shipping_customer_share=t.shipping_customer_share,
    )


async def create_product_line(session: AsyncSession, *, line: ProductLineCreate) -> dict[str, Any]:
    """A new product line; 409 when the code exists."""
    row = (await session.execute(
        pg_insert(product_lines).values(**line.model_dump()).on_conflict_do_nothing().returning(*product_lines.c)
    )).mappings().first()
    if row is None:
        raise Conflict(f"product line {line.code} exists", field="code")
    return dict(row)


async def list_product_lines(session: AsyncSession) -> list[dict[str, Any]]:
    """Every product line, by code."""
    return [dict(r) for r in (await session.execute(
        sa.select(product_lines).order_by(product_lines.c.code))).mappings()]


async def create_policy(session: AsyncSession, *, code: str, policy: PolicyCreate, actor: str) -> dict[str, Any]:
    """The product line's next policy version (the line is locked so versions never collide)."""
    if (await session.execute(sa.select(product_lines.c.code).where(product_lines.c.code == code)
                              .with_for_update())).scalar() is None:
        raise NotFound(f"product line {code} not found", field="code")
    version = (await session.execute(sa.select(sa.func.coalesce(sa.func.max(warranty_policies.c.version), 0))
                                     .where(warranty_policies.c.product_line == code))).scalar_one() + 1
    terms = PolicyTerms.model_validate(policy.model_dump(exclude={"effective_from"})).model_dump(mode="json")
    row = (await session.execute(sa.insert(warranty_policies).values(
        id=new_id(), product_line=code, version=version, effective_from=policy.effective_from, terms=terms,
        created_by=actor).returning(*warranty_policies.c))).mappings().one()
    return dict(row)


async def list_policies(session: AsyncSession, *, code: str) -> list[dict[str, Any]]:
    """The product line's policy versions, oldest first; 404 for an unknown line."""
    rows = (await session.execute(sa.select(warranty_policies).where(warranty_policies.c.product_line == code)
                                  .order_by(warranty_policies.c.version))).mappings().all()
    if not rows and (await session.execute(sa.select(product_lines.c.code).where(product_lines.c.code == code))
                     ).scalar() is None:
        raise NotFound(f"product line {code} not found", field="code")
    return [dict(r) for r in rows]
