"""Settlement business metrics (bounded labels: status only), refreshed by ``background.py``."""

from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .domain.dispute_lifecycle import DisputeStatus
from .domain.statement_lifecycle import STATUSES
from .models import disputes, statements

STATEMENTS = Gauge("settlement_statements", "Current statements (latest revisions) by status", ["status"])
STATEMENT_AMOUNT = Gauge("settlement_statement_net_amount_cny", "Net amount of current statements by status",
                         ["status"])
OPEN_DISPUTES = Gauge("settlement_open_disputes", "Disputes awaiting a decision")


async def refresh_from(session: AsyncSession) -> None:
    """Read the gauges' values from the database once."""
    s = statements.c
    rows = {r[0]: (r[1], r[2]) for r in await session.execute(
        select(s.status, func.count(), func.coalesce(func.sum(s.net_amount), 0))
        .where(s.superseded.is_(False)).group_by(s.status))}
    open_disputes = (await session.execute(select(func.count()).select_from(disputes).where(
        disputes.c.status == str(DisputeStatus.OPEN)))).scalar_one()
    for status in STATUSES:
        n, amount = rows.get(status, (0, 0))
        STATEMENTS.labels(str(status)).set(n)
        STATEMENT_AMOUNT.labels(str(status)).set(float(amount))
    OPEN_DISPUTES.set(open_disputes)


async def refresh(app: object) -> None:
    """Refresh the gauges with a session of ``app`` (tests call it directly)."""
    async with app.state.sessions() as session:  # type: ignore[attr-defined]
        await refresh_from(session)
