"""Product line and warranty policy schemas; every number of a policy is configuration (DOMAIN.md)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, get_args
from uuid import UUID

from pydantic import BaseModel, Field, field_validator, model_validator

from aftersales_shared.money import Money
from aftersales_shared.schemas import BusinessDate, StrictModel

from ..domain.warranty import ExclusionCode
from ..fields import Component, LineCode, Name, Skill

Months = Annotated[int, Field(ge=1, le=120)]
PARTNO_PATTERN = r"^[A-Za-z0-9._/-]{1,40}$"
PartNo = Annotated[str, Field(pattern=PARTNO_PATTERN, description="a catalogue part number (parts' pattern)")]


class LineComponentIn(StrictModel):
    """One component of the product line and the catalogue part numbers that are that component."""

    component: Component
    part_nos: list[PartNo] = Field(default_factory=list, max_length=200)

    @field_validator("part_nos")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a part number is named once per component")
        return v


def unique_components(v: list[LineComponentIn]) -> list[LineComponentIn]:
    names = [c.component.casefold() for c in v]
    if len(set(names)) != len(names):
        raise ValueError("a component is named once (names are compared ignoring case)")
    return v


class ComponentListIn(StrictModel):
    """A product line's whole component list (issue 15): the engineer's diagnosis names components from it, and a
    part number only with the component it is linked to. Replaces the list; names are unique (ignoring case)."""

    components: list[LineComponentIn] = Field(max_length=200)

    @field_validator("components")
    @classmethod
    def _unique(cls, v: list[LineComponentIn]) -> list[LineComponentIn]:
        return unique_components(v)


class LineComponentRead(BaseModel):
    component: str
    part_nos: list[str]


class ComponentListRead(BaseModel):
    product_line: str
    version: int = Field(description="counts the list's replacements (0: no list yet)")
    components: list[LineComponentRead]
    changed_at: datetime | None
    changed_by: str | None


class ProductLineCreate(StrictModel):
    code: LineCode
    name: Name
    required_skill: Skill  # dispatch matches engineers on it (40 characters there)
    components: list[LineComponentIn] | None = Field(
        None, max_length=200, description="the line's component list (issue 15); also set later with PUT components")

    @field_validator("components")
    @classmethod
    def _unique(cls, v: list[LineComponentIn] | None) -> list[LineComponentIn] | None:
        return None if v is None else unique_components(v)


class ProductLineRead(BaseModel):
    code: str
    name: str
    required_skill: str
    created_at: datetime
    components: list[LineComponentRead] = Field(default_factory=list)
    components_version: int = 0


class PolicyTerms(StrictModel):
    """Warranty terms of one policy version; every number is configuration (DOMAIN.md)."""

    months: Months
    start_basis: Literal["sale", "delivery", "installation"] = "sale"
    component_months: dict[Name, Months] = Field(default_factory=dict)
    uncovered: list[Name] = Field(default_factory=list, max_length=50)
    exclusions: list[ExclusionCode] = Field(default_factory=lambda: list(get_args(ExclusionCode)))
    return_days: int = Field(7, ge=0, le=60)
    exchange_days: int = Field(15, ge=0, le=90)
    dealer_doa_days: int = Field(7, ge=0, le=60)
    repeat_repair_threshold: int = Field(3, ge=1, le=20)
    extension_months: Months | None = None
    extension_price: Money | None = None
    repair_warranty_months: int = Field(6, ge=0, le=60)
    parts_warranty_months: int = Field(12, ge=0, le=60)
    # R-W9: the customer's share of shipping and insurance for a unit sent in, inside warranty
    shipping_customer_share: Decimal = Field(Decimal("0.50"), ge=0, le=1, max_digits=3, decimal_places=2)

    @model_validator(mode="after")
    def _consistent(self) -> PolicyTerms:
        if self.exchange_days < self.return_days:
            raise ValueError("exchange_days must not be shorter than return_days")
        if (self.extension_months is None) != (self.extension_price is None):
            raise ValueError("extension_months and extension_price go together")
        if set(self.uncovered) & set(self.component_months):
            raise ValueError("a component cannot be both covered and uncovered")
        return self


class PolicyCreate(PolicyTerms):
    effective_from: BusinessDate


class PolicyRead(BaseModel):
    id: UUID
    product_line: str
    version: int
    effective_from: date
    terms: PolicyTerms
    created_at: datetime
