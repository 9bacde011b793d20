"""Pytest plugin: real Postgres + Kafka for the session, tokens, and in-process service apps.

The session's stack is the tests' own (``.state/test``, or ``AFTERSALES_TEST_STATE_DIR``), never the
``make run`` stack (``.state/run``): ports, database and broker log are separate, so the platform a
developer runs never sees test data. At the end of the session the test stack is stopped and its state
removed, unless ``KEEP_STACK=1`` (then the next session reuses it, with whatever the last one left).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from .. import clock
from ..auth import generate_keypair, mint_token
from ..config import AuthSettings, DatabaseSettings, KafkaSettings
from ..dev import devstack


def session_state_dir() -> str:
    """The tests' stack state: ``AFTERSALES_TEST_STATE_DIR`` or ``.state/test`` (never the ``make run`` one)."""
    return os.environ.get("AFTERSALES_TEST_STATE_DIR") or str(devstack.default_state_dir("test"))


def pytest_configure(config: pytest.Config) -> None:
    # Everything in this process (and the service processes it spawns) talks to the tests' stack.
    os.environ["AFTERSALES_STATE_DIR"] = session_state_dir()


def keep_stack() -> bool:
    return os.environ.get("KEEP_STACK", "") not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def stack() -> Any:
    """The tests' own stack; started if needed. Removed at the end unless KEEP_STACK=1."""
    assert devstack.state_dir() == Path(session_state_dir()), "the test session must use the test stack"
    info, _started = devstack.up()
    yield info
    if not keep_stack():
        devstack.destroy()


@pytest.fixture(autouse=True)
def _real_time_again() -> Any:
    """A test that moves the shared clock leaves real time behind for the next one."""
    yield
    clock.reset(environment="test")


@pytest.fixture(scope="session")
def jwt_keys() -> tuple[bytes, bytes]:
    """A key pair for this test session (private PEM, public PEM)."""
    return generate_keypair()


@pytest.fixture(scope="session")
def make_token(jwt_keys: tuple[bytes, bytes]) -> Callable[..., str]:
    """Mint a bearer token: make_token("dealer", sub="D1", dealer_id="D1")."""

    def _make(*roles: str, sub: str = "tester", **claims: Any) -> str:
        return mint_token(jwt_keys[0], sub=sub, roles=list(roles), **claims)

    return _make


@pytest.fixture(scope="session")
def auth_headers(make_token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    def _headers(*roles: str, sub: str = "tester", **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(*roles, sub=sub, **claims)}"}

    return _headers


@pytest.fixture(scope="session")
def infra_settings(stack: Any, jwt_keys: tuple[bytes, bytes]) -> Callable[[str], dict[str, Any]]:
    """Keyword arguments for a service's settings class, pointing at the real stack."""

    def _for(service: str, **kafka_overrides: Any) -> dict[str, Any]:
        return {
            "environment": "test",
            "db_schema": service,
            "service_name": service,
            "db": DatabaseSettings(host="127.0.0.1", port=stack.pg_port, name=devstack.DB_NAME, user=service,
                                   password=stack.service_password(service)),
            "kafka": KafkaSettings(bootstrap_servers=stack.bootstrap, relay_poll_interval_ms=200,
                                   consumer_retry_backoff_ms=50, **kafka_overrides),
            "auth": AuthSettings(public_key_pem=jwt_keys[1].decode()),
        }

    return _for


@pytest.fixture
async def admin_db(stack: Any) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection for test set-up and inspection (never used by services)."""
    conn = await asyncpg.connect(stack.admin_dsn())
    yield conn
    await conn.close()


@asynccontextmanager
async def running(app: Any, *, base_url: str = "http://test") -> AsyncIterator[httpx.AsyncClient]:
    """Start a real service app (migrations, relay, consumers) and give an HTTP client to it."""
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def wait_for(check: Callable[[], Any], timeout: float = 120, every: float = 0.2,
                   what: str = "condition") -> Any:
    """Poll an async ``check`` until it returns something truthy, and return it; fail after ``timeout`` s.

    The timeout is a deadline, not a duration: keep it generous (consumers and relays on a busy 2-core
    machine can lag by a minute); never assert with a fixed sleep.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        await asyncio.sleep(every)


async def reset_schema(admin: asyncpg.Connection, schema: str) -> None:
    """Empty every table of a service schema except Alembic's version table."""
    tables = await admin.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'alembic_version'", schema
    )
    if not tables:
        return
    names = ", ".join(f'"{schema}"."{t["tablename"]}"' for t in tables)
    for attempt in range(5):
        # a previous test's app may still be finishing a transaction that reads two of these tables: Postgres then
        # picks the TRUNCATE as the deadlock's victim, and emptying the schema again once that reader is gone is
        # all a fixture can do
        try:
            await admin.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            return
        except asyncpg.exceptions.DeadlockDetectedError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
