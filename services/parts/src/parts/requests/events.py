"""The payload every parts.request.* event carries (the contract is ``aftersales_shared.events.parts``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def request_payload(r: dict[str, Any], now: datetime, **extra: Any) -> dict[str, Any]:
    return {"request_id": str(r["id"]), "job_id": r["job_id"], "ticket_id": r["ticket_id"],
            "dealer_id": r["dealer_id"], "at": now, "status": r["status"], "ship_by": r["ship_by"], **extra}
