"""Append-only audit trail: who did what to which settlement record, and when (every aggregate writes it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models import audit_log


async def audit(session: AsyncSession, *, actor: str, action: str, entity_type: str, entity_id: str,
                now: datetime, details: dict[str, Any] | None = None) -> None:
    """Record one audited action in the caller's transaction."""
    await session.execute(insert(audit_log).values(
        actor=actor, action=action, entity_type=entity_type, entity_id=entity_id, at=now,
        details=jsonable(details or {})))


def jsonable(value: Any) -> Any:
    """What ``json.dumps(default=str)`` made of a value: dates, Decimals and UUIDs as strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
