"""Periodic background jobs: ship-commitment and returns watchers, business gauges."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import FastAPI

from aftersales_shared.db import unit_of_work

from . import ops


async def run_once(app: FastAPI, now: datetime | None = None) -> None:
    """One pass of every watcher, each in its own unit of work."""
    now = now or datetime.now(UTC)
    settings = app.state.settings
    async with unit_of_work(app.state.sessions) as s:
        await ops.watch_commitments(s, settings, now)
    async with unit_of_work(app.state.sessions) as s:
        await ops.watch_returns(s, now)
    async with unit_of_work(app.state.sessions) as s:
        await ops.refresh_gauges(s, settings, now)


def background(app: FastAPI) -> list[Callable[[], Awaitable[None]]]:
    """The service's periodic jobs (each sleeps itself)."""

    async def watch() -> None:
        await asyncio.sleep(app.state.settings.watch_interval_seconds)
        await run_once(app)

    return [watch]
