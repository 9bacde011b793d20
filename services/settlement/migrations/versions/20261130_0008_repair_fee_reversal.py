"""Issue 15 (fix): a repair fee follows the coverage and the unit facts that arrive after it was booked.
``repair_fees`` keeps each completed job of a dealer's engineer and whether its fee is booked now;
``ticket_coverage`` each ticket's latest coverage decision after intake.

Revision ID: settlement_0008
Revises: settlement_0007
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "settlement_0008"
down_revision = "settlement_0007"
branch_labels = None
depends_on = None

S = "settlement"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "repair_fees",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(128), nullable=False),
        sa.Column("dealer_id", sa.String(64), nullable=False),
        sa.Column("completed_at", TS, nullable=False),
        sa.Column("home_visit", sa.Boolean, nullable=False),
        sa.Column("repaired", sa.Boolean, nullable=False),
        sa.Column("coverage", sa.String(32), nullable=False),
        sa.Column("fee_booked", sa.Boolean, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        schema=S,
    )
    op.create_index("ix_repair_fees_ticket_id", "repair_fees", ["ticket_id"], schema=S)
    op.create_index("ix_repair_fees_serial", "repair_fees", ["serial"], schema=S)
    op.create_table(
        "ticket_coverage",
        sa.Column("ticket_id", sa.String(64), primary_key=True),
        sa.Column("coverage", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("ticket_coverage", schema=S)
    op.drop_index("ix_repair_fees_serial", table_name="repair_fees", schema=S)
    op.drop_index("ix_repair_fees_ticket_id", table_name="repair_fees", schema=S)
    op.drop_table("repair_fees", schema=S)
