"""Request/response bodies of the parts API (strict validation; money as 2-place Decimal)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PartNo = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._/-]+$")]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Id = Annotated[str, Field(min_length=1, max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PartCreate(Strict):
    part_no: PartNo
    name: str = Field(min_length=1, max_length=200)
    product_lines: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(min_length=1, max_length=50)
    cost_price: Money
    list_price: Money
    serialised: bool = False
    must_return: bool = False
    parts_warranty_months: int = Field(12, ge=0, le=120)


class WarehouseCreate(Strict):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["central", "regional", "dealer_depot", "engineer_van"]
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    dealer_id: Id | None = None
    engineer_id: Id | None = None


class Receipt(Strict):
    warehouse_id: Id
    part_no: PartNo
    quantity: int = Field(gt=0, le=1_000_000)
    reference: str | None = Field(None, max_length=100)


class Transfer(Strict):
    from_warehouse_id: Id
    to_warehouse_id: Id
    part_no: PartNo
    quantity: int = Field(gt=0, le=1_000_000)


class Adjustment(Strict):
    warehouse_id: Id
    part_no: PartNo
    kind: Literal["adjust", "scrap"] = "adjust"
    quantity: int = Field(ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=3, max_length=200)

    @field_validator("quantity")
    @classmethod
    def _nonzero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("must not be 0")
        return v


class ReorderPoint(Strict):
    warehouse_id: Id
    part_no: PartNo
    reorder_point: int = Field(ge=0, le=1_000_000)


class ShipTo(Strict):
    address: str = Field(min_length=1, max_length=300)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)

    @model_validator(mode="after")
    def _pair(self) -> "ShipTo":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        return self


class Line(Strict):
    part_no: PartNo
    quantity: int = Field(gt=0, le=10_000)


class RequestCreate(Strict):
    lines: list[Line] = Field(min_length=1, max_length=50)
    coverage: Literal["warranty", "paid"]
    urgent: bool = False
    ship_to: ShipTo
    job_id: Id | None = None
    ticket_id: Id | None = None
    dealer_id: Id | None = None
    engineer_id: Id | None = None

    @field_validator("lines")
    @classmethod
    def _distinct(cls, v: list[Line]) -> list[Line]:
        if len({ln.part_no for ln in v}) != len(v):
            raise ValueError("each part appears on one line only")
        return v


class Payment(Strict):
    reference: str = Field(min_length=1, max_length=100)


class Document(Strict):
    kind: Literal["replacement_list", "old_part_waybill"]
    reference: str = Field(min_length=1, max_length=200)


class Shipment(Strict):
    carrier: str = Field(min_length=1, max_length=60)
    tracking_no: str = Field(min_length=1, max_length=60)
    standard_freight: Money | None = None
    urgent_freight: Money | None = None


class ReturnReceipt(Strict):
    appraisal: Literal["reusable", "scrap"]
    warehouse_id: Id | None = None


class PartsBudgetPut(Strict):
    """R-P7: the dealer's remittance (回款) for the quarter; the budget is ``percent`` of it."""

    remittance: Money
    percent: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
