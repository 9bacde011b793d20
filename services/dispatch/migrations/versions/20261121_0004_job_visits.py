"""A ticket may have several jobs, one per visit: a reopened ticket is dispatched again.

``jobs.visit`` numbers a ticket's dispatches (1 = from TicketOpened, 2 and up = from TicketReopened). The
unique key moves from ticket_id to (ticket_id, visit), which keeps consumers idempotent per visit and
serves lookups by ticket id as its leading column.

Revision ID: dispatch_0004
Revises: dispatch_0003
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

revision = "dispatch_0004"
down_revision = "dispatch_0003"
branch_labels = None
depends_on = None

S = "dispatch"


def upgrade() -> None:
    op.add_column("jobs", sa.Column("visit", sa.Integer, nullable=False, server_default="1"), schema=S)
    op.create_check_constraint(op.f("ck_jobs_visit_positive"), "jobs", "visit >= 1", schema=S)
    op.create_unique_constraint(op.f("uq_jobs_ticket_id_visit"), "jobs", ["ticket_id", "visit"], schema=S)
    op.drop_constraint(op.f("uq_jobs_ticket_id"), "jobs", type_="unique", schema=S)


def downgrade() -> None:
    # only possible while no ticket has a second visit
    op.create_unique_constraint(op.f("uq_jobs_ticket_id"), "jobs", ["ticket_id"], schema=S)
    op.drop_constraint(op.f("uq_jobs_ticket_id_visit"), "jobs", type_="unique", schema=S)
    op.drop_constraint(op.f("ck_jobs_visit_positive"), "jobs", type_="check", schema=S)
    op.drop_column("jobs", "visit", schema=S)
