"""The job's dealer and ticket next to its engineer (issue 13: tenancy on every reference).

``job_engineers`` already follows dispatch's job events for the engineer holding each job; every job event
also carries the job's ticket and the dealer employing that engineer (``JobPayload.dealer_id``). Keeping both
lets ``POST /v1/part-requests`` refuse a dealer naming another dealer's job (or a ticket that is not the job's),
without asking dispatch. Rows written before this revision have NULLs until the job's next event.
The ticket index serves a dealer's request that names a ticket without its job.

Revision ID: parts_0007
Revises: parts_0006
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "parts_0007"
down_revision = "parts_0006"
branch_labels = None
depends_on = None

S = "parts"


def upgrade() -> None:
    op.add_column("job_engineers", sa.Column("dealer_id", sa.Text), schema=S)
    op.add_column("job_engineers", sa.Column("ticket_id", sa.Text), schema=S)
    op.create_index("ix_job_engineers_ticket_id", "job_engineers", ["ticket_id"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_job_engineers_ticket_id", table_name="job_engineers", schema=S)
    op.drop_column("job_engineers", "ticket_id", schema=S)
    op.drop_column("job_engineers", "dealer_id", schema=S)
