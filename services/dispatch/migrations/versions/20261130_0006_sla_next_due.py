"""The SLA watcher sees every open job (issue 14, item 5): ``jobs.next_due_at`` and its partial index.

``next_due_at`` is the instant of the job's next warning or breach across its milestones (null when nothing is
pending), computed by ``dispatch.domain.sla.next_due`` whenever deadlines, pauses, milestones or sent alerts change.
Each tick of the watcher reads only the open jobs whose instant has come, in keyset batches over
``(next_due_at, id)`` on the partial index below, so its cost follows the due jobs, not the open ones.

Backfill: the instant needs the calendar arithmetic of the domain (R-S7), which SQL does not have, so the migration
computes each open job's exact instant with the same ``next_due`` function the watcher uses
(``dispatch.sla.backfill``) and writes it back set-based, one ``UPDATE .. FROM unnest(..)`` per 5,000 jobs. A job
with an alert already overdue (what the old scan of 500 rows never reached) gets that past instant, so the
watcher's first pass emits exactly those, once, and reads only the jobs really due (first written as "every open
job due now", which made the first pass read all open jobs: 23-34 s on 100,000; changed the same day).

Revision ID: dispatch_0006
Revises: dispatch_0005
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

from aftersales_shared import clock
from dispatch.sla.backfill import backfill_next_due

revision = "dispatch_0006"
down_revision = "dispatch_0005"
branch_labels = None
depends_on = None

S = "dispatch"
# the same list the queries use (dispatch.domain.job_lifecycle.OPEN_STATUSES), so the planner can match the predicate
OPEN = "status IN ('queued', 'offered', 'accepted', 'en_route', 'on_site', 'paused')"


def upgrade() -> None:
    op.add_column("jobs", sa.Column("next_due_at", sa.DateTime(timezone=True)), schema=S)
    op.create_index("ix_jobs_sla_next_due", "jobs", ["next_due_at", "id"], schema=S,
                    postgresql_where=sa.text(f"{OPEN} AND next_due_at IS NOT NULL"))
    backfill_next_due(op.get_bind(), clock.now(), S)


def downgrade() -> None:
    op.drop_index("ix_jobs_sla_next_due", table_name="jobs", schema=S)
    op.drop_column("jobs", "next_due_at", schema=S)
