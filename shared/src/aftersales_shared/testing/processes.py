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

SERVICES = ["ticketing", "dispatch", "parts", "settlement"]

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


class ServiceProcess:
    """``uvicorn <app> --factory --workers N`` on a free port; ``async with`` waits for /readyz and stops it."""

    def __init__(self, app: str, env: dict[str, str], workers: int = 1) -> None:
        self.port = devstack.free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
            env=env, start_new_session=True)

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
