"""Health that means what it says, and no 500 for a database outage or a bad value (issue 13, item 5 and 2).

A small test-only service built by ``create_service_app`` (the same middleware, handlers and probes as every
service) against the real Postgres and Kafka: readiness with Kafka or Postgres away, 503 + Retry-After for a
database outage, 422 for values the database refuses (SQLSTATE 22xxx), 500 problem+json without dropping the
keep-alive connection (through a real uvicorn server), and the request-body limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import APIRouter, Request
from prometheus_client import REGISTRY
from sqlalchemy.exc import TimeoutError as PoolTimeout

from aftersales_shared.app import DbSession, ServiceParts, create_service_app
from aftersales_shared.config import AuthSettings, DatabaseSettings, KafkaSettings, ServiceSettings
from aftersales_shared.dev import devstack
from aftersales_shared.errors import PROBLEM_JSON, is_data_error, is_db_unavailable, is_transient
from aftersales_shared.testing.plugin import running

pytestmark = pytest.mark.integration

probe = APIRouter(prefix="/v1/probe")


@probe.get("/db")
async def db_select(session: DbSession) -> dict[str, int]:
    return {"one": (await session.execute(sa.text("SELECT 1"))).scalar_one()}


@probe.get("/terminate")
async def db_terminated(session: DbSession) -> dict[str, Any]:
    """The server ends this session (what an admin shutdown or a failover does to open connections)."""
    await session.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
    return {"survived": True}


@probe.post("/text")
async def db_text(request: Request, session: DbSession) -> dict[str, Any]:
    body = await request.json()
    value = (await session.execute(sa.text("SELECT CAST(:v AS text)"), {"v": body["v"]})).scalar_one()
    return {"v": value}


@probe.get("/numeric")
async def db_numeric(session: DbSession) -> dict[str, str]:
    return {"v": str((await session.execute(sa.text("SELECT CAST(123456 AS numeric(4, 2))"))).scalar_one())}


@probe.get("/date")
async def db_date(session: DbSession) -> dict[str, str]:
    """A datetime the database cannot represent (SQLSTATE 22008)."""
    day = (await session.execute(sa.text("SELECT CAST(:d AS timestamp) + interval '300000 years'"),
                                 {"d": datetime(9999, 12, 31)})).scalar_one()
    return {"v": str(day)}


@probe.get("/bigint")
async def db_bigint(session: DbSession, n: int) -> dict[str, int]:
    return {"v": (await session.execute(sa.text("SELECT CAST(:n AS bigint)"), {"n": n})).scalar_one()}


@probe.post("/raw-text")
async def raw_text(request: Request) -> dict[str, Any]:
    """A hot path on the plain asyncpg pool."""
    body = await request.json()
    return {"v": await request.app.state.pg.fetchval("SELECT $1::text", body["v"])}


@probe.get("/boom")
async def boom() -> dict[str, str]:
    raise RuntimeError("a handler bug")


@probe.post("/echo")
async def echo(request: Request) -> dict[str, int]:
    return {"bytes": len(await request.body())}


def make_app(stack: Any, jwt_keys: tuple[bytes, bytes], *, pg_port: int | None = None,
             bootstrap: str | None = None, **overrides: Any) -> Any:
    settings = ServiceSettings(
        environment="test", service_name="probe", db_schema="ticketing",
        db=DatabaseSettings(host="127.0.0.1", port=pg_port or stack.pg_port, name=devstack.DB_NAME,
                            user="ticketing", password=stack.service_password("ticketing")),
        kafka=KafkaSettings(bootstrap_servers=bootstrap or stack.bootstrap),
        auth=AuthSettings(public_key_pem=jwt_keys[1].decode()),
        run_migrations_on_start=False, run_relay=False, run_consumers=False, **overrides,
    )
    return create_service_app(settings, ServiceParts(title="probe", migrations_dir=Path("."), routers=[probe],
                                                     raw_pool_size=1 if pg_port is None else 0))


def _is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status
    return body


def _dependency_up(dependency: str) -> float | None:
    return REGISTRY.get_sample_value("service_dependency_up", {"service": "probe", "dependency": dependency})


async def test_readyz_kafka_down_is_degraded_not_unready(stack, jwt_keys):
    async with running(make_app(stack, jwt_keys, bootstrap=f"127.0.0.1:{devstack.free_port()}")) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "degraded", "checks": {"database": True, "kafka": False}}
        assert _dependency_up("kafka") == 0 and _dependency_up("database") == 1
        assert "service_dependency_up" in (await client.get("/metrics")).text
        assert (await client.get("/v1/probe/db")).json() == {"one": 1}  # and it serves


async def test_readyz_database_down_is_503_and_every_database_route_503_with_retry_after(stack, jwt_keys):
    async with running(make_app(stack, jwt_keys, pg_port=devstack.free_port())) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "not_ready", "checks": {"database": False, "kafka": True}}
        assert _dependency_up("database") == 0
        response = await client.get("/v1/probe/db")
        body = _is_problem(response, 503)
        assert body["code"] == "unavailable"
        assert int(response.headers["Retry-After"]) > 0


async def test_readyz_all_up(stack, jwt_keys):
    async with running(make_app(stack, jwt_keys)) as client:
        ready = await client.get("/readyz")
        assert ready.json() == {"status": "ready", "checks": {"database": True, "kafka": True}}


async def test_session_killed_by_the_server_is_503_with_retry_after(stack, jwt_keys):
    async with running(make_app(stack, jwt_keys)) as client:
        response = await client.get("/v1/probe/terminate")
        _is_problem(response, 503)
        assert response.headers["Retry-After"]
        assert (await client.get("/v1/probe/db")).json() == {"one": 1}  # the pool recovers


def test_failure_classification():
    """What the consumer waits out and HTTP answers with 503, versus a deterministic failure."""
    assert is_db_unavailable(PoolTimeout("QueuePool limit of size 10 overflow 10 reached"))
    assert is_db_unavailable(ConnectionRefusedError(111, "Connect call failed"))
    assert is_transient(ConnectionResetError()) and is_transient(TimeoutError())
    assert not is_transient(ValueError("a handler bug")) and not is_transient(KeyError("x"))
    assert not is_transient(FileNotFoundError("tariffs.csv"))


@pytest.mark.parametrize("call", [
    ("POST", "/v1/probe/text", {"v": "NUL \x00 inside"}),
    ("POST", "/v1/probe/raw-text", {"v": "NUL \x00 inside"}),
    ("GET", "/v1/probe/numeric", None),
    ("GET", "/v1/probe/date", None),
    ("GET", "/v1/probe/bigint?n=99999999999999999999", None),
], ids=["nul-text", "nul-text-raw-pool", "numeric-overflow", "date-overflow", "int64-overflow"])
async def test_database_data_errors_are_422_not_500(stack, jwt_keys, call):
    method, path, body = call
    async with running(make_app(stack, jwt_keys)) as client:
        response = await client.request(method, path, json=body)
        assert _is_problem(response, 422)["code"] == "invalid_value"


def test_data_error_classification():
    import asyncpg

    assert is_data_error(asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"))
    assert not is_data_error(asyncpg.exceptions.UniqueViolationError("duplicate key"))


async def test_body_limit_refuses_declared_and_streamed_oversized_bodies(stack, jwt_keys):
    async with running(make_app(stack, jwt_keys, max_request_body_bytes=1024)) as client:
        assert (await client.post("/v1/probe/echo", content=b"x" * 1024)).json() == {"bytes": 1024}
        declared = await client.post("/v1/probe/echo", content=b"x" * 1025)
        assert _is_problem(declared, 413)["code"] == "payload_too_large"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
            for _ in range(8):
                yield b"y" * 512

        streamed = await client.post("/v1/probe/echo", content=chunks())
        assert _is_problem(streamed, 413)["code"] == "payload_too_large"
        # a Content-Length that lies (says 10, sends 4 KiB): counted as it streams
        lying = await client.post("/v1/probe/echo", content=chunks(), headers={"content-length": "10"})
        assert _is_problem(lying, 413)["code"] == "payload_too_large"
        json_body = await client.post("/v1/probe/text", content=b'{"v": "' + b"z" * 2048 + b'"}',
                                      headers={"content-type": "application/json"})
        _is_problem(json_body, 413)


@contextlib.asynccontextmanager
async def served(app: Any) -> AsyncIterator[int]:
    """The app behind a real uvicorn server on a free port (keep-alive is the server's business)."""
    port = devstack.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn exited"
            await asyncio.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
                    ) -> tuple[int, dict[str, str], bytes]:
    writer.write(request)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ln)}
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), 10)
    return status, headers, body


async def test_unhandled_error_is_500_problem_and_keeps_the_connection(stack, jwt_keys):
    async with served(make_app(stack, jwt_keys, max_request_body_bytes=1024)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            status, headers, body = await _exchange(reader, writer, b"GET /v1/probe/boom HTTP/1.1\r\nHost: t\r\n\r\n")
            assert status == 500 and headers["content-type"].startswith(PROBLEM_JSON)
            assert b'"internal_error"' in body and b"a handler bug" not in body
            assert headers.get("connection", "").lower() != "close"
            # the same connection answers the next request
            status, _h, body = await _exchange(reader, writer, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            assert (status, body) == (200, b'{"status":"ok"}')
            # a chunked body over the limit is refused mid-stream, with a problem
            chunk = b"400\r\n" + b"c" * 1024 + b"\r\n"
            status, headers, body = await _exchange(
                reader, writer, b"POST /v1/probe/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunk * 2 + b"0\r\n\r\n")
            assert status == 413 and b"payload_too_large" in body
        finally:
            writer.close()
