"""The monthly parts-replacement list (R-O1) as a JSON page."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


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
