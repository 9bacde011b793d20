"""Settlement service: FastAPI app factory."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from aftersales_shared.app import ServiceParts, create_service_app
from aftersales_shared.events import registry

from .config import SettlementSettings
from .consumers import consumer_specs
from .metrics import background
from .router import router

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: SettlementSettings | None = None, *, trace_exporter: Any = None) -> FastAPI:
    """Build the settlement app; its lifespan migrates, then runs the outbox relay and consumers."""
    settings = settings or SettlementSettings()
    return create_service_app(
        settings,
        ServiceParts(
            title="Settlement service",
            migrations_dir=MIGRATIONS,
            routers=[router],
            produces_topics=registry.topics_of("settlement"),
            consumers=consumer_specs,
            background=background,
        ),
        trace_exporter=trace_exporter,
    )
