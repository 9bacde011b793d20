"""Live routing (issue 14, items 2-4 live path): a booked slot's end, the overrun mark, nightly planning runs,
debounced re-plan marks and the Idempotency-Key table of dispatch's creating POSTs.

- ``jobs.booked_end``: the end of the appointment slot the customer booked (the latest start of service the
  live insertion keeps; ``earliest_start`` is the slot's start).
- ``jobs.overrun_flagged``: a job on site past its planned end + the margin asked for a re-plan once.
- ``nightly_runs``: one row per planned day: the first runner to insert it requests that night's plans (two
  replicas, restarts: once).
- ``replan_marks``: one row per zone-day with a disruption waiting to be re-planned; a burst of disruptions
  updates the one row, a background step requests one plan when it is due (debounce).
- ``idempotency_keys``: (caller, key) -> the stored response of a creating POST (appointments, absences).

Revision ID: dispatch_0008
Revises: dispatch_0007
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "dispatch_0008"
down_revision = "dispatch_0007"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("booked_end", TS), schema=S)
    op.add_column("jobs", sa.Column("overrun_flagged", sa.Boolean, nullable=False, server_default=sa.false()),
                  schema=S)
    op.create_table(
        "nightly_runs",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("plan_ids", JSONB, nullable=False, server_default="[]"),
        schema=S)
    op.create_table(
        "replan_marks",
        sa.Column("zone", sa.String(12), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("reasons", JSONB, nullable=False, server_default="[]"),
        schema=S)
    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("response", JSONB),
        sa.Column("created_at", TS, nullable=False),
        schema=S)


def downgrade() -> None:
    op.drop_table("idempotency_keys", schema=S)
    op.drop_table("replan_marks", schema=S)
    op.drop_table("nightly_runs", schema=S)
    op.drop_column("jobs", "overrun_flagged", schema=S)
    op.drop_column("jobs", "booked_end", schema=S)
