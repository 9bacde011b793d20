"""R-P7 parts budget bodies: PartsBudgetPut in, PartsBudgetRead out (amounts as exact strings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer

from aftersales_shared.money import Money
from aftersales_shared.schemas import ReadModel, StrictModel

from ..wire import Instant

Percent = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")]


class PartsBudgetPut(StrictModel):
    """R-P7: the dealer's remittance (回款) for the quarter; the budget is ``percent`` of it."""

    remittance: Money
    percent: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)


class PartsBudgetRead(ReadModel):
    dealer_id: str
    quarter: str
    remittance: Money
    percent: Percent
    budget: Money
    used: Money
    remaining: Money
    excess_charged: Money
    updated_at: Instant
    updated_by: str


