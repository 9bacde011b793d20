"""Diagnosed components checked against the product line's component list (issue 15 item 1).

``line_components``: dispatch's read model of each product line's component list, with the catalogue part numbers
linked to each component, as ticketing's catalogue announces it (``ticketing.product_line.components_changed``);
a row keeps the highest ``version`` heard, so an older event arriving late never overwrites a newer list.
``job_diagnoses.components_validated``: whether the diagnosis was checked against such a list (false: no list had
arrived for the product line when it was recorded — accepted, flagged, see docs/dispatch.md).

Revision ID: dispatch_0018
Revises: dispatch_0015
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "dispatch_0018"
down_revision = "dispatch_0017"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "line_components",
        sa.Column("product_line", sa.String(40), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("components", JSONB, nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        schema=S,
    )
    op.add_column("job_diagnoses", sa.Column("components_validated", sa.Boolean, nullable=False,
                                             server_default=sa.false()), schema=S)


def downgrade() -> None:
    op.drop_column("job_diagnoses", "components_validated", schema=S)
    op.drop_table("line_components", schema=S)
