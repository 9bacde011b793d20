"""The monthly parts-replacement list (R-O1), the availability horizon (R-P8) and the seasonal plan (R-P9)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from aftersales_shared.schemas import BusinessDate, StrictModel


class ReplacementRow(BaseModel):
    """One part a completed job used; ``return_status``: the old part's expected return (R-P4), if any."""

    replaced_at: datetime
    dealer_id: str | None
    job_id: str
    ticket_id: str | None
    product_line: str
    serial: str
    part_no: str
    part_name: str | None
    quantity: int
    old_serial: str | None
    new_serial: str | None
    old_part_kept: bool
    coverage: str
    root_cause: str | None
    return_status: str | None


class ReplacementPage(BaseModel):
    month: str
    total: int
    offset: int
    limit: int
    items: list[ReplacementRow]


class ProductLinePut(StrictModel):
    """A product line's end of sale (null: still on sale) and, if its contract says other than the configured
    default, the years its parts stay available after it (R-P8)."""

    end_of_sale: BusinessDate | None = None
    availability_years: Annotated[int, Field(ge=1, le=100)] | None = None


class ProductLineRead(BaseModel):
    product_line: str
    end_of_sale: date | None
    availability_years: int | None = Field(description="null: the configured default (PARTS_AVAILABILITY_YEARS)")
    updated_by: str
    updated_at: datetime


class HorizonRow(BaseModel):
    """A part whose availability horizon (R-P8) is near: the latest of its product lines' end of sale + years."""

    part_no: str
    name: str
    product_lines: list[str]
    available_until: date
    days_left: int
    on_hand: int


class HorizonPage(BaseModel):
    on: date
    within_months: int
    total: int
    offset: int
    limit: int
    items: list[HorizonRow]


class SeasonalRow(BaseModel):
    part_no: str
    name: str | None
    last_year_quantity: int
    suggested: int
    depot_on_hand: int
    shortfall: int


class SeasonalPlanRead(BaseModel):
    """R-P9: a dealer's seasonal stock suggestion for ``window_start``…``window_end`` (exclusive), from what its
    engineers replaced in last year's same window."""

    dealer_id: str
    ahead_days: int
    window_start: date
    window_end: date
    last_year_start: date
    last_year_end: date
    items: list[SeasonalRow]
