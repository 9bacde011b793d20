"""Settlement service: FastAPI app factory (wiring only)."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from aftersales_shared.app import ServiceParts, create_service_app
from aftersales_shared.events import registry

from .assessments.router import router as assessments
from .background import jobs
from .config import SettlementSettings
from .consumers import consumer_specs
from .dealers.router import router as dealers
from .disputes.router import router as disputes
from .ledger.router import router as ledger
from .penalties.router import router as penalties
from .reports.router import router as reports
from .retention.router import router as retention
from .statements.router import router as statements
from .terms.router import router as terms

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: SettlementSettings | None = None, *, trace_exporter: Any = None) -> FastAPI:
    """Build the settlement app; its lifespan migrates, then runs the outbox relay, consumers and jobs."""
    settings = settings or SettlementSettings()
    return create_service_app(
        settings,
        ServiceParts(
            title="Settlement service",
            migrations_dir=MIGRATIONS,
            routers=[dealers, ledger, statements, disputes, assessments, terms, penalties, reports,
                     retention],
            produces_topics=registry.topics_of("settlement"),
            consumers=consumer_specs,
            background=jobs,
        ),
        trace_exporter=trace_exporter,
    )
