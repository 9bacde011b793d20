"""Tools as data (issue 14, item 1 "per engineer and day: ... tools"): what an engineer carries, what a job needs.

``engineers.tools``: the set of tools an engineer carries (a JSON array of names, ``[]`` = none).
``fault_class_tools``: the tools a job of a product line x fault class needs; ``jobs.required_tools`` names them for
one job (NULL = from its fault class, ``[]`` = none). An engineer without every tool a job needs may not serve it,
in a plan or a live insertion.
``engineers.route_version``: bumped by every live decision that changes the engineer's route, so the statement that
locks the routes a decision changes also tells whether a concurrent decision changed them (one round trip).

Revision ID: dispatch_0013
Revises: dispatch_0012
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "dispatch_0013"
down_revision = "dispatch_0012"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("engineers", sa.Column("tools", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
                  schema=S)
    op.add_column("jobs", sa.Column("required_tools", JSONB), schema=S)
    op.add_column("engineers", sa.Column("route_version", sa.BigInteger, nullable=False, server_default="0"),
                  schema=S)
    op.create_table(
        "fault_class_tools",
        sa.Column("product_line", sa.String(40), primary_key=True),
        sa.Column("fault_class", sa.String(40), primary_key=True),
        sa.Column("tool", sa.String(40), primary_key=True),
        sa.Column("updated_at", TS, nullable=False),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("fault_class_tools", schema=S)
    op.drop_column("engineers", "route_version", schema=S)
    op.drop_column("jobs", "required_tools", schema=S)
    op.drop_column("engineers", "tools", schema=S)
