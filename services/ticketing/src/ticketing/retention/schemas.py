"""What the retention job did (R-T4), over HTTP."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


class RetentionRunRead(BaseModel):
    id: int
    run_on: date = Field(description="the Shanghai business day of the run (one run a day)")
    started_at: datetime
    retention_years: int = Field(description="the configured default (a contract's own terms: details.contracts)")
    cutoff: date = Field(description="finished tickets without their own terms closed before this business day were "
                                     "past retention")
    tickets_archived: int
    records_purged: int = Field(description="archived tickets purged, past their contract's purge_after_years")
    details: dict[str, Any] = Field(description="rows moved per kind, tickets held back (and why), per contract "
                                                "with its own terms: years, cut-off, archived; purged per contract")
