"""Bodies of the repairs API (issue 15): the engineer's diagnosis, rate cards, quotes, payments, the report."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from aftersales_shared.money import Money
from aftersales_shared.schemas import BusinessDateTime, LongText, ReadModel, StrictModel, Text

from ..domain.repair_lifecycle import ExclusionCode, RootCause
from ..fields import Name, Reason, Serial


class FailedComponent(StrictModel):
    """A failed component of the product line, linked to the catalogue part number when one is known. Checked
    against the product line's component list once it has reached dispatch (``components_validated``)."""

    component: Name
    part_no: Serial | None = None


class DiagnosisIn(StrictModel):
    """The engineer's diagnosis: failed components, the root-cause class (R-T3), any exclusion found (R-W3) and
    the evidence (photo references). An exclusion needs evidence (422 naming ``evidence`` otherwise)."""

    components: list[FailedComponent] = Field(min_length=1, max_length=20)
    root_cause: RootCause
    exclusions: list[ExclusionCode] = Field(default_factory=list, max_length=9)
    evidence: list[Reason] = Field(default_factory=list, max_length=30)
    note: LongText | None = None

    @field_validator("exclusions")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("an exclusion is named once")
        return v


class DiagnosisRead(ReadModel):
    job_id: str
    engineer_id: str | None
    revision: int
    components: list[dict[str, Any]]
    root_cause: str | None
    exclusions: list[str]
    evidence: list[str]
    note: str | None
    recorded_at: datetime
    updated_at: datetime
    coverage: str = Field(description="the job's coverage as ticketing last decided it")
    coverage_reason: str | None = None
    points_to_paid: bool = Field(description="the findings make the repair paid (ticketing decides and says so)")
    components_validated: bool = Field(
        False, description="the components were checked against the product line's component list; false: no list "
                           "had reached dispatch when it was recorded, accepted as named")
    components_note: str | None = None


class LineComponentRead(BaseModel):
    component: str
    part_nos: list[str]


class LineComponentsRead(ReadModel):
    """A product line's component list as dispatch holds it (from ticketing's catalogue)."""

    product_line: str
    version: int
    components: list[LineComponentRead]
    changed_at: datetime
    received_at: datetime


class CoverageRead(BaseModel):
    coverage: str
    coverage_reason: str | None


# --- paid repairs: rate cards, quotes, payments ----------------------------------------------------------

class RateCardIn(StrictModel):
    """A product line's paid-repair prices from a date on (R-W9 share: 0..1 of shipping and insurance)."""

    labour_per_hour: Money
    visit_fee: Money
    declined_visit_fee: Money = Field(description="charged when the customer declines the quote")
    shipping_fee: Money = Decimal("0")
    customer_shipping_share: Decimal = Field(Decimal("1"), ge=0, le=1, max_digits=5, decimal_places=4)
    quote_valid_hours: int = Field(72, ge=1, le=24 * 90)


class RateCardRead(ReadModel):
    product_line: str
    effective_from: date
    labour_per_hour: Money
    visit_fee: Money
    declined_visit_fee: Money
    shipping_fee: Money
    customer_shipping_share: Decimal
    quote_valid_hours: int
    updated_by: str
    updated_at: datetime


class QuotePartIn(StrictModel):
    part_no: Serial
    description: Name | None = Field(None, description="default: the part's catalogue name")
    quantity: int = Field(1, ge=1, le=1000)
    list_price: Money | None = Field(None, description=(
        "optional: the part is charged at the parts catalogue's list price; a price sent must be that one "
        "(else 422 list_price_mismatch)"))


class QuoteIn(StrictModel):
    """What the engineer quotes on site: labour minutes, parts, and whether the unit is sent in (R-W9 shipping)."""

    labour_minutes: int = Field(ge=0, le=60 * 24 * 7)
    parts: list[QuotePartIn] = Field(default_factory=list, max_length=50)
    ship_in: bool = False


class QuoteAcceptIn(StrictModel):
    """The customer accepts: the signature's reference and the name signed with."""

    signature_ref: Reason
    signed_by: Name


class QuoteDeclineIn(StrictModel):
    reason: Reason | None = None
    device_time: BusinessDateTime | None = Field(None, description="when it happened on site (default: now)")


class QuoteLineRead(BaseModel):
    kind: str
    description: str
    amount: Money
    part_no: str | None
    quantity: int


class QuoteRead(ReadModel):
    id: str
    job_id: str
    engineer_id: str | None
    status: str
    lines: list[QuoteLineRead]
    total: Money
    declined_fee: Money
    rate_card_from: date
    valid_until: datetime
    presented_at: datetime
    decided_at: datetime | None
    signature_ref: str | None
    signed_by: str | None
    decline_reason: str | None
    amount_due: Money = Decimal("0")
    paid: Money = Decimal("0")


class PaymentIn(StrictModel):
    """A payment the customer made for the job's quote (or the declined quote's visit fee)."""

    amount: Money = Field(gt=0)
    method: Literal["cash", "wechat", "alipay", "card", "bank_transfer"]
    receipt_no: Annotated[Text, Field(max_length=64)]


class PaymentRead(ReadModel):
    id: str
    job_id: str
    quote_id: str
    amount: Money
    method: str
    receipt_no: str
    recorded_by: str
    recorded_at: datetime


class PaidRepairReport(BaseModel):
    """Paid repairs (issue 15) over quotes presented in [date_from, date_to] (business days, Asia/Shanghai)."""

    date_from: date
    date_to: date
    quotes_presented: int
    quotes_accepted: int
    quotes_declined: int
    quoted_total: Money = Field(description="sum of the accepted quotes")
    revenue: Money = Field(description="payments recorded for those jobs")
    revenue_by_method: dict[str, Money]
    outstanding: Money = Field(description="amount due (accepted totals and declined visit fees) not yet paid")
