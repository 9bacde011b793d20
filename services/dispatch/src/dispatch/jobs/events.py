"""The payload every job event carries (job, ticket, visit, engineer, dealer), plus what the event adds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import Job


def job_payload(job: Job, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"job_id": job.id, "ticket_id": job.ticket_id, "at": at, "engineer_id": job.engineer_id,
            "dealer_id": job.engineer_dealer_id, "visit": job.visit, **extra}
