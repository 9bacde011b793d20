"""A job's version and the time of its last recorded action (issue 13).

``jobs.version`` counts the job's moves (status or assignee changes): a dispatcher's manual assignment names the
version it saw, so the loser of two racing dispatchers gets 409 instead of silently overwriting the winner.
``jobs.last_action_at`` is the time of the last move (the device time of an engineer's action, the server time
of dispatch's own moves): an engineer's next ``device_time`` may not lie before it.

Revision ID: dispatch_0005
Revises: dispatch_0004
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "dispatch_0005"
down_revision = "dispatch_0004"
branch_labels = None
depends_on = None

S = "dispatch"


def upgrade() -> None:
    op.add_column("jobs", sa.Column("version", sa.Integer, nullable=False, server_default="1"), schema=S)
    op.create_check_constraint(op.f("ck_jobs_version_positive"), "jobs", "version >= 1", schema=S)
    op.add_column("jobs", sa.Column("last_action_at", sa.DateTime(timezone=True)), schema=S)
    op.execute(f"UPDATE {S}.jobs SET last_action_at = greatest(created_at, last_device_time)")
    op.alter_column("jobs", "last_action_at", nullable=False, schema=S)


def downgrade() -> None:
    op.drop_column("jobs", "last_action_at", schema=S)
    op.drop_constraint(op.f("ck_jobs_version_positive"), "jobs", type_="check", schema=S)
    op.drop_column("jobs", "version", schema=S)
