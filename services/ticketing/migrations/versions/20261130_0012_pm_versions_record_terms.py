"""PM plans versioned (R-S10 as contract terms), retention as a contract term and archives purged (R-T4).

- ``pm_plan_versions``: every change of a PM plan, effective-dated and audited (who, when, why), append-only. A
  version governs the periods that start from its ``effective_from`` until the next version's; its grid counts from
  its own ``effective_from``. ``pm_plans`` stays the plan's identity (occurrences are unique per plan, unit and
  period) with the latest recorded terms; ``pm_occurrences.plan_version`` says which version generated one.
  Existing plans become their version 1.
- ``archived_records.contract_code``: the archived ticket's customer contract, whose terms say when it is purged.
- ``retention_runs.records_purged``: what the run purged from the archive.
- the archive stays append-only, except through ``purge_archived``: it deletes the archived rows older than the
  cut-off of their contract (arrays of contract codes and cut-offs, a default for the rest) under a
  transaction-local flag that the guard trigger checks. An ordinary DELETE or any UPDATE is still refused. (It
  guards against mistakes; the schema's owner could always drop the trigger.)

Revision ID: ticketing_0012
Revises: ticketing_0010
Create Date: 2026-11-30
"""
import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "ticketing_0012"
down_revision = "ticketing_0011"
branch_labels = None
depends_on = None

S = "ticketing"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pm_plan_versions",
        sa.Column("plan_id", pg.UUID(as_uuid=True), sa.ForeignKey(f"{S}.pm_plans.id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("every_months", sa.Integer, nullable=False),
        sa.Column("window_days", sa.Integer, nullable=False),
        sa.Column("lead_days", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.CheckConstraint("every_months BETWEEN 1 AND 60 AND window_days BETWEEN 1 AND 366 "
                           "AND lead_days BETWEEN 0 AND 366", name=op.f("ck_pm_plan_versions_terms")),
        schema=S,
    )
    op.execute(f"""INSERT INTO {S}.pm_plan_versions (plan_id, version, effective_from, every_months, window_days,
                   lead_days, active, reason, created_by, created_at)
                   SELECT id, 1, effective_from, every_months, window_days, lead_days, active, NULL, updated_by,
                          updated_at FROM {S}.pm_plans""")
    op.add_column("pm_occurrences", sa.Column("plan_version", sa.Integer), schema=S)
    op.add_column("archived_records", sa.Column("contract_code", sa.Text), schema=S)
    op.add_column("retention_runs", sa.Column("records_purged", sa.Integer, nullable=False, server_default="0"),
                  schema=S)
    op.execute(f"DROP TRIGGER archive_append_only ON {S}.archived_records")
    for statement in re.split(r";\n+(?=CREATE )", _GUARDS.strip().rstrip(";")):  # one command per call
        op.execute(statement)
    # the archive's contract code, for rows archived before the column existed (the trigger is not there yet)
    op.execute(f"UPDATE {S}.archived_records SET contract_code = document->>'contract_code' WHERE kind = 'ticket'")
    op.execute(f"""CREATE TRIGGER archive_append_only BEFORE UPDATE OR DELETE ON {S}.archived_records
                   FOR EACH ROW EXECUTE FUNCTION {S}.guard_archive()""")


_GUARDS = f"""
CREATE TRIGGER pm_plan_versions_append_only BEFORE UPDATE OR DELETE ON {S}.pm_plan_versions
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_append_only();

CREATE FUNCTION {S}.guard_archive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('{S}.purging', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only: its rows are kept as they are until the retention job purges them (R-T4)',
                  TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE FUNCTION {S}.purge_archived(p_contracts text[], p_befores timestamptz[], p_default_before timestamptz,
                                   p_limit integer) RETURNS TABLE (out_contract text, out_purged bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {S}, pg_temp AS $$
BEGIN
  PERFORM set_config('{S}.purging', 'on', true);
  RETURN QUERY
  WITH terms AS (SELECT * FROM unnest(p_contracts, p_befores) AS t(code, before_at)),
  gone AS (
    DELETE FROM {S}.archived_records a
    WHERE (a.kind, a.record_id) IN (
      SELECT x.kind, x.record_id FROM {S}.archived_records x
      WHERE x.archived_at < coalesce((SELECT t.before_at FROM terms t WHERE t.code = x.contract_code),
                                     p_default_before)
      ORDER BY x.archived_at, x.kind, x.record_id LIMIT p_limit)
    RETURNING a.contract_code)
  SELECT g.contract_code, count(*) FROM gone g GROUP BY g.contract_code;
  PERFORM set_config('{S}.purging', 'off', true);
END $$;
"""


def downgrade() -> None:
    op.execute(f"DROP TRIGGER archive_append_only ON {S}.archived_records")
    op.execute(f"DROP FUNCTION {S}.purge_archived(text[], timestamptz[], timestamptz, integer)")
    op.execute(f"DROP FUNCTION {S}.guard_archive()")
    op.execute(f"""CREATE TRIGGER archive_append_only BEFORE UPDATE OR DELETE ON {S}.archived_records
                   FOR EACH ROW EXECUTE FUNCTION {S}.guard_append_only()""")
    op.drop_column("retention_runs", "records_purged", schema=S)
    op.drop_column("archived_records", "contract_code", schema=S)
    op.drop_column("pm_occurrences", "plan_version", schema=S)
    op.execute(f"DROP TRIGGER pm_plan_versions_append_only ON {S}.pm_plan_versions")
    op.drop_table("pm_plan_versions", schema=S)
