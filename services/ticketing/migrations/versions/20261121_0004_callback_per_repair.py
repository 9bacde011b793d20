"""One callback task per repair (per job), not per ticket.

A reopened ticket is repaired again by a new job (a new visit); R-T5 asks for a callback after each
completed repair, so the second repair gets its own task.

Revision ID: ticketing_0004
Revises: ticketing_0003
Create Date: 2026-11-21
"""
from alembic import op

revision = "ticketing_0004"
down_revision = "ticketing_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("uq_callbacks_ticket_id", "callbacks", schema="ticketing", type_="unique")
    op.create_index("ix_callbacks_ticket_id", "callbacks", ["ticket_id"], schema="ticketing")
    op.create_unique_constraint("uq_callbacks_job_id", "callbacks", ["job_id"], schema="ticketing")


def downgrade() -> None:
    op.drop_constraint("uq_callbacks_job_id", "callbacks", schema="ticketing", type_="unique")
    op.drop_index("ix_callbacks_ticket_id", "callbacks", schema="ticketing")
    op.create_unique_constraint("uq_callbacks_ticket_id", "callbacks", ["ticket_id"], schema="ticketing")
