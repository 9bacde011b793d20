"""Periodic jobs; each step is one unit of work calling a service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work

from .replies.service import forward_pending


def background(app: FastAPI) -> list[Callable[[], Awaitable[None]]]:
    settings = app.state.settings

    async def sender_job() -> None:
        """Drain due deliveries (batches back to back while there is work)."""
        await app.state.sender.run_forever()

    async def replies_job() -> None:
        """Carry pending ratings and complaints to ticketing."""
        async with unit_of_work(app.state.sessions) as session:
            n = await forward_pending(session, ticketing=app.state.ticketing, now=clock.now())
        if n == 0:
            await asyncio.sleep(0.5)

    senders = [sender_job] * max(1, settings.sender_loops)
    return [*senders, replies_job] if settings.run_sender else []
