"""Which engineer each job is assigned to, as dispatch last said (issue 5: engineers request for their own jobs).

A read model fed by dispatch's job events (consumers.py, job_engineers.py): assigned/accepted set the
engineer, declined clears it, completed/cancelled keep the last one so late requests and returns still check.
``event_at`` is the envelope's ``occurred_at`` of the event that last changed the row: an event only
overwrites a strictly older one, so a late or redelivered event never undoes a newer one.
Allocation (parts_0003) is untouched; the check is one primary-key lookup for engineer callers only.

Revision ID: parts_0005
Revises: parts_0004
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

revision = "parts_0005"
down_revision = "parts_0004"
branch_labels = None
depends_on = None

S = "parts"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_engineers",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("engineer_id", sa.Text),  # NULL: dispatch says nobody holds the job now
        sa.Column("event_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("job_engineers", schema=S)
