"""Outbox and inbox tables of the ticketing service.

Revision ID: ticketing_0001
Revises:
Create Date: 2026-11-21
"""
from alembic import op

from aftersales_shared.migrations import create_messaging_tables

revision = "ticketing_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op, "ticketing")


def downgrade() -> None:
    op.drop_table("inbox", schema="ticketing")
    op.drop_table("outbox", schema="ticketing")
