"""Indexes for the job access paths: my jobs, the queue by deadline, dealer views, listings, SLA scans.

Revision ID: dispatch_0003
Revises: dispatch_0002
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

revision = "dispatch_0003"
down_revision = "dispatch_0002"
branch_labels = None
depends_on = None

S = "dispatch"
# the same list the queries use (dispatch.service.OPEN_STATUSES), so the planner can match the predicate
OPEN = sa.text("status IN ('queued', 'offered', 'accepted', 'en_route', 'on_site', 'paused')")


def upgrade() -> None:
    op.create_index("ix_jobs_opened_at", "jobs", [sa.text("opened_at DESC")], schema=S)
    op.create_index("ix_jobs_engineer_status", "jobs", ["engineer_id", "status"], schema=S)
    op.create_index("ix_jobs_dealer_opened", "jobs", ["engineer_dealer_id", sa.text("opened_at DESC")], schema=S)
    op.create_index("ix_jobs_queue", "jobs", ["arrive_due"], schema=S, postgresql_where=sa.text("status = 'queued'"))
    op.create_index("ix_jobs_open_status", "jobs", ["status"], schema=S, postgresql_where=OPEN)
    op.create_index("ix_offers_pending_expiry", "offers", ["expires_at"], schema=S,
                    postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    for name, table in (("ix_offers_pending_expiry", "offers"), ("ix_jobs_open_status", "jobs"),
                        ("ix_jobs_queue", "jobs"), ("ix_jobs_dealer_opened", "jobs"),
                        ("ix_jobs_engineer_status", "jobs"), ("ix_jobs_opened_at", "jobs")):
        op.drop_index(name, table_name=table, schema=S)
