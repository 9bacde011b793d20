"""Coverage after intake and the customer's reported time (issue 15).

``coverage_changes``: every change of a ticket's coverage after intake, with its source (an engineer's diagnosis,
a call-center override), reason, who and when (audited, never updated).
``tickets.coverage_reason`` / ``tickets.root_cause``: the latest change's reason and the diagnosed root cause
(R-T3).
``tickets.reported_at``: when the customer reported the fault (the SLA clock starts there); NULL before this revision.

Revision ID: ticketing_0005
Revises: ticketing_0004
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "ticketing_0005"
down_revision = "ticketing_0004"
branch_labels = None
depends_on = None

S = "ticketing"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("tickets", sa.Column("coverage_reason", sa.Text), schema=S)
    op.add_column("tickets", sa.Column("root_cause", sa.Text), schema=S)
    op.add_column("tickets", sa.Column("reported_at", TZ), schema=S)
    op.create_table(
        "coverage_changes",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("ticket_id", pg.UUID(as_uuid=True), sa.ForeignKey(f"{S}.tickets.id"), nullable=False),
        sa.Column("job_id", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("from_coverage", sa.Text, nullable=False),
        sa.Column("to_coverage", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("exclusions", pg.JSONB, nullable=False),
        sa.Column("root_cause", sa.Text),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.CheckConstraint("source IN ('diagnosis', 'override')", name=op.f("ck_coverage_changes_source")),
        schema=S,
    )
    op.create_index("ix_coverage_changes_ticket_id", "coverage_changes", ["ticket_id"], schema=S)


def downgrade() -> None:
    op.drop_table("coverage_changes", schema=S)
    op.drop_column("tickets", "reported_at", schema=S)
    op.drop_column("tickets", "root_cause", schema=S)
    op.drop_column("tickets", "coverage_reason", schema=S)
