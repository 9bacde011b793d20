"""SLA liquidated damages (R-S9) over HTTP: the charged lines and finance's waiver."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, PlainSerializer, model_validator

from aftersales_shared.money import Money
from aftersales_shared.schemas import LongText, ReadModel, StrictModel

Note = Annotated[LongText, Field(max_length=2000)]


class WaiverCreate(StrictModel):
    """Why finance waives the damages: force majeure, or a delay the customer caused (with its evidence)."""

    kind: Literal["force_majeure", "customer_delay"]
    evidence: Note | None = Field(None, description="required for customer_delay: what shows the customer's delay")
    note: Note | None = None

    @model_validator(mode="after")
    def _evidence(self) -> WaiverCreate:
        if self.kind == "customer_delay" and not self.evidence:
            raise ValueError("a customer-caused delay is waived only with evidence")
        return self


class SlaPenaltyRead(ReadModel):
    id: UUID
    dealer_id: str
    job_id: str
    milestone: str
    breached_at: datetime
    deadline: datetime
    basis: str = Field(description="percent (of the service value) or fixed")
    service_value: Money | None
    percent: Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")] | None
    amount: Money
    terms_version: int | None = Field(description="the dealer's terms version in force on the breach date")
    status: Literal["charged", "waived"]
    waiver_kind: str | None
    waiver_evidence: str | None
    waiver_note: str | None
    waived_by: str | None
    waived_at: datetime | None
