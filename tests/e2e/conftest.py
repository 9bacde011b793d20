"""End-to-end fixtures: all four real services in one process, on the real Postgres and Kafka.

Each service gets its own in-memory span exporter so a test can tell which service produced a span.
The services' consumer groups get a prefix unique to the test and are committed at the topics' current
end before the apps start: the journey sees every event it causes, and never replays the topics'
history (other test modules empty the schemas and their inboxes, so a replay would redo old work).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aftersales_shared.testing.isolation import own_kafka, service_groups, start_groups_at_end
from aftersales_shared.testing.plugin import running, wait_for
from dispatch.config import DispatchSettings
from dispatch.consumers import consumer_specs as dispatch_consumers
from dispatch.main import create_app as dispatch_app
from parts.config import PartsSettings
from parts.consumers import consumer_specs as parts_consumers
from parts.main import create_app as parts_app
from settlement.config import SettlementSettings
from settlement.consumers import consumer_specs as settlement_consumers
from settlement.main import create_app as settlement_app
from ticketing.config import TicketingSettings
from ticketing.consumers import consumer_specs as ticketing_consumers
from ticketing.main import create_app as ticketing_app

# Waits are deadlines, not durations: a poll returns as soon as its condition holds, and four services'
# consumers on a busy 2-core machine may need minutes to catch up. pytest's own timeout bounds a test.
WAIT = 180.0

SERVICES: dict[str, tuple[type, Callable[..., Any], Callable[[Any], list[Any]]]] = {
    "ticketing": (TicketingSettings, ticketing_app, ticketing_consumers),
    "dispatch": (DispatchSettings, dispatch_app, dispatch_consumers),
    "parts": (PartsSettings, parts_app, parts_consumers),
    "settlement": (SettlementSettings, settlement_app, settlement_consumers),
}


@dataclass
class Service:
    """One running service: its HTTP client, its app and the spans it finished."""

    name: str
    client: httpx.AsyncClient
    app: Any
    spans: InMemorySpanExporter


@pytest.fixture
async def platform(infra_settings) -> AsyncIterator[dict[str, Service]]:
    """The four services running at once, consumers joined, one span exporter each."""
    kafka = own_kafka("e2e")
    # the parts watchers tick every second, so a moved clock's due dates are seen promptly
    overrides: dict[str, dict[str, Any]] = {"parts": {"watch_interval_seconds": 1}}
    settings = {name: cls(**infra_settings(name, **kafka), **overrides.get(name, {}))
                for name, (cls, _f, _c) in SERVICES.items()}
    groups = {}
    for name, (_cls, _f, specs) in SERVICES.items():
        groups.update(service_groups(settings[name], specs(settings[name])))
    await start_groups_at_end(settings["ticketing"].kafka.bootstrap_servers, groups)
    async with AsyncExitStack() as stack:
        services: dict[str, Service] = {}
        for name, (_cls, factory, _c) in SERVICES.items():
            exporter = InMemorySpanExporter()
            app = factory(settings[name], trace_exporter=exporter)
            client = await stack.enter_async_context(running(app))
            services[name] = Service(name, client, app, exporter)
        consumers = [c for s in services.values() for c in s.app.state.consumers]
        assert len(consumers) == len(groups)
        await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in consumers)), timeout=WAIT)
        yield services


async def _eventually(what: str, fetch: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool],
                     timeout: float = WAIT) -> Any:
    """Poll ``fetch`` until ``ok(result)``; fail naming ``what`` and the last state seen."""
    seen: dict[str, Any] = {}

    async def check() -> bool:
        seen["last"] = await fetch()
        return bool(ok(seen["last"]))

    try:
        await wait_for(check, timeout=timeout, every=0.2)
    except AssertionError:
        raise AssertionError(f"{what}: not within {timeout:.0f}s; last seen: {seen.get('last')!r}") from None
    return seen["last"]


@pytest.fixture
def eventually() -> Callable[..., Awaitable[Any]]:
    """``await eventually(what, fetch, ok)``: a bounded poll with a clear failure message."""
    return _eventually
