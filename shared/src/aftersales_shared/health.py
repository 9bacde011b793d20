"""Liveness and readiness probes, and the dependency gauges behind the ``DependencyDown`` alert.

``/readyz`` fails (503) only when the service cannot serve: its database is unreachable. A Kafka outage leaves it
ready (200, ``"status": "degraded"``, ``checks.kafka = false``): writes keep succeeding through the outbox, and
taking every replica out of the load balancer would turn a broker outage into a full API outage.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.responses import Response

from .kafka import kafka_reachable
from .metrics import DEPENDENCY_UP

router = APIRouter(tags=["ops"])
log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 15.0
"""How often a running service re-checks its dependencies for ``service_dependency_up`` (between probes)."""


class ReadinessChecks(BaseModel):
    database: bool
    kafka: bool


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "not_ready"]
    checks: ReadinessChecks


async def database_reachable(engine: Any, timeout: float = 3.0) -> bool:
    """True when the service's own pool can run ``SELECT 1`` within ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


async def check_dependencies(app: Any) -> ReadinessChecks:
    """Check the database and Kafka concurrently and publish the result as ``service_dependency_up``."""
    settings = app.state.settings
    database, kafka = await asyncio.gather(database_reachable(app.state.engine),
                                           kafka_reachable(settings.kafka.bootstrap_servers))
    DEPENDENCY_UP.labels(settings.service_name, "database").set(int(database))
    DEPENDENCY_UP.labels(settings.service_name, "kafka").set(int(kafka))
    return ReadinessChecks(database=database, kafka=kafka)


async def watch_dependencies(app: Any, every: float = WATCH_INTERVAL_S) -> None:
    """Keep the dependency gauges current while nobody probes (a background task of every service)."""
    while True:
        try:
            await check_dependencies(app)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            log.debug("dependency check failed", exc_info=True)
        await asyncio.sleep(every)


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: 503 only when the database is unreachable; Kafka down is 'degraded'",
            response_model=Readiness, responses={503: {"model": Readiness, "description": "Database unreachable"}})
async def readyz(request: Request) -> JSONResponse:
    checks = await check_dependencies(request.app)
    status = "not_ready" if not checks.database else "ready" if checks.kafka else "degraded"
    body = Readiness(status=status, checks=checks)
    return JSONResponse(body.model_dump(), status_code=503 if status == "not_ready" else 200)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
