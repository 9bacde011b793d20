"""Bodies of the reports API."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

Dimension = Literal["zone_class", "contract", "dealer", "engineer", "day", "month"]


class AttainmentRow(BaseModel):
    """One milestone for one value of the dimension; that value sits under the dimension's name."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "description": "plus one key named by `by` (e.g. \"dealer\": \"D1\")"})

    milestone: str
    met: int
    missed: int
    attainment: float


class SlaAttainmentRead(BaseModel):
    by: Dimension
    date_from: date
    date_to: date
    rows: list[AttainmentRow]
