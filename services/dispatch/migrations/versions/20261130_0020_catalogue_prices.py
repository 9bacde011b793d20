"""Dispatch's read model of the parts catalogue's list prices (issue 15 item 2): a paid-repair quote prices its
parts at the catalogue's list price, never at a price the engineer's app sends. One row per part number as the
parts catalogue last announced it (``parts.catalog.part_changed``); the highest ``version`` heard wins, so an older
event arriving late never overwrites a newer price.

Revision ID: dispatch_0020
Revises: dispatch_0019
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "dispatch_0020"
down_revision = "dispatch_0019"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "catalogue_prices",
        sa.Column("part_no", sa.String(40), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("list_price", sa.Numeric(14, 2), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.CheckConstraint("version >= 1", name="catalogue_version_positive"),
        sa.CheckConstraint("list_price >= 0", name="catalogue_price_not_negative"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("catalogue_prices", schema=S)
