"""Outbox and inbox tables of the parts service.

Revision ID: parts_0001
Revises:
Create Date: 2026-11-21
"""
from alembic import op

from aftersales_shared.migrations import create_messaging_tables

revision = "parts_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op, "parts")


def downgrade() -> None:
    op.drop_table("inbox", schema="parts")
    op.drop_table("outbox", schema="parts")
