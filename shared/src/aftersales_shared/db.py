"""Async engine, session factory, unit of work and the MetaData naming convention."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from .config import DatabaseSettings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata(schema: str) -> MetaData:
    """A MetaData bound to one service schema with the shared naming convention."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def make_base(schema: str) -> type[DeclarativeBase]:
    """A declarative base whose tables live in ``schema``."""

    class Base(DeclarativeBase):
        metadata = make_metadata(schema)

    return Base


def create_engine(settings: DatabaseSettings, *, schema: str, application_name: str) -> AsyncEngine:
    """An asyncpg-backed engine whose connections search only the service schema."""
    return create_async_engine(
        settings.sqlalchemy_url(),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        # no pre-ping: it costs a round trip on every request; a dropped connection instead fails one
        # request and SQLAlchemy invalidates the pool, and recycling bounds a connection's age
        pool_recycle=1800,
        # an error never carries the statement's parameters (customer names, phones, addresses) into a log line
        hide_parameters=True,
        connect_args={
            "server_settings": {"search_path": f"{schema},public", "application_name": application_name},
            "command_timeout": 30,
        },
    )


def _encode_json(value: object) -> str:
    # a str is taken as already-encoded JSON (event payloads, stored responses), so it is not encoded twice
    return value if isinstance(value, str) else json.dumps(value)


async def _json_codecs(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=_encode_json, decoder=json.loads, schema="pg_catalog")


async def _end_xact(conn: asyncpg.Connection) -> None:
    # The hot paths keep no session state (no LISTEN, no SET, only transaction-scoped advisory locks), so
    # asyncpg's default reset (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL: one more round trip per
    # request) is skipped; a transaction left open by an interrupted request is still rolled back.
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_raw_pool(settings: DatabaseSettings, *, schema: str, application_name: str,
                          size: int) -> asyncpg.Pool:
    """A plain asyncpg pool for the few hot paths where SQLAlchemy's per-statement CPU is the bottleneck
    (ticket intake, part allocation): same role, search path and JSON decoding as the engine's connections."""
    return await asyncpg.create_pool(
        settings.asyncpg_dsn(), min_size=1, max_size=size, init=_json_codecs, command_timeout=30, reset=_end_xact,
        server_settings={"search_path": f"{schema},public", "application_name": f"{application_name}-hot"},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on any exception."""
    async with sessions() as session:
        async with session.begin():
            yield session
