"""The four services out of process (uvicorn, as deployed) on the test session's real Postgres and Kafka, for the
tests that drive every endpoint over HTTP: the fuzzer and the authorization table."""

from __future__ import annotations

import asyncio

import pytest

from aftersales_shared.testing.processes import SERVICES, ServiceProcess, service_env


# module scope: a directory without __init__.py is no package, and a "package" fixture would live (and its
# servers run) for the whole session
@pytest.fixture(scope="module")
def servers(stack, jwt_keys):
    """Base URL of each service."""
    procs: dict[str, ServiceProcess] = {}
    try:
        for svc in SERVICES:
            env = service_env(stack, svc, db="aftersales", public_key=jwt_keys[1], pool=5)
            procs[svc] = ServiceProcess(f"{svc}.main:create_app", env)
        for p in procs.values():
            asyncio.run(p.ready())
        yield {svc: f"http://127.0.0.1:{p.port}" for svc, p in procs.items()}
    finally:
        for p in procs.values():
            p.stop()
