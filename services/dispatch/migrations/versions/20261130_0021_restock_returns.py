"""Restocked parts go back, and the level a completion is learned at (issue 14, finishing stock and durations).

``stock_moves.kind`` may be ``return`` (van -> centre): the parts a restock stop (a live insertion's, a published
plan's) moved to a van for a job go back to their centre when the job leaves the route before the engineer set off
to it (``ref = return:<take ref>[:<job>]``, once). ``jobs.completed_skill_level``: the engineer's level (0..5, 0 = none) in the job's required skill
when the job was completed, set in the completion's transaction; learned durations use it (NULL, rows completed
before this revision: the engineer's level now).

Revision ID: dispatch_0021
Revises: dispatch_0020
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "dispatch_0021"
down_revision = "dispatch_0020"
branch_labels = None
depends_on = None

S = "dispatch"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_stock_moves_kind"), "stock_moves", schema=S, type_="check")
    op.create_check_constraint(op.f("ck_stock_moves_kind"), "stock_moves", "kind IN ('used', 'restock', 'return')",
                               schema=S)
    op.add_column("jobs", sa.Column("completed_skill_level", sa.SmallInteger), schema=S)
    op.create_check_constraint(op.f("ck_jobs_completed_skill_level"), "jobs",
                               "completed_skill_level BETWEEN 0 AND 5", schema=S)


def downgrade() -> None:
    op.drop_constraint(op.f("ck_jobs_completed_skill_level"), "jobs", schema=S, type_="check")
    op.drop_column("jobs", "completed_skill_level", schema=S)
    op.execute(f"DELETE FROM {S}.stock_moves WHERE kind = 'return'")
    op.drop_constraint(op.f("ck_stock_moves_kind"), "stock_moves", schema=S, type_="check")
    op.create_check_constraint(op.f("ck_stock_moves_kind"), "stock_moves", "kind IN ('used', 'restock')", schema=S)
