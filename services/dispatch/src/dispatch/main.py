"""Dispatch service: FastAPI app factory (wiring only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from aftersales_shared import clock
from aftersales_shared.app import ServiceParts, create_service_app
from aftersales_shared.db import unit_of_work
from aftersales_shared.events import registry

from .background import background_jobs
from .config import DispatchConfig, DispatchSettings
from .consumers import consumer_specs
from .contracts.router import router as contracts_router
from .engineers.router import router as engineers_router
from .jobs.router import router as jobs_router
from .plans import executor as plan_executor
from .plans.router import router as plans_router
from .repairs.router import router as repairs_router
from .reports.router import router as reports_router
from .retention.router import router as retention_router
from .sla.reference import ensure_reference_data
from .sla.router import router as sla_router
from .spares.router import router as spares_router

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: DispatchSettings | None = None, *, trace_exporter: Any = None) -> FastAPI:
    """Build the dispatch app; its lifespan migrates, then runs the outbox relay, consumers and timers."""
    settings = settings or DispatchSettings()
    cfg = DispatchConfig.from_settings(settings)

    async def on_startup(app: FastAPI) -> None:
        app.state.dispatch_cfg = cfg
        async with unit_of_work(app.state.sessions) as session:
            await ensure_reference_data(session, clock.now())

    async def on_shutdown(_app: FastAPI) -> None:
        plan_executor.shutdown()

    return create_service_app(
        settings,
        ServiceParts(
            title="Dispatch service",
            migrations_dir=MIGRATIONS,
            routers=[sla_router, engineers_router, jobs_router, reports_router, plans_router,
                     repairs_router, spares_router, contracts_router, retention_router],
            produces_topics=registry.topics_of("dispatch"),
            consumers=consumer_specs,
            background=background_jobs(settings, cfg),
            on_startup=on_startup,
            on_shutdown=on_shutdown,
        ),
        trace_exporter=trace_exporter,
    )
