"""Warehouse and stock bodies: XCreate / movement bodies in, XRead out."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from aftersales_shared.schemas import ReadModel, StrictModel, Text

from ..catalog.schemas import PartNo

Id = Annotated[Text, Field(max_length=64)]
"""A dealer's or engineer's id (as the tokens carry it)."""
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
WarehouseId = Annotated[str, Field(pattern=_UUID, examples=["0b8f5e3a-6d1c-4a3e-9f0a-1c2d3e4f5a6b"])]
"""A warehouse id: the UUID ``POST /v1/warehouses`` answered (else 422 naming the field)."""
MAX_QUANTITY = 1_000_000
"""One movement's quantity; a balance beyond what its INTEGER column holds is refused (409 ``stock_out_of_range``)."""
Quantity = Annotated[int, Field(gt=0, le=MAX_QUANTITY)]


class WarehouseCreate(StrictModel):
    code: Annotated[Text, Field(max_length=40)]
    name: Text
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
    warehouse_id: WarehouseId
    part_no: PartNo
    quantity: Quantity
    reference: Annotated[Text, Field(max_length=100)] | None = None


class ReceiptRead(ReadModel):
    on_hand: int
    backorder_lines_filled: int


class Transfer(StrictModel):
    from_warehouse_id: WarehouseId
    to_warehouse_id: WarehouseId
    part_no: PartNo
    quantity: Quantity


class TransferRead(ReadModel):
    moved: int
    backorder_lines_filled: int


class Adjustment(StrictModel):
    warehouse_id: WarehouseId
    part_no: PartNo
    kind: Literal["adjust", "scrap"] = "adjust"
    quantity: int = Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)
    reason: Annotated[Text, Field(min_length=3)]

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
    warehouse_id: WarehouseId
    part_no: PartNo
    reorder_point: int = Field(ge=0, le=MAX_QUANTITY)


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
