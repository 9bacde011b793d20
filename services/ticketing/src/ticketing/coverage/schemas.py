"""Bodies of the coverage API: a call-center override, the coverage with its audited history."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from aftersales_shared.schemas import StrictModel

from ..fields import Reason


class CoverageOverride(StrictModel):
    """The call center sets a ticket's coverage, saying why (audited)."""

    coverage: Literal["warranty", "extended", "paid"]
    reason: Reason


class CoverageChangeRead(BaseModel):
    job_id: str | None
    source: str
    from_coverage: str
    to_coverage: str
    reason: str
    exclusions: list[str]
    root_cause: str | None
    actor: str
    at: datetime


class CoverageRead(BaseModel):
    ticket_id: str
    ticket_no: str
    coverage: str
    coverage_reason: str | None
    root_cause: str | None
    exclusions: list[str]
    changes: list[CoverageChangeRead]
