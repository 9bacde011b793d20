"""Catalogue bodies: PartCreate in, PartRead out (prices NUMERIC(14,2), exact strings in JSON)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from aftersales_shared.money import Money
from aftersales_shared.schemas import ReadModel, StrictModel

PartNo = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._/-]+$")]


class PartCreate(StrictModel):
    part_no: PartNo
    name: str = Field(min_length=1, max_length=200)
    product_lines: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(min_length=1, max_length=50)
    cost_price: Money
    list_price: Money
    serialised: bool = False
    must_return: bool = False
    parts_warranty_months: int = Field(12, ge=0, le=120)


class PartRead(ReadModel):
    part_no: str
    name: str
    product_lines: list[str]
    cost_price: Money
    list_price: Money
    serialised: bool
    must_return: bool
    parts_warranty_months: int
