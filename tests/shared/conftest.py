"""Fixtures for the event-backbone tests: two service-like schemas A → B with their own roles."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.ext.asyncio import create_async_engine

from aftersales_shared.config import DatabaseSettings
from aftersales_shared.db import create_engine, make_sessionmaker, unit_of_work
from aftersales_shared.events.envelope import IntegrationEvent, Payload
from aftersales_shared.migrations import create_messaging_tables
from aftersales_shared.outbox import add_events

BUS_ROLES = ("busa", "busb")


class ProbeChangedPayload(Payload):
    run_id: str
    key: str
    seq: int
    pad: str = ""


class ProbeChanged(IntegrationEvent):
    """A test-only event produced by schema busa (service A)."""

    TYPE = "busa.probe.changed"
    TOPIC = "busa.probe.v1"
    payload: ProbeChangedPayload


@pytest.fixture
async def bus_db(stack, admin_db):
    """Roles+schemas busa/busb (outbox/inbox from the shared migration code) and probe tables."""
    for role in BUS_ROLES:
        await admin_db.execute(f"""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} LOGIN PASSWORD '{role}-dev-password';
              END IF;
            END $$;
            GRANT CONNECT ON DATABASE aftersales TO {role};
            DROP SCHEMA IF EXISTS {role} CASCADE;
            CREATE SCHEMA {role} AUTHORIZATION {role};
            REVOKE ALL ON SCHEMA {role} FROM PUBLIC;
        """)
        settings = DatabaseSettings(host="127.0.0.1", port=stack.pg_port, user=role, password=f"{role}-dev-password")
        engine = create_async_engine(settings.sqlalchemy_url())
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"SET search_path TO {role}"))
            await conn.run_sync(lambda c, r=role: create_messaging_tables(Operations(MigrationContext.configure(c)), r))
            if role == "busa":
                await conn.execute(sa.text("CREATE TABLE busa.changes (id bigserial PRIMARY KEY, run_id text, "
                                           "key text, seq int)"))
            else:
                await conn.execute(sa.text("CREATE TABLE busb.applied (id bigserial PRIMARY KEY, event_id uuid, "
                                           "run_id text, key text, seq int)"))
        await engine.dispose()
    yield stack
    for role in BUS_ROLES:
        await admin_db.execute(f"DROP SCHEMA IF EXISTS {role} CASCADE")


def role_settings(stack, role: str) -> DatabaseSettings:
    return DatabaseSettings(host="127.0.0.1", port=stack.pg_port, user=role, password=f"{role}-dev-password")


@pytest.fixture
async def service_a(bus_db):
    """Service A's sessions (schema busa) and a function making one business change + its event."""
    engine = create_engine(role_settings(bus_db, "busa"), schema="busa", application_name="busa")
    sessions = make_sessionmaker(engine)

    async def change(run_id: str, key: str, seq: int, pad: str = "") -> None:
        async with unit_of_work(sessions) as s:
            await s.execute(sa.text("INSERT INTO changes (run_id, key, seq) VALUES (:r, :k, :s)"),
                            {"r": run_id, "k": key, "s": seq})
            await add_events(s, ProbeChanged(aggregate_id=key, payload=ProbeChangedPayload(
                run_id=run_id, key=key, seq=seq, pad=pad)))

    yield change
    await engine.dispose()


@pytest.fixture
async def service_b(bus_db):
    """Service B's sessions (schema busb) and the handler that applies ProbeChanged."""
    engine = create_engine(role_settings(bus_db, "busb"), schema="busb", application_name="busb")
    sessions = make_sessionmaker(engine)

    async def apply(session, event: ProbeChanged) -> None:
        if event.payload.seq < 0:
            raise ValueError("poison: negative sequence numbers cannot be applied")
        await session.execute(
            sa.text("INSERT INTO applied (event_id, run_id, key, seq) VALUES (:e, :r, :k, :s)"),
            {"e": event.event_id, "r": event.payload.run_id, "k": event.payload.key, "s": event.payload.seq},
        )

    async def rows(run_id: str) -> list[sa.Row]:
        async with sessions() as s:
            return list((await s.execute(sa.text(
                "SELECT event_id, key, seq FROM applied WHERE run_id = :r ORDER BY id"), {"r": run_id})).all())

    yield sessions, apply, rows
    await engine.dispose()


@pytest.fixture
def run_id() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def probe():
    """The test-only event types and helpers, for test modules (conftest is not importable)."""

    class Probe:
        Changed = ProbeChanged
        Payload = ProbeChangedPayload
        settings = staticmethod(role_settings)

    return Probe
