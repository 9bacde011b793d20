"""Alembic helpers shared by the services: env.py body, messaging tables, upgrade on start."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import create_async_engine


def run_env(target_metadata: MetaData, schema: str) -> None:
    """The whole body of a service's ``migrations/env.py``."""
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        from .config import DatabaseSettings

        url = DatabaseSettings().sqlalchemy_url()

    def do_run(connection: sa.Connection) -> None:
        context.configure(
            connection=connection, target_metadata=target_metadata, version_table_schema=schema,
            include_schemas=False, compare_type=True,
        )
        with context.begin_transaction():
            # Two instances starting together must not migrate twice.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"alembic:{schema}"})
            connection.execute(sa.text(f'SET LOCAL search_path TO "{schema}", public'))
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=sa.pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, version_table_schema=schema,
                          literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(main())


def create_messaging_tables(op, schema: str) -> None:  # noqa: ANN001 - alembic's op proxy
    """Outbox and inbox tables every service has (call from its first migration)."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column("headers", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        schema=schema,
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["id"], schema=schema,
                    postgresql_where=sa.text("published_at IS NULL"))
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"], schema=schema,
                    postgresql_where=sa.text("published_at IS NOT NULL"))
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=schema,
    )


def alembic_config(migrations_dir: Path, url: str) -> Config:
    """An Alembic config pointing at a service's migrations folder and database URL."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade_to_head(migrations_dir: Path, url: str) -> None:
    """Apply a service's migrations (in a worker thread: env.py runs its own event loop)."""
    await asyncio.to_thread(command.upgrade, alembic_config(migrations_dir, url), "head")
