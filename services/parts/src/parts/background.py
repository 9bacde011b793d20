"""Periodic jobs, each step one unit of work calling a service, all reading ``clock.now()``:
ship-by at risk / breached (R-P1), returns past due → chargebacks (R-P4), and the gauges (at risk, breached,
backordered requests, missed returns)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi import FastAPI

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work

from . import metrics
from .config import PartsSettings
from .requests import service as requests
from .returns import service as returns


async def run_once(app: FastAPI, now: datetime | None = None) -> None:
    """One pass of every watcher, each in its own unit of work (``now``: the clock, unless a test says)."""
    now = now or clock.now()
    settings: PartsSettings = app.state.settings
    async with unit_of_work(app.state.sessions) as s:
        await requests.warn_ship_by(s, settings, now=now)
    async with unit_of_work(app.state.sessions) as s:
        await returns.mark_missed(s, now=now)
    async with unit_of_work(app.state.sessions) as s:
        counts = await requests.count_open(s, settings, now=now)
        missed = await returns.count_missed(s)
    metrics.REQUESTS_BREACHED.set(counts["breached"])
    metrics.REQUESTS_AT_RISK.set(counts["at_risk"])
    metrics.BACKORDERS.set(counts["backordered"])
    metrics.RETURNS_OVERDUE.set(missed)


def background(app: FastAPI) -> list[Callable[[], Awaitable[None]]]:
    """The service's periodic jobs (each sleeps itself)."""

    async def watch() -> None:
        await asyncio.sleep(app.state.settings.watch_interval_seconds)
        await run_once(app)

    return [watch]
