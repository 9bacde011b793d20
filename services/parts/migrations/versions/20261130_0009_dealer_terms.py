"""The dealer service agreement's parts terms as effective-dated data (issue 16 item 1): R-P1 ship clock,
R-P4 old-part return days, R-P5 base-stock percentage. One row per recorded change (append-only: the table is
its own audit trail — who, when, why, from which date); the resolution is ``aftersales_shared.terms.in_force``.

Revision ID: parts_0009
Revises: parts_0007
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "parts_0009"
down_revision = "parts_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dealer_terms",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("dealer_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("values", pg.JSONB, nullable=False),
        sa.Column("reason", sa.String(2000)),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("dealer_id", "version", name="uq_dealer_terms_version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        schema="parts",
    )
    op.create_index("ix_dealer_terms_from", "dealer_terms", ["dealer_id", "effective_from"], schema="parts")


def downgrade() -> None:
    op.drop_table("dealer_terms", schema="parts")
