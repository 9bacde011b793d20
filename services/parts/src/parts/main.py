"""Parts service: FastAPI app factory — wiring only (routers, consumers, background jobs, the allocation writer)."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from aftersales_shared.app import ServiceParts, create_service_app
from aftersales_shared.events import registry

from .background import background
from .budget.router import router as budget_router
from .catalog.router import router as catalog_router
from .config import PartsSettings
from .consumers import consumer_specs
from .reports.router import router as reports_router
from .requests import hotpath
from .requests.router import router as requests_router
from .returns.router import router as returns_router
from .stock.router import router as stock_router
from .terms.router import router as terms_router

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


async def _start_allocations(app: FastAPI) -> None:
    settings: PartsSettings = app.state.settings
    app.state.allocations = hotpath.committer(app.state.pg, settings.allocation_workers,
                                              settings.allocation_max_batch)
    app.state.allocations.start()


async def _stop_allocations(app: FastAPI) -> None:
    await app.state.allocations.stop()


def create_app(settings: PartsSettings | None = None, *, trace_exporter: Any = None) -> FastAPI:
    """Build the parts app; its lifespan migrates, then runs the outbox relay and consumers."""
    settings = settings or PartsSettings()
    return create_service_app(
        settings,
        ServiceParts(
            title="Parts service",
            migrations_dir=MIGRATIONS,
            routers=[catalog_router, stock_router, requests_router, returns_router, budget_router, terms_router,
                     reports_router],
            produces_topics=registry.topics_of("parts"),
            consumers=consumer_specs,
            background=background,
            raw_pool_size=settings.db.pool_size,  # allocation's asyncpg pool (requests/hotpath.py)
            on_startup=_start_allocations,
            on_shutdown=_stop_allocations,
        ),
        trace_exporter=trace_exporter,
    )
