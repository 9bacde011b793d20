"""What dispatch's retention job did (R-T4), over HTTP."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from aftersales_shared.schemas import ReadModel


class RetentionRunRead(ReadModel):
    id: int
    run_on: date = Field(description="the Shanghai business day of the run (one run a day)")
    started_at: datetime
    jobs_archived: int
    service_records_archived: int
    details: dict[str, Any] = Field(description="rows moved per kind, jobs held back (and why), each contract's "
                                                "retention years and cut-off")
