"""The SLA watcher sees every open job (issue 14, item 5): ``jobs.next_due_at`` and its partial index.

``next_due_at`` is the instant of the job's next warning or breach across its milestones (null when nothing is
pending), computed by ``dispatch.domain.sla.next_due`` whenever deadlines, pauses, milestones or sent alerts change.
Each tick of the watcher reads only the open jobs whose instant has come, in keyset batches over
``(next_due_at, id)`` on the partial index below, so its cost follows the due jobs, not the open ones.

Backfill: the instant needs the calendar arithmetic of the domain (R-S7), which SQL does not have, so every open
job is marked due now; the watcher's first pass then emits whatever is overdue (what today's scan of 500 rows never
reached) and sets each job's exact instant through the same ``next_due`` function.

Revision ID: dispatch_0006
Revises: dispatch_0005
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "dispatch_0006"
down_revision = "dispatch_0005"
branch_labels = None
depends_on = None

S = "dispatch"
# the same list the queries use (dispatch.domain.job_lifecycle.OPEN_STATUSES), so the planner can match the predicate
OPEN = "status IN ('queued', 'offered', 'accepted', 'en_route', 'on_site', 'paused')"


def upgrade() -> None:
    op.add_column("jobs", sa.Column("next_due_at", sa.DateTime(timezone=True)), schema=S)
    op.execute(f"UPDATE {S}.jobs SET next_due_at = now() WHERE {OPEN}")
    op.create_index("ix_jobs_sla_next_due", "jobs", ["next_due_at", "id"], schema=S,
                    postgresql_where=sa.text(f"{OPEN} AND next_due_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_jobs_sla_next_due", table_name="jobs", schema=S)
    op.drop_column("jobs", "next_due_at", schema=S)
