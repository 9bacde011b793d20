"""One value kept in this process for a short time: what the live path reads every decision (service durations,
fault-class tools) without a query each time. A change made in this process clears it (``forget``); another
process's change is seen within the time to live."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Generic, TypeVar

T = TypeVar("T")


class ProcessCache(Generic[T]):
    def __init__(self) -> None:
        self._held: tuple[float, T] | None = None  # (valid until on ``time.monotonic``, the value)

    async def get(self, load: Callable[[], Awaitable[T]], ttl: timedelta) -> T:
        t = time.monotonic()
        if self._held is not None and t < self._held[0]:
            return self._held[1]
        got = await load()
        if ttl.total_seconds() > 0:
            self._held = (t + ttl.total_seconds(), got)
        return got

    def forget(self) -> None:
        self._held = None
