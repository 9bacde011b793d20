"""A ticket's coverage after diagnosis decides its part requests' gates (issue 15, R-P2/R-P3).

``ticketing.ticket.coverage_changed`` (``consumers.py``) is kept in ``ticket_coverage`` and re-gates the ticket's
open requests (the ticket's own and those of its jobs): a repair that became paid ships only after payment
(R-P2), one put back in warranty follows the warranty gate (R-P3). A new request naming a ticket (or a job of a
ticket) parts knows as paid is a paid order whatever the requester sent (:func:`gated`, one index lookup, only
for a warranty request that names a ticket or job).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..config import PartsSettings
from ..domain import request_lifecycle as lifecycle
from ..domain.request_lifecycle import RequestStatus
from ..models import job_engineers
from ..models import requests as rq
from . import service
from .schemas import RequestCreate

_UPSERT = sa.text("""
INSERT INTO ticket_coverage AS c (ticket_id, coverage, reason, changed_at, updated_at)
VALUES (:t, :cov, :reason, :at, :now)
ON CONFLICT (ticket_id) DO UPDATE SET coverage = EXCLUDED.coverage, reason = EXCLUDED.reason,
    changed_at = EXCLUDED.changed_at, updated_at = EXCLUDED.updated_at
WHERE c.changed_at < EXCLUDED.changed_at
RETURNING ticket_id
""")
_COVERAGE_OF = """
SELECT coverage FROM ticket_coverage
WHERE ticket_id = COALESCE($1::text, (SELECT ticket_id FROM job_engineers WHERE job_id = $2::text))
"""


def gate_of(coverage: str) -> str:
    """A ticket's coverage as the parts gate sees it: paid, or warranty (extended cover is warranty here)."""
    return "paid" if coverage == "paid" else "warranty"


async def coverage_changed(session: AsyncSession, settings: PartsSettings, p: Any, *, now: datetime) -> int:
    """Keep the ticket's new coverage (unless a newer decision is already kept) and re-gate its open requests;
    returns how many requests changed gate."""
    gate = gate_of(p.to_coverage)
    kept = (await session.execute(_UPSERT, {"t": p.ticket_id, "cov": gate, "reason": p.reason, "at": p.changed_at,
                                            "now": now})).first()
    if kept is None:
        return 0  # an older decision than the one on record
    open_ = [s.value for s in RequestStatus if lifecycle.can_move(s, RequestStatus.CANCELLED)]
    of_ticket = sa.or_(rq.c.ticket_id == p.ticket_id, rq.c.job_id.in_(
        sa.select(job_engineers.c.job_id).where(job_engineers.c.ticket_id == p.ticket_id)))
    ids = (await session.scalars(sa.select(rq.c.id).where(
        of_ticket, rq.c.status.in_(open_), rq.c.coverage != gate).order_by(rq.c.id).with_for_update())).all()
    for rid in ids:
        await service.regate(session, settings, rid, coverage=gate, now=now)
    return len(ids)


async def gated(pool: asyncpg.Pool, body: RequestCreate) -> RequestCreate:
    """The request as the gate must treat it: paid when its ticket (or its job's ticket) is known to be paid."""
    if body.coverage == "paid" or not (body.ticket_id or body.job_id):
        return body
    coverage = await pool.fetchval(_COVERAGE_OF, body.ticket_id, body.job_id)
    return body.model_copy(update={"coverage": "paid"}) if coverage == "paid" else body
