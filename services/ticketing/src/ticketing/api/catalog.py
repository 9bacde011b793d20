"""Product lines and their versioned warranty policies (admin writes; a unit keeps the policy in force at sale)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.app import DbSession
from aftersales_shared.errors import Conflict, NotFound
from aftersales_shared.ids import new_id

from ..domain.warranty import EXCLUSIONS, WarrantyPolicy
from ..models import product_lines, warranty_policies
from .common import Admin, Reader

router = APIRouter(prefix="/v1/product-lines", tags=["product lines and policies"])
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]
Name = Annotated[str, Field(min_length=1, max_length=80)]
Months = Annotated[int, Field(ge=1, le=120)]
ExclusionCode = Literal[tuple(EXCLUSIONS)]  # type: ignore[valid-type]


class ProductLineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Name
    required_skill: Annotated[str, Field(min_length=1, max_length=60)]


class ProductLineRead(ProductLineCreate):
    created_at: datetime


class PolicyTerms(BaseModel):
    """Warranty terms of one policy version; every number is configuration (DOMAIN.md)."""

    model_config = ConfigDict(extra="forbid")
    months: Months
    start_basis: Literal["sale", "delivery", "installation"] = "sale"
    component_months: dict[Name, Months] = Field(default_factory=dict)
    uncovered: list[Name] = Field(default_factory=list, max_length=50)
    exclusions: list[ExclusionCode] = Field(default_factory=lambda: list(EXCLUSIONS))
    return_days: int = Field(7, ge=0, le=60)
    exchange_days: int = Field(15, ge=0, le=90)
    dealer_doa_days: int = Field(7, ge=0, le=60)
    repeat_repair_threshold: int = Field(3, ge=1, le=20)
    extension_months: Months | None = None
    extension_price: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    repair_warranty_months: int = Field(6, ge=0, le=60)
    parts_warranty_months: int = Field(12, ge=0, le=60)
    # R-W9: the customer's share of shipping and insurance for a unit sent in, inside warranty
    shipping_customer_share: Decimal = Field(Decimal("0.50"), ge=0, le=1, max_digits=3, decimal_places=2)

    @model_validator(mode="after")
    def _consistent(self) -> "PolicyTerms":
        if self.exchange_days < self.return_days:
            raise ValueError("exchange_days must not be shorter than return_days")
        if (self.extension_months is None) != (self.extension_price is None):
            raise ValueError("extension_months and extension_price go together")
        if set(self.uncovered) & set(self.component_months):
            raise ValueError("a component cannot be both covered and uncovered")
        return self


class PolicyCreate(PolicyTerms):
    effective_from: date


class PolicyRead(BaseModel):
    id: UUID
    product_line: str
    version: int
    effective_from: date
    terms: PolicyTerms
    created_at: datetime


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


async def policy_in_force(session: AsyncSession, product_line: str, on: date) -> UUID | None:
    """The policy version in force on ``on`` for a product line (latest effective_from not after it)."""
    return (await session.execute(
        sa.select(warranty_policies.c.id).where(warranty_policies.c.product_line == product_line,
                                                warranty_policies.c.effective_from <= on)
        .order_by(warranty_policies.c.effective_from.desc(), warranty_policies.c.version.desc()).limit(1)
    )).scalar()


@router.post("", status_code=201, response_model=ProductLineRead, summary="Create a product line (admin)")
async def create_product_line(body: ProductLineCreate, session: DbSession, _p: Admin) -> Any:
    row = (await session.execute(
        pg_insert(product_lines).values(**body.model_dump()).on_conflict_do_nothing().returning(*product_lines.c)
    )).mappings().first()
    if row is None:
        raise Conflict(f"product line {body.code} exists", field="code")
    return dict(row)


@router.get("", response_model=list[ProductLineRead], summary="List product lines (call_center, admin, dealer, ops)")
async def list_product_lines(session: DbSession, _p: Reader) -> Any:
    return [dict(r) for r in (await session.execute(sa.select(product_lines).order_by("code"))).mappings()]


@router.post("/{code}/policies", status_code=201, response_model=PolicyRead,
             summary="Add a new warranty policy version (admin)")
async def create_policy(code: Annotated[str, Path(max_length=40)], body: PolicyCreate, session: DbSession,
                        p: Admin) -> Any:
    if (await session.execute(sa.select(product_lines.c.code).where(product_lines.c.code == code)
                              .with_for_update())).scalar() is None:
        raise NotFound(f"product line {code} not found", field="code")
    version = (await session.execute(sa.select(sa.func.coalesce(sa.func.max(warranty_policies.c.version), 0))
                                     .where(warranty_policies.c.product_line == code))).scalar() + 1
    terms = PolicyTerms.model_validate(body.model_dump(exclude={"effective_from"})).model_dump(mode="json")
    row = (await session.execute(sa.insert(warranty_policies).values(
        id=new_id(), product_line=code, version=version, effective_from=body.effective_from, terms=terms,
        created_by=p.sub).returning(*warranty_policies.c))).mappings().one()
    return dict(row)


@router.get("/{code}/policies", response_model=list[PolicyRead],
            summary="Policy versions of a product line (call_center, admin, dealer, ops)")
async def list_policies(code: Annotated[str, Path(max_length=40)], session: DbSession, _p: Reader) -> Any:
    rows = (await session.execute(sa.select(warranty_policies).where(warranty_policies.c.product_line == code)
                                  .order_by(warranty_policies.c.version))).mappings().all()
    if not rows and (await session.execute(sa.select(product_lines.c.code).where(product_lines.c.code == code))
                     ).scalar() is None:
        raise NotFound(f"product line {code} not found", field="code")
    return [dict(r) for r in rows]

