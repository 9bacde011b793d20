"""What the retention job did (R-T4), over HTTP."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


class RetentionRunRead(BaseModel):
    id: int
    run_on: date = Field(description="the Shanghai business day of the run (one run a day)")
    started_at: datetime
    statements_archived: int
    repair_records_archived: int
    records_purged: int = Field(description="archived rows purged, past their dealer's purge_after_years")
    details: dict[str, Any] = Field(description="per dealer: retention years, cut-off, what was archived and what "
                                                "was purged (per kind)")
