"""What the contracts ask to be sent (R-O1, issue 16 item 5).

``repair_records``: the service record of every completed job of a dealer's engineer as dispatch closed it
(``dispatch.job.completed``: product line, coverage, root cause, parts used, labour), one row per job (a
redelivered or re-published completion is recorded once). The monthly repair report, the quality-feedback
statistics (product line × part × root cause) read it (``reports/``).

Revision ID: settlement_0006
Revises: settlement_0005
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "settlement_0006"
down_revision = "settlement_0005"
branch_labels = None
depends_on = None

S = "settlement"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "repair_records",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("dealer_id", sa.Text, nullable=False),
        sa.Column("ticket_id", sa.Text),
        sa.Column("engineer_id", sa.Text),
        sa.Column("serial", sa.Text, nullable=False),
        sa.Column("product_line", sa.Text, nullable=False),
        sa.Column("coverage", sa.Text, nullable=False),
        sa.Column("root_cause", sa.String(32)),
        sa.Column("parts_used", pg.JSONB, nullable=False),
        sa.Column("labour_minutes", sa.Integer, nullable=False),
        sa.Column("home_visit", sa.Boolean, nullable=False),
        sa.Column("remote", sa.Boolean, nullable=False),
        sa.Column("sla_met", pg.JSONB, nullable=False),
        sa.Column("work_done", sa.Text, nullable=False),
        sa.Column("completed_at", TS, nullable=False),
        sa.Column("month", sa.Date, nullable=False),  # first day of the Shanghai calendar month of completed_at
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        schema=S,
    )
    op.create_index("ix_repair_records_month", "repair_records", ["month", "dealer_id", "product_line"], schema=S)


def downgrade() -> None:
    op.drop_table("repair_records", schema=S)
