"""Smaller GIN pending lists on the trigram search indexes.

Every ticket adds trigrams to two GIN indexes; with fast update they collect in a pending list that one
unlucky insert merges into the index when it passes the limit (4 MB by default), stalling that intake batch.
A 256 kB limit makes the merges smaller and more frequent, which kept intake p99 lower in the benchmark.

Revision ID: ticketing_0003
Revises: ticketing_0002
Create Date: 2026-11-21
"""
from alembic import op

revision = "ticketing_0003"
down_revision = "ticketing_0002"
branch_labels = None
depends_on = None

INDEXES = ("ix_tickets_fault_trgm", "ix_tickets_name_trgm")


def upgrade() -> None:
    for name in INDEXES:
        op.execute(f"ALTER INDEX ticketing.{name} SET (gin_pending_list_limit = 256)")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"ALTER INDEX ticketing.{name} RESET (gin_pending_list_limit)")
