"""Periodic jobs of the settlement service: each step is one read-only unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from .metrics import refresh

METRICS_EVERY_S = 30


def jobs(app: FastAPI) -> list[Callable[[], Awaitable[None]]]:
    """The jobs ``create_service_app`` runs forever (a failing step is logged and retried)."""
    async def refresh_metrics() -> None:
        await refresh(app)
        await asyncio.sleep(METRICS_EVERY_S)

    return [refresh_metrics]
