"""Ticketing service: FastAPI app factory."""

import asyncio
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from aftersales_shared.app import ServiceParts, create_service_app
from aftersales_shared.group_commit import GroupCommit
from aftersales_shared.events import registry

from .api import callbacks, catalog, complaints, tickets, units
from .config import TicketingSettings
from .consumers import consumer_specs
from .intake import write_batch
from .metrics import OPEN_BACKLOG
from .models import OPEN_STATUSES

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
BACKLOG_REFRESH_SECONDS = 15


def _background(app: FastAPI) -> list:
    async def refresh_backlog() -> None:
        """Open backlog by status for the dashboards; the database is the truth, so read it."""
        async with app.state.sessions() as session:
            counts = dict((await session.execute(sa.text(
                "SELECT status, count(*) FROM tickets WHERE status = ANY(:open) GROUP BY status"),
                {"open": list(OPEN_STATUSES)})).all())
        for status in OPEN_STATUSES:
            OPEN_BACKLOG.labels(status).set(counts.get(status, 0))
        await asyncio.sleep(BACKLOG_REFRESH_SECONDS)

    return [refresh_backlog]


async def _start_intake(app: FastAPI) -> None:
    settings: TicketingSettings = app.state.settings
    app.state.intake = GroupCommit("ticket_intake", app.state.pg, write_batch, key=lambda i: i.key,
                                   workers=settings.intake_workers, max_batch=settings.intake_max_batch)
    app.state.intake.start()


async def _stop_intake(app: FastAPI) -> None:
    await app.state.intake.stop()


def create_app(settings: TicketingSettings | None = None, *, trace_exporter: Any = None) -> FastAPI:
    """Build the ticketing app; its lifespan migrates, then runs the outbox relay and consumers."""
    settings = settings or TicketingSettings()
    return create_service_app(
        settings,
        ServiceParts(
            title="Ticketing service",
            migrations_dir=MIGRATIONS,
            # tickets first: intake is the hottest route and routes are matched in order
            routers=[tickets.router, units.router, catalog.router, complaints.router, callbacks.router],
            produces_topics=registry.topics_of("ticketing"),
            consumers=consumer_specs,
            background=_background,
            raw_pool_size=settings.db.pool_size,  # intake's asyncpg pool (intake.py)
            on_startup=_start_intake,
            on_shutdown=_stop_intake,
        ),
        trace_exporter=trace_exporter,
    )
