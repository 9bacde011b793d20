"""What the contracts ask to be sent (R-O1, issue 16 item 5): the monthly parts-replacement list; and the parts
availability horizon (R-P8, item 7).

``part_replacements``: one row per part a completed job used (``dispatch.job.completed``'s ``parts_used``), with
the job's dealer, product line, coverage and root cause; keyed by job and line, so a redelivered or
re-published completion is recorded once (``reports/service.py``); last year's rows are also what the R-P9
seasonal stock plan reads.

``product_lines``: a product line's end of sale and, if its contract says other than the configured default
(``PARTS_AVAILABILITY_YEARS``, 15), how many years after it its parts stay available (R-P8).

Revision ID: parts_0010
Revises: parts_0009
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "parts_0010"
down_revision = "parts_0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "part_replacements",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True),
        sa.Column("dealer_id", sa.Text),  # NULL: the manufacturer's own engineer
        sa.Column("engineer_id", sa.Text),
        sa.Column("ticket_id", sa.Text),
        sa.Column("part_no", sa.Text, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("old_serial", sa.Text),
        sa.Column("new_serial", sa.Text),
        sa.Column("old_part_kept", sa.Boolean, nullable=False),
        sa.Column("serial", sa.Text, nullable=False),
        sa.Column("product_line", sa.Text, nullable=False),
        sa.Column("coverage", sa.Text, nullable=False),
        sa.Column("root_cause", sa.Text),
        sa.Column("replaced_at", TS, nullable=False),
        sa.Column("month", sa.Date, nullable=False),  # first day of the Shanghai calendar month of replaced_at
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_part_replacements_month", "part_replacements", ["month", "dealer_id", "product_line"])
    op.create_table(
        "product_lines",
        sa.Column("product_line", sa.String(60), primary_key=True),
        sa.Column("end_of_sale", sa.Date),
        sa.Column("availability_years", sa.Integer),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("availability_years IS NULL OR availability_years BETWEEN 1 AND 100",
                           name="availability_years_range"),
    )


def downgrade() -> None:
    op.drop_table("product_lines")
    op.drop_table("part_replacements")
