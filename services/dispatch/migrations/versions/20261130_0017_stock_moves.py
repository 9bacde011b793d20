"""Stock that moves (issue 14, stock and restock stops): parts used on a completed job leave the engineer's van, a
restock stop's parts leave the service centre for the van, and every such move is kept.

``stock_moves``: one row per part moved (``used``: van -> customer on completion; ``restock``: centre -> van when a
plan is published or a live insertion places a job behind a restock stop), with what was asked and what was
actually moved, and the job / plan it belongs to. ``(ref, part_no)`` is unique: ``ref`` names the cause once
(``used:<job>``, ``plan:<plan>:<engineer>:<position>``, ``live:<job>:<n>``), so a retried completion or a
redelivered event moves nothing twice. ``plan_restocks.parts``: what a plan's restock stop takes from the centre
(``{part_no: qty}``, shared over the plan's routes). ``jobs.restock_*``: the restock stop a live insertion put before
the job (centre, parts, planned arrival at the centre).

Revision ID: dispatch_0017
Revises: dispatch_0015 (the lead chains it at merge)
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "dispatch_0017"
down_revision = "dispatch_0016"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stock_moves",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("ref", sa.String(160), nullable=False),
        sa.Column("part_no", sa.String(40), nullable=False),
        sa.Column("asked", sa.Integer, nullable=False),
        sa.Column("moved", sa.Integer, nullable=False),
        sa.Column("engineer_id", sa.String(40), nullable=False),
        sa.Column("centre_id", sa.String(40)),
        sa.Column("job_id", sa.String(40)),
        sa.Column("plan_id", sa.String(40)),
        sa.Column("at", TS, nullable=False),
        sa.UniqueConstraint("ref", "part_no", name=op.f("uq_stock_moves_ref_part_no")),
        sa.CheckConstraint("kind IN ('used', 'restock')", name=op.f("ck_stock_moves_kind")),
        sa.CheckConstraint("moved >= 0 AND moved <= asked", name=op.f("ck_stock_moves_moved_within_asked")),
        schema=S,
    )
    op.create_index(op.f("ix_stock_moves_job_id"), "stock_moves", ["job_id"], schema=S)
    op.create_index(op.f("ix_stock_moves_engineer_id"), "stock_moves", ["engineer_id", "at"], schema=S)
    op.add_column("plan_restocks", sa.Column("parts", JSONB, nullable=False, server_default="{}"), schema=S)
    op.add_column("jobs", sa.Column("restock_centre_id", sa.String(40)), schema=S)
    op.add_column("jobs", sa.Column("restock_parts", JSONB), schema=S)
    op.add_column("jobs", sa.Column("restock_arrival", TS), schema=S)


def downgrade() -> None:
    op.drop_column("jobs", "restock_arrival", schema=S)
    op.drop_column("jobs", "restock_parts", schema=S)
    op.drop_column("jobs", "restock_centre_id", schema=S)
    op.drop_column("plan_restocks", "parts", schema=S)
    op.drop_table("stock_moves", schema=S)
