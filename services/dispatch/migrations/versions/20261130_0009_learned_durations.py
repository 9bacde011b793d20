"""Service durations learned from completed jobs (issue 14, item 1): ``learned_durations`` and a manual override.

``learned_durations`` holds, per product line x fault class ("" = any fault class of the line), the robust estimate
over the last completions' labour minutes (``domain.durations.learn``: NULL below the minimum sample count) and the
sample count; it is recomputed from ``service_records`` on each ``dispatch.job.completed`` (``plans.durations``).
``service_durations.override``: a configured value that wins over the learned one.

Revision ID: dispatch_0009
Revises: dispatch_0007 (the lead chains it after dispatch_0008 at merge)
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "dispatch_0009"
down_revision = "dispatch_0008"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("service_durations", sa.Column("override", sa.Boolean, nullable=False, server_default="false"),
                  schema=S)
    op.create_table(
        "learned_durations",
        sa.Column("product_line", sa.String(40), primary_key=True),
        sa.Column("fault_class", sa.String(40), primary_key=True),  # "" = any fault class of the product line
        sa.Column("minutes", sa.Integer),  # NULL: fewer samples than the minimum
        sa.Column("samples", sa.Integer, nullable=False),
        sa.Column("computed_at", TS, nullable=False),
        sa.CheckConstraint("minutes BETWEEN 0 AND 10080", name=op.f("ck_learned_durations_minutes_range")),
        sa.CheckConstraint("samples >= 0", name=op.f("ck_learned_durations_samples_nonneg")),
        schema=S,
    )
    # the last completions of a product line (x fault class): service records by completion time
    op.create_index("ix_service_records_completed_at", "service_records", ["completed_at"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_service_records_completed_at", table_name="service_records", schema=S)
    op.drop_table("learned_durations", schema=S)
    op.drop_column("service_durations", "override", schema=S)
