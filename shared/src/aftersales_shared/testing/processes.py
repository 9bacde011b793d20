"""A service in its own uvicorn process group, as deployed: for tests and benchmarks that drive it over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

from ..dev import devstack

SERVICES = ["ticketing", "dispatch", "parts", "settlement", "notifications"]

# every role, with the tenant claims a real token of that role carries (the API tests call as each)
ROLES: dict[str, dict[str, Any]] = {
    "admin": {},
    "call_center": {},
    "dispatcher": {},
    "engineer": {"engineer_id": "E-AUTHZ", "dealer_id": "D-AUTHZ"},
    "dealer": {"dealer_id": "D-AUTHZ"},
    "parts_clerk": {},
    "finance": {},
    "ops": {},
    "notifier": {},
}


def service_env(info: devstack.StackInfo, service: str, *, db: str, public_key: bytes, pool: int,
                **extra: str) -> dict[str, str]:
    """Environment for ``service`` on database ``db`` with its relay, consumers and periodic jobs off (benchmarks
    and API tests drive the HTTP path alone, and must not touch other tests' rows in the background)."""
    prefix = service.upper()
    return {**os.environ, "APP_ENV": "test", "DB_HOST": "127.0.0.1", "DB_PORT": str(info.pg_port), "DB_NAME": db,
            "DB_USER": service, "DB_PASSWORD": info.service_password(service), "DB_POOL_SIZE": str(pool),
            "KAFKA_BOOTSTRAP_SERVERS": info.bootstrap, "AUTH_PUBLIC_KEY_PEM": public_key.decode(),
            f"{prefix}_RUN_RELAY": "false", f"{prefix}_RUN_CONSUMERS": "false", f"{prefix}_RUN_BACKGROUND": "false",
            f"{prefix}_LOG_LEVEL": "WARNING",
            **extra}


def live_service_env(info: devstack.StackInfo, service: str, *, db: str, public_key: bytes, pool: int,
                     group_prefix: str, **extra: str) -> dict[str, str]:
    """Environment for ``service`` as deployed: its outbox relay and consumers ON, consumer groups named
    ``<group_prefix><service>.<consumer>`` starting at the topics' end when new (commit them first with
    ``kafka_groups.start_groups_at_end`` so nothing the test causes is missed)."""
    prefix = service.upper()
    return service_env(info, service, db=db, public_key=public_key, pool=pool, **{
        f"{prefix}_RUN_RELAY": "true", f"{prefix}_RUN_CONSUMERS": "true", "KAFKA_GROUP_PREFIX": group_prefix,
        "KAFKA_NEW_GROUP_OFFSET": "latest", "KAFKA_RELAY_POLL_INTERVAL_MS": "200",
        "KAFKA_CONSUMER_RETRY_BACKOFF_MS": "50", **extra})


class ServiceProcess:
    """``uvicorn <app> --factory --workers N`` on a free port; ``async with`` waits for /readyz and stops it."""

    def __init__(self, app: str, env: dict[str, str], workers: int = 1, name: str | None = None,
                 log_path: str | None = None) -> None:
        """``log_path``: the process's stdout and stderr (its JSON log lines) go to this file."""
        self.port = devstack.free_port()
        self.name = name or app
        self.env = env
        self.log_path = log_path
        out = open(log_path, "ab") if log_path else None  # noqa: SIM115 - the child keeps it open
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
                env=env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT if out else None)
        finally:
            if out is not None:
                out.close()

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    async def ready(self, timeout: float = 120) -> None:
        for _ in range(int(timeout * 10)):
            if self.proc.poll() is not None:
                raise RuntimeError("uvicorn exited")
            if await asyncio.to_thread(self._ready):
                await asyncio.sleep(1)  # the first worker answered; give the others their startup
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("uvicorn did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group at once: no shutdown hook runs, no offset is committed, no lock is
        released by the service itself (Postgres drops the session's advisory locks when its socket closes)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    async def __aenter__(self) -> ServiceProcess:
        try:
            await self.ready()
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()
