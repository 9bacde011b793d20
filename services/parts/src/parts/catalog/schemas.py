"""Catalogue bodies: PartCreate in, PartRead out (prices NUMERIC(14,2), exact strings in JSON)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from aftersales_shared.money import Money
from aftersales_shared.schemas import ReadModel, StrictModel, Text

PARTNO_PATTERN = r"^[A-Za-z0-9._/-]+$"
PartNo = Annotated[str, Field(min_length=1, max_length=40, pattern=PARTNO_PATTERN)]
"""A catalogue part number (its pattern leaves out NUL, spaces and anything a URL would need to escape)."""
ProductLine = Annotated[Text, Field(max_length=60)]
MAX_PRICE = Decimal("99999999.99")
"""A part's cost or list price: up to 10^8 so price × the largest line quantity (10,000) fits NUMERIC(14,2)."""
Price = Annotated[Money, Field(le=MAX_PRICE)]


class PartCreate(StrictModel):
    part_no: PartNo
    name: Text
    product_lines: list[ProductLine] = Field(min_length=1, max_length=50)
    cost_price: Price
    list_price: Price
    serialised: bool = False
    must_return: bool = False
    parts_warranty_months: int = Field(12, ge=0, le=120)


class PartUpdate(StrictModel):
    """A change to a catalogue part (only the fields given change); ``active: false`` withdraws it (it stays for
    history and stock, and consumers stop accepting it for new component lists and quotes), ``true`` reinstates it.
    Every change that changes something bumps ``version`` and is announced as ``parts.catalog.part_changed``."""

    name: Text | None = None
    product_lines: list[ProductLine] | None = Field(None, min_length=1, max_length=50)
    cost_price: Price | None = None
    list_price: Price | None = None
    must_return: bool | None = None
    parts_warranty_months: int | None = Field(None, ge=0, le=120)
    active: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> PartUpdate:
        if not self.model_fields_set or all(getattr(self, f) is None for f in self.model_fields_set):
            raise ValueError("name at least one field to change")
        return self


class RepublishRead(BaseModel):
    published: int = Field(description="catalogue parts announced again (active and withdrawn)")


class PartRead(ReadModel):
    part_no: str
    name: str
    product_lines: list[str]
    cost_price: Money
    list_price: Money
    serialised: bool
    must_return: bool
    parts_warranty_months: int
    version: int = 1
    active: bool = True
    updated_at: datetime | None = None
