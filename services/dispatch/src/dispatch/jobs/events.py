"""The payload every job event carries (job, ticket, visit, engineer, dealer), plus what the event adds (``job``: an
ORM row or a plain row with those columns)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def job_payload(job: Any, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"job_id": job.id, "ticket_id": job.ticket_id, "at": at, "engineer_id": job.engineer_id,
            "dealer_id": job.engineer_dealer_id, "visit": job.visit, **extra}
