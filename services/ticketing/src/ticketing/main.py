"""Ticketing service: FastAPI app factory — wiring only (routers, consumers, background jobs, intake writer)."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from aftersales_shared.app import ServiceParts, create_service_app
from aftersales_shared.events import registry
from aftersales_shared.group_commit import GroupCommit

from . import background
from .callbacks.router import router as callbacks_router
from .catalog.router import router as catalog_router
from .complaints.router import router as complaints_router
from .config import TicketingSettings
from .consumers import consumer_specs
from .coverage.router import router as coverage_router
from .maintenance.router import router as maintenance_router
from .remedies.router import router as remedies_router
from .retention.router import router as retention_router
from .terms.router import router as terms_router
from .tickets.hotpath import write_batch
from .tickets.router import router as tickets_router
from .units.router import router as units_router

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


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
            routers=[tickets_router, units_router, catalog_router, complaints_router, callbacks_router,
                     coverage_router, remedies_router, maintenance_router,
                     terms_router, retention_router],
            produces_topics=registry.topics_of("ticketing"),
            consumers=consumer_specs,
            background=background.jobs,
            raw_pool_size=settings.db.pool_size,  # intake's asyncpg pool (tickets/hotpath.py)
            on_startup=_start_intake,
            on_shutdown=_stop_intake,
        ),
        trace_exporter=trace_exporter,
    )
