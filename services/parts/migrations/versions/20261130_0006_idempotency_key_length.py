"""Idempotency-Key: up to 200 characters, the platform's one rule (aftersales_shared.idempotency, issue 12).

The column was VARCHAR(100) when parts accepted 1-100 characters; widening a varchar is a catalogue-only
change in PostgreSQL (no table rewrite), and ``parts.allocate_request`` takes the key as ``text``.

Revision ID: parts_0006
Revises: parts_0005
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "parts_0006"
down_revision = "parts_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("idempotency_keys", "key", type_=sa.String(200), existing_type=sa.String(100),
                    existing_nullable=False, schema="parts")


def downgrade() -> None:
    op.alter_column("idempotency_keys", "key", type_=sa.String(100), existing_type=sa.String(200),
                    existing_nullable=False, schema="parts")
