"""A ticket's coverage as ticketing last decided it (issue 15).

``ticket_coverage`` follows ``ticketing.ticket.coverage_changed``: a repair that became paid on diagnosis (R-W3,
R-T3) has its open part requests gated as paid orders (R-P2, payment before shipping), and a new request for
its ticket or job is a paid order whatever coverage the requester sent. ``changed_at`` orders the decisions: a
late, older one never overwrites a newer one.

Revision ID: parts_0008
Revises: parts_0007
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "parts_0008"
down_revision = "parts_0007"
branch_labels = None
depends_on = None

S = "parts"


def upgrade() -> None:
    op.create_table(
        "ticket_coverage",
        sa.Column("ticket_id", sa.Text, primary_key=True),
        sa.Column("coverage", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("coverage IN ('warranty', 'paid')", name=op.f("ck_ticket_coverage_coverage")),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("ticket_coverage", schema=S)
