"""Dispatch service: FastAPI app factory."""

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from aftersales_shared.app import ServiceParts, create_service_app
from aftersales_shared.db import unit_of_work
from aftersales_shared.events import registry

from . import service as svc
from .config import DispatchSettings
from .consumers import consumer_specs
from .reference import ensure_reference_data
from .router import router

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: DispatchSettings | None = None, *, trace_exporter: Any = None) -> FastAPI:
    """Build the dispatch app; its lifespan migrates, then runs the outbox relay, consumers and timers."""
    settings = settings or DispatchSettings()
    cfg = svc.DispatchConfig.from_settings(settings)

    async def on_startup(app: FastAPI) -> None:
        app.state.dispatch_cfg = cfg
        async with unit_of_work(app.state.sessions) as session:
            await ensure_reference_data(session, svc.utcnow())

    def background(app: FastAPI) -> list:
        if not settings.run_background:
            return []

        async def tick() -> None:
            """Offer expiry, queue retry, R-S8 routing checks and SLA alerts, one unit of work each."""
            for step in (svc.expire_offers, svc.retry_queue, svc.check_routing):
                async with unit_of_work(app.state.sessions) as session:
                    await step(session, cfg, svc.utcnow())
            async with unit_of_work(app.state.sessions) as session:
                await svc.scan_sla(session, svc.utcnow())
            await asyncio.sleep(settings.background_interval_seconds)

        return [tick]

    return create_service_app(
        settings,
        ServiceParts(
            title="Dispatch service",
            migrations_dir=MIGRATIONS,
            routers=[router],
            produces_topics=registry.topics_of("dispatch"),
            consumers=consumer_specs,
            background=background,
            on_startup=on_startup,
        ),
        trace_exporter=trace_exporter,
    )
