"""Warehouse and stock bodies: XCreate / movement bodies in, XRead out."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from aftersales_shared.schemas import ReadModel, StrictModel

from ..catalog.schemas import PartNo

Id = Annotated[str, Field(min_length=1, max_length=64)]


class WarehouseCreate(StrictModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["central", "regional", "dealer_depot", "engineer_van"]
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    dealer_id: Id | None = None
    engineer_id: Id | None = None


class WarehouseRead(ReadModel):
    id: str
    code: str
    name: str
    kind: str
    lat: float
    lon: float
    dealer_id: str | None
    engineer_id: str | None


class StockLineRead(ReadModel):
    part_no: str
    on_hand: int
    reserved: int
    available: int
    reorder_point: int


class LowStockRead(StockLineRead):
    warehouse_id: str


class Receipt(StrictModel):
    warehouse_id: Id
    part_no: PartNo
    quantity: int = Field(gt=0, le=1_000_000)
    reference: str | None = Field(None, max_length=100)


class ReceiptRead(ReadModel):
    on_hand: int
    backorder_lines_filled: int


class Transfer(StrictModel):
    from_warehouse_id: Id
    to_warehouse_id: Id
    part_no: PartNo
    quantity: int = Field(gt=0, le=1_000_000)


class TransferRead(ReadModel):
    moved: int
    backorder_lines_filled: int


class Adjustment(StrictModel):
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


class AdjustmentRead(ReadModel):
    on_hand: int
    reserved: int
    backorder_lines_filled: int


class ReorderPoint(StrictModel):
    warehouse_id: Id
    part_no: PartNo
    reorder_point: int = Field(ge=0, le=1_000_000)


class ReorderPointRead(ReadModel):
    warehouse_id: str
    part_no: str
    reorder_point: int
    available: int


class BaseStockRead(ReadModel):
    """R-P5: base stock of one compatible part for a dealer."""

    part_no: str
    name: str
    registered_sales: int
    suggested: int
    depot_on_hand: int
    shortfall: int
