"""Settlement business metrics (bounded labels: status only), refreshed by a background job."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from prometheus_client import Gauge
from sqlalchemy import text

STATEMENTS = Gauge("settlement_statements", "Current statements (latest revisions) by status", ["status"])
STATEMENT_AMOUNT = Gauge("settlement_statement_net_amount_cny", "Net amount of current statements by status",
                         ["status"])
OPEN_DISPUTES = Gauge("settlement_open_disputes", "Disputes awaiting a decision")
STATUSES = ("draft", "reviewed", "approved", "paid")


async def refresh(app: FastAPI) -> None:
    """Read the gauges' values from the database once."""
    async with app.state.sessions() as session:
        rows = {r[0]: (r[1], r[2]) for r in await session.execute(text(
            "SELECT status, count(*), coalesce(sum(net_amount), 0) FROM statements WHERE NOT superseded "
            "GROUP BY status"))}
        disputes = (await session.execute(text("SELECT count(*) FROM disputes WHERE status = 'open'"))).scalar_one()
    for s in STATUSES:
        n, amount = rows.get(s, (0, 0))
        STATEMENTS.labels(s).set(n)
        STATEMENT_AMOUNT.labels(s).set(float(amount))
    OPEN_DISPUTES.set(disputes)


def background(app: FastAPI) -> list:
    async def metrics_job() -> None:
        await refresh(app)
        await asyncio.sleep(30)

    return [metrics_job]
