"""Service durations by skill level (issue 14, item 1: product line x fault class x skill level).

``service_durations.skill_level`` and ``learned_durations.skill_level``: the engineer's level (1..5) in the job's
required skill that the row is for; 0 = any level (the rows as before, the fallback of every level). The primary
keys become (product line, fault class, skill level). Learned rows per level are computed from the completions of
the engineers at that level (``plans/durations.py``).

Revision ID: dispatch_0016
Revises: dispatch_0015
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "dispatch_0016"
down_revision = "dispatch_0015"
branch_labels = None
depends_on = None

S = "dispatch"
TABLES = ("service_durations", "learned_durations")


def _drop_pk(table: str) -> None:
    op.execute(f"""
DO $$ DECLARE n text; BEGIN
  SELECT conname INTO n FROM pg_constraint WHERE conrelid = '{S}.{table}'::regclass AND contype = 'p';
  EXECUTE format('ALTER TABLE {S}.{table} DROP CONSTRAINT %I', n);
END $$""")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("skill_level", sa.SmallInteger, nullable=False, server_default="0"),
                      schema=S)
        op.create_check_constraint(op.f(f"ck_{table}_skill_level_range"), table, "skill_level BETWEEN 0 AND 5",
                                   schema=S)
        _drop_pk(table)
        op.create_primary_key(f"pk_{table}", table, ["product_line", "fault_class", "skill_level"], schema=S)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DELETE FROM {S}.{table} WHERE skill_level <> 0")
        op.drop_constraint(f"pk_{table}", table, type_="primary", schema=S)
        op.create_primary_key(f"pk_{table}", table, ["product_line", "fault_class"], schema=S)
        op.drop_constraint(op.f(f"ck_{table}_skill_level_range"), table, type_="check", schema=S)
        op.drop_column(table, "skill_level", schema=S)
