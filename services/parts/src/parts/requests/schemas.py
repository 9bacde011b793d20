"""Part request bodies: RequestCreate and the gate/shipping bodies in; RequestRead (what POST and GET answer),
RequestSummary (listings), ShippedRequestRead (with the R-P7 budget draw) and CommitmentRead out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from aftersales_shared.money import Money
from aftersales_shared.schemas import ReadModel, StrictModel, Text

from ..catalog.schemas import PartNo
from ..wire import Instant

Id = Annotated[Text, Field(max_length=64)]
"""A job, ticket, dealer or engineer id (64 characters, as the columns hold them)."""
MAX_LINE_QUANTITY = 10_000


class ShipTo(StrictModel):
    address: Annotated[Text, Field(max_length=300)]
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)

    @model_validator(mode="after")
    def _pair(self) -> ShipTo:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        return self


class Line(StrictModel):
    part_no: PartNo
    quantity: int = Field(gt=0, le=MAX_LINE_QUANTITY)


class RequestCreate(StrictModel):
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


class Payment(StrictModel):
    reference: Annotated[Text, Field(max_length=100)]


class Document(StrictModel):
    kind: Literal["replacement_list", "old_part_waybill"]
    reference: Text


class Shipment(StrictModel):
    carrier: Annotated[Text, Field(max_length=60)]
    tracking_no: Annotated[Text, Field(max_length=60)]
    standard_freight: Money | None = None
    urgent_freight: Money | None = None


RequestStatusName = Literal["allocated", "backordered", "shipped", "delivered", "cancelled"]


class LineRead(ReadModel):
    id: str
    line_no: int
    part_no: str
    quantity: int
    status: str


class ReservationRead(ReadModel):
    id: str
    line_id: str
    warehouse_id: str
    part_no: str
    quantity: int
    status: str


class ShipmentRead(ReadModel):
    id: str
    carrier: str
    tracking_no: str
    urgent_surcharge: Money
    shipped_at: Instant
    delivered_at: Instant | None
    budget_quarter: str | None
    budget_value: Money | None
    budget_excess: Money | None


class RequestRead(ReadModel):
    """A request as POST (the PL/pgSQL function's JSON) and GET answer it."""

    id: str
    requester_kind: str
    job_id: str | None
    ticket_id: str | None
    dealer_id: str | None
    engineer_id: str | None
    coverage: str
    urgent: bool
    ship_to_address: str
    ship_to_lat: float | None
    ship_to_lon: float | None
    status: RequestStatusName
    created_at: Instant
    shippable_at: Instant | None
    ship_by: Instant | None
    payment_recorded_at: Instant | None
    payment_reference: str | None
    documents: dict[str, Any]
    shipped_at: Instant | None
    delivered_at: Instant | None
    lines: list[LineRead]
    reservations: list[ReservationRead]
    shipment: ShipmentRead | None


class EnforcedDraw(ReadModel):
    """R-P7: the shipment drew on the dealer's budget for the quarter; ``excess`` is charged."""

    quarter: str
    value: Money
    enforced: Literal[True]
    excess: Money


class UnenforcedDraw(ReadModel):
    """R-P7: no budget recorded for the quarter: not enforced, nothing charged."""

    quarter: str
    value: Money
    enforced: Literal[False]
    excess: None
    reason: str


class ShippedRequestRead(RequestRead):
    parts_budget: EnforcedDraw | UnenforcedDraw | None
    """The R-P7 draw of a dealer's own warranty request; null when the shipment is not a dealer draw."""


class RequestSummary(ReadModel):
    id: str
    requester_kind: str
    job_id: str | None
    dealer_id: str | None
    engineer_id: str | None
    coverage: str
    urgent: bool
    status: RequestStatusName
    ship_by: Instant | None
    created_at: Instant


class CommitmentRead(ReadModel):
    """An open request at risk of missing (or past) its ship-by time (R-P1)."""

    id: str
    status: str
    dealer_id: str | None
    job_id: str | None
    engineer_id: str | None
    coverage: str
    urgent: bool
    ship_by: Instant
    created_at: Instant


