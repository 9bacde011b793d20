"""The one strict base model every request schema derives from, the shared read base, and the boundary types
(text, dates, months, quarters, paging) every service validates its input with."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from .clock import business_date


class StrictModel(BaseModel):
    """A request body: unknown fields are refused (422 naming them), surrounding whitespace is dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReadModel(BaseModel):
    """A response body: built from rows or dicts by attribute or key."""

    model_config = ConfigDict(from_attributes=True)


class TermsInForceRead(ReadModel):
    """Effective-dated terms (``aftersales_shared.terms``) in force on a date; a service's model adds whose terms
    they are and their typed values."""

    on: date
    version: int | None = Field(description="the latest change in force on that date (null: configured defaults)")
    source: dict[str, int | None] = Field(description="per term: the change version it comes from (null: default)")


class TermsChangeRead(ReadModel):
    """One recorded change of effective-dated terms: which terms it set from when, who set them and why; a
    service's model adds whose terms they are."""

    version: int
    effective_from: date
    values: dict[str, Any] = Field(description="the terms this change set, as stored (amounts as strings)")
    reason: str | None
    created_by: str
    created_at: datetime


# --- boundary types (issue 13): one range for every producer and consumer ---------------------------------
# A value a service accepts must be one every consumer of its events can book: dates, months and quarters
# are limited to the business range below, which settlement's quarters, the SLA calendars and Postgres all hold.

BUSINESS_DATE_MIN = date(2000, 1, 1)
BUSINESS_DATE_MAX = date(2199, 12, 31)
"""The business range: the first and last day a fact may carry (settlement's quarters run 2000Q1–2199Q4)."""

MAX_OFFSET = 1_000_000
MAX_LIMIT = 1000


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _in_business_range(value: date) -> date:
    # an instant counts on the Shanghai business day it falls on, as every consumer books it
    try:
        day = business_date(value) if isinstance(value, datetime) else value
    except OverflowError:  # a year-1 or year-9999 instant has no Shanghai day at all
        raise ValueError(f"must be between {BUSINESS_DATE_MIN} and {BUSINESS_DATE_MAX}") from None
    if not BUSINESS_DATE_MIN <= day <= BUSINESS_DATE_MAX:
        raise ValueError(f"must be between {BUSINESS_DATE_MIN} and {BUSINESS_DATE_MAX}")
    return value


def text(max_length: int = 200, *, min_length: int = 1, pattern: str | None = None) -> object:
    """A text field: no NUL character, trimmed, ``min_length``..``max_length`` characters."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length,
                                            pattern=pattern), AfterValidator(_no_nul)]


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_nul)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000),
                     AfterValidator(_no_nul)]
BusinessDate = Annotated[date, AfterValidator(_in_business_range)]
"""A calendar date inside the business range (a sale, a delivery, a delay's start)."""
BusinessDateTime = Annotated[AwareDatetime, AfterValidator(_in_business_range)]
"""An aware instant inside the business range."""

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def _month(value: str) -> str:
    m = _MONTH.match(value)
    if not m or not BUSINESS_DATE_MIN.year <= int(m.group(1)) <= BUSINESS_DATE_MAX.year:
        raise ValueError(f"must be a month YYYY-MM from {BUSINESS_DATE_MIN:%Y-%m} to {BUSINESS_DATE_MAX:%Y-%m}")
    return value


def _quarter(value: str) -> str:
    m = _QUARTER.match(value)
    if not m or not BUSINESS_DATE_MIN.year <= int(m.group(1)) <= BUSINESS_DATE_MAX.year:
        raise ValueError(f"must be a quarter YYYYQn from {BUSINESS_DATE_MIN.year}Q1 to {BUSINESS_DATE_MAX.year}Q4")
    return value


Month = Annotated[str, AfterValidator(_month), Field(examples=["2026-11"])]
Quarter = Annotated[str, AfterValidator(_quarter), Field(examples=["2026Q4"])]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
