"""Two instances of every service, out of process (uvicorn, as deployed), on the session's real Postgres and Kafka.

Each instance runs its outbox relay and its consumers. Their consumer groups carry a prefix unique to the module
and are committed at the topics' current end before the instances start, so they see every event the tests cause
and never replay the topics' history (other test modules empty the schemas and their inboxes).

Their logs join the session-wide scan for personal data (``aftersales_shared.testing.logscan``, a plugin of
every test run).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from aftersales_shared.testing.isolation import start_groups_at_end
from aftersales_shared.testing.processes import SERVICES, ServiceProcess, live_service_env
from dispatch.config import DispatchSettings
from dispatch.consumers import consumer_specs as dispatch_consumers
from parts.config import PartsSettings
from parts.consumers import consumer_specs as parts_consumers
from settlement.config import SettlementSettings
from settlement.consumers import consumer_specs as settlement_consumers
from ticketing.config import TicketingSettings
from ticketing.consumers import consumer_specs as ticketing_consumers

_SPECS: dict[str, tuple[type, Any]] = {
    "ticketing": (TicketingSettings, ticketing_consumers),
    "dispatch": (DispatchSettings, dispatch_consumers),
    "parts": (PartsSettings, parts_consumers),
    "settlement": (SettlementSettings, settlement_consumers),
}
REPLICAS = 2


@dataclass
class Replicas:
    """The running instances and the consumer groups they share."""

    prefix: str
    bootstrap: str
    instances: dict[str, list[ServiceProcess]]
    groups: dict[str, dict[str, list[str]]]
    """service -> consumer group id -> its topics."""

    def alive(self, service: str) -> list[ServiceProcess]:
        return [p for p in self.instances[service] if p.alive]


@pytest.fixture(scope="module")
def replicas(stack: Any, jwt_keys: tuple[bytes, bytes], infra_settings: Any,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    prefix = f"replicas-{uuid.uuid4().hex[:8]}-"
    groups = {}
    for svc, (cls, specs) in _SPECS.items():
        settings = cls(**infra_settings(svc, group_prefix=prefix))
        groups[svc] = {f"{prefix}{svc}.{spec.name}": spec.topics for spec in specs(settings)}
    asyncio.run(start_groups_at_end(stack.bootstrap, {g: t for gs in groups.values() for g, t in gs.items()}))
    instances: dict[str, list[ServiceProcess]] = {svc: [] for svc in SERVICES}
    logs = tmp_path_factory.mktemp("replica-logs")
    try:
        for n in range(REPLICAS):
            for svc in SERVICES:
                env = live_service_env(stack, svc, db="aftersales", public_key=jwt_keys[1], pool=4, group_prefix=prefix,
                                       **{f"{svc.upper()}_LOG_LEVEL": "INFO"})
                instances[svc].append(ServiceProcess(f"{svc}.main:create_app", env, name=f"{svc}-{n + 1}",
                                                     log_path=str(logs / f"{svc}-{n + 1}.log")))

        async def all_ready() -> None:
            await asyncio.gather(*(p.ready(timeout=180) for ps in instances.values() for p in ps))

        asyncio.run(all_ready())
        yield Replicas(prefix, stack.bootstrap, instances, groups)
    finally:
        for ps in instances.values():
            for p in ps:
                p.stop()
