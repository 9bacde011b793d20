"""Old-part return bodies (R-P4): ReturnReceipt in; ReturnRead, ReturnReceiptRead out."""

from __future__ import annotations

from typing import Literal

from aftersales_shared.money import Money
from aftersales_shared.schemas import ReadModel, StrictModel

from ..stock.schemas import WarehouseId
from ..wire import Instant


class ReturnReceipt(StrictModel):
    appraisal: Literal["reusable", "scrap"]
    warehouse_id: WarehouseId | None = None


class ReturnRead(ReadModel):
    id: str
    request_id: str | None
    job_id: str | None
    dealer_id: str | None
    engineer_id: str | None
    part_no: str
    quantity: int
    old_serial: str | None
    cost_price: Money
    due_on: Instant
    status: Literal["due", "received", "missed"]
    appraisal: str | None
    received_at: Instant | None
    chargeback_amount: Money | None


class ReturnReceiptRead(ReadModel):
    id: str
    status: Literal["received"]
    appraisal: Literal["reusable", "scrap"]
