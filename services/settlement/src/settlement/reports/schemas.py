"""Reports the contracts ask to be sent (R-O1, R-T5): one page of rows each, as JSON (CSV/XLSX in ``exports``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel


class PartLine(BaseModel):
    part_no: str
    quantity: int
    old_serial: str | None = None
    new_serial: str | None = None


class RepairRow(BaseModel):
    """One completed job of a dealer's engineer, as its service record says."""

    job_id: str
    dealer_id: str
    ticket_id: str | None
    engineer_id: str | None
    completed_at: datetime
    product_line: str
    serial: str
    coverage: str
    root_cause: str | None
    parts: list[PartLine]
    labour_minutes: int
    home_visit: bool
    remote: bool
    sla_met: dict[str, bool]


class QualityRow(BaseModel):
    """Failures of one product line × part × root cause in the month (R-O1 quality feedback); ``part_no`` None:
    repairs that replaced no part."""

    product_line: str
    part_no: str | None
    root_cause: str
    failures: int
    quantity: int


class RateRow(BaseModel):
    """A dealer's callback rate (callbacks / repairs, R-T5 target from its terms in force on the month's first
    day) and complaint rate (upheld complaints / registered sales, R-D7) in the month; a rate without a
    denominator is null."""

    dealer_id: str
    repairs: int
    callbacks: int
    callback_rate: Decimal | None
    callback_target: Decimal
    callback_target_met: bool
    complaints_upheld: int
    registered_sales: int
    complaint_rate: Decimal | None


class RepairPage(BaseModel):
    month: str
    total: int
    offset: int
    limit: int
    items: list[RepairRow]


class QualityPage(BaseModel):
    month: str
    total: int
    offset: int
    limit: int
    items: list[QualityRow]


class RatePage(BaseModel):
    month: str
    total: int
    offset: int
    limit: int
    items: list[RateRow]
