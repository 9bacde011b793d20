"""Ticketing's read model of the parts catalogue (issue 15 item 1): a product line's component list names only
part numbers the parts catalogue announced (``parts.catalog.part_changed``) and has not withdrawn. One row per part
number with the highest ``version`` heard, so an older event arriving late never overwrites a newer one.

Revision ID: ticketing_0013
Revises: ticketing_0011
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "ticketing_0013"
down_revision = "ticketing_0012"
branch_labels = None
depends_on = None

S = "ticketing"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "catalogue_parts",
        sa.Column("part_no", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.CheckConstraint("version >= 1", name="catalogue_version_positive"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("catalogue_parts", schema=S)
