"""Ticketing service: FastAPI app factory."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from aftersales_shared.app import ServiceParts, create_service_app
from aftersales_shared.events import registry

from .api import callbacks, catalog, complaints, tickets, units
from .config import TicketingSettings
from .consumers import consumer_specs

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: TicketingSettings | None = None, *, trace_exporter: Any = None) -> FastAPI:
    """Build the ticketing app; its lifespan migrates, then runs the outbox relay and consumers."""
    settings = settings or TicketingSettings()
    return create_service_app(
        settings,
        ServiceParts(
            title="Ticketing service",
            migrations_dir=MIGRATIONS,
            routers=[catalog.router, units.router, tickets.router, complaints.router, callbacks.router],
            produces_topics=registry.topics_of("ticketing"),
            consumers=consumer_specs,
        ),
        trace_exporter=trace_exporter,
    )
