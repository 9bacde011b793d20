"""Periodic jobs of the ticketing service: each step one unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from .tickets import service as tickets_service

BACKLOG_REFRESH_SECONDS = 15


def jobs(app: FastAPI) -> list[Callable[[], Awaitable[None]]]:
    """The periodic jobs ``create_service_app`` runs (forever, logging failures)."""

    async def refresh_backlog() -> None:
        """Open backlog by status for the dashboards; the database is the truth, so read it."""
        async with app.state.sessions() as session:
            await tickets_service.refresh_open_backlog(session)
        await asyncio.sleep(BACKLOG_REFRESH_SECONDS)

    return [refresh_backlog]
