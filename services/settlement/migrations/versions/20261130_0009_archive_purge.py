"""Archives purged (R-T4: the retention job "archives or purges what is past it").

- ``retention_runs.records_purged``: what the run purged from the archive.
- ``archived_records`` stays append-only, except through ``purge_archived``: it deletes the archived rows older
  than their dealer's purge cut-off (arrays of dealer ids and cut-offs, from the dealer term ``purge_after_years``
  in force on the run's day) under a transaction-local flag that the guard trigger checks. An ordinary DELETE, and
  any UPDATE, is still refused. (It guards against mistakes; the schema's owner could always drop the trigger.)

Revision ID: settlement_0009
Revises: settlement_0008
Create Date: 2026-11-30
"""
import re

import sqlalchemy as sa
from alembic import op

revision = "settlement_0009"
down_revision = "settlement_0008"
branch_labels = None
depends_on = None

S = "settlement"


def upgrade() -> None:
    op.add_column("retention_runs", sa.Column("records_purged", sa.Integer, nullable=False, server_default="0"),
                  schema=S)
    for statement in re.split(r";\n+(?=CREATE )", _GUARDS.strip().rstrip(";")):  # one command per call
        op.execute(statement)


_GUARDS = f"""
CREATE OR REPLACE FUNCTION {S}.guard_archive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('{S}.purging', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'archived records are kept as they are until the retention job purges them (R-T4)'
    USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE FUNCTION {S}.purge_archived(p_dealers text[], p_befores timestamptz[], p_limit integer)
RETURNS TABLE (out_dealer text, out_kind text, out_purged bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {S}, pg_temp AS $$
BEGIN
  PERFORM set_config('{S}.purging', 'on', true);
  RETURN QUERY
  WITH terms AS (SELECT * FROM unnest(p_dealers, p_befores) AS t(dealer, before_at)),
  gone AS (
    DELETE FROM {S}.archived_records a
    WHERE (a.kind, a.record_id) IN (
      SELECT x.kind, x.record_id FROM {S}.archived_records x JOIN terms t ON t.dealer = x.dealer_id
      WHERE x.archived_at < t.before_at
      ORDER BY x.archived_at, x.kind, x.record_id LIMIT p_limit)
    RETURNING a.dealer_id, a.kind)
  SELECT g.dealer_id, g.kind::text, count(*) FROM gone g GROUP BY g.dealer_id, g.kind;
  PERFORM set_config('{S}.purging', 'off', true);
END $$;
"""


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {S}.purge_archived(text[], timestamptz[], integer)")
    op.execute(f"""CREATE OR REPLACE FUNCTION {S}.guard_archive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'archived records are kept as they are (R-T4)' USING ERRCODE = 'integrity_constraint_violation';
END $$""")
    op.drop_column("retention_runs", "records_purged", schema=S)
