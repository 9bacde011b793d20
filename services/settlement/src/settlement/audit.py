"""Append-only audit trail: who did what to which settlement record, and when."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def audit(session: AsyncSession, *, actor: str, action: str, entity_type: str, entity_id: str,
                details: dict[str, Any] | None = None) -> None:
    """Record one audited action in the caller's transaction."""
    await session.execute(
        text("INSERT INTO audit_log (actor, action, entity_type, entity_id, details) "
             "VALUES (:a, :act, :t, :id, CAST(:d AS jsonb))"),
        {"a": actor, "act": action, "t": entity_type, "id": entity_id, "d": json.dumps(details or {}, default=str)},
    )
