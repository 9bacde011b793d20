"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from .kafka import kafka_reachable

router = APIRouter(tags=["ops"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: Postgres and Kafka reachable")
async def readyz(request: Request) -> JSONResponse:
    checks = {"database": False, "kafka": False}
    try:
        async with request.app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(sa.text("SELECT 1")), timeout=3)
        checks["database"] = True
    except Exception:  # noqa: BLE001
        pass
    checks["kafka"] = await kafka_reachable(request.app.state.settings.kafka.bootstrap_servers)
    ok = all(checks.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
