"""Customer service contracts as a registry, their statements and breaches, and records kept as they say (issue 16,
dispatch side: items 1-4 of the remaining parts).

``customer_contracts``: the registry (code, customer, SLA tier, valid from/to, status, version); every create or
update is one ``contract_changes`` row (who, when, what changed, why). ``jobs.contract_known``: whether the job's
contract code was registered when the job arrived (NULL: the job names no contract) — unknown ones are still
dispatched on the default terms and listed for ops.
``contract_credits.job_id`` may be NULL: a missed PM visit without a job credits the contract (``ref`` = the PM
occurrence, once: ``ux_contract_credits_pm_ref``).
``contract_breaches``: one row per missed PM occurrence (R-S10 + R-S9, milestone ``pm_visit``), unique per occurrence.
R-T4: ``archived_records`` (append-only: no UPDATE, no DELETE) and ``retention_runs`` (one per business day); the
service record guard of dispatch_0015 now lets a record go only once it is archived.

Revision ID: dispatch_0019
Revises: dispatch_0015 (the lead chains it at merge)
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "dispatch_0019"
down_revision = "dispatch_0018"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customer_contracts",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("customer_ref", sa.String(64), nullable=False),
        sa.Column("sla_tier", sa.String(40), nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("status IN ('active', 'suspended', 'ended')", name=op.f("ck_customer_contracts_status_known")),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_customer_contracts_valid_range")),
        schema=S,
    )
    op.create_table(
        "contract_changes",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("contract_code", sa.String(40), sa.ForeignKey(f"{S}.customer_contracts.code",
                                                                name=op.f("fk_contract_changes_contract_code")),
                  nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("action", sa.String(12), nullable=False),  # created | updated
        sa.Column("changes", JSONB, nullable=False),  # {field: [before, after]}
        sa.Column("reason", sa.String(2000)),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.UniqueConstraint("contract_code", "version", name=op.f("uq_contract_changes_contract_code_version")),
        schema=S,
    )
    op.add_column("jobs", sa.Column("contract_known", sa.Boolean), schema=S)
    op.create_index("ix_jobs_contract_unknown", "jobs", ["created_at"], schema=S,
                    postgresql_where=sa.text("contract_known = false"))
    op.alter_column("contract_credits", "job_id", nullable=True, schema=S)
    op.create_index("ux_contract_credits_pm_ref", "contract_credits", ["ref"], unique=True, schema=S,
                    postgresql_where=sa.text("milestone = 'pm_visit'"))
    op.create_index("ix_contract_credits_occurred", "contract_credits", ["contract_code", "occurred_at"], schema=S)
    op.create_table(
        "contract_breaches",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("contract_code", sa.String(40), nullable=False),
        sa.Column("milestone", sa.String(16), nullable=False),  # pm_visit
        sa.Column("occurrence_id", sa.String(64), nullable=False),
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.String(40)),
        sa.Column("job_id", sa.String(40)),
        sa.Column("dealer_id", sa.String(40)),
        sa.Column("engineer_id", sa.String(40)),
        sa.Column("window_end", TS, nullable=False),
        sa.Column("missed_at", TS, nullable=False),
        sa.Column("charged_to", sa.String(12), nullable=False),  # contract | dealer | nobody
        sa.Column("basis", sa.String(16)),
        sa.Column("amount", sa.Numeric(14, 2)),
        sa.Column("terms_version", sa.Integer),
        sa.Column("credit_id", sa.String(40)),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("occurrence_id", name=op.f("uq_contract_breaches_occurrence_id")),
        schema=S,
    )
    op.create_index("ix_contract_breaches_contract_code", "contract_breaches", ["contract_code"], schema=S)
    op.add_column("jobs", sa.Column("archived_at", TS), schema=S)
    op.create_table(
        "archived_records",
        sa.Column("kind", sa.String(32), primary_key=True),  # job (with its service record, actions, offers)
        sa.Column("record_id", sa.Text, primary_key=True),
        sa.Column("contract_code", sa.String(40)),
        sa.Column("closed_on", sa.Date, nullable=False),
        sa.Column("run_id", sa.BigInteger, nullable=False),
        sa.Column("archived_at", TS, nullable=False),
        sa.Column("document", JSONB, nullable=False),
        schema=S,
    )
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("run_on", sa.Date, nullable=False, unique=True),  # once per Shanghai business day
        sa.Column("started_at", TS, nullable=False),
        sa.Column("jobs_archived", sa.Integer, nullable=False),
        sa.Column("service_records_archived", sa.Integer, nullable=False),
        sa.Column("details", JSONB, nullable=False),
        schema=S,
    )
    op.execute(f"""
CREATE FUNCTION {S}.archived(kind text, record_id text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM {S}.archived_records a WHERE a.kind = $1 AND a.record_id = $2)
$$""")
    op.execute(f"""
CREATE FUNCTION {S}.guard_archive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'archived record %/% is kept as it was archived (R-T4)', OLD.kind, OLD.record_id
    USING ERRCODE = 'integrity_constraint_violation';
END $$""")
    op.execute(f"""
CREATE TRIGGER archived_records_append_only BEFORE UPDATE OR DELETE ON {S}.archived_records
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_archive()""")
    op.execute(f"""
CREATE OR REPLACE FUNCTION {S}.guard_service_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND {S}.archived('job', OLD.job_id) THEN
    RETURN OLD;  -- past retention and archived with its job (retention/)
  END IF;
  RAISE EXCEPTION 'service record of job % is a completed job''s record: it is kept as it is, a correction is a '
                  'new record (R-T4)', OLD.job_id
    USING ERRCODE = 'integrity_constraint_violation';
END $$""")


def downgrade() -> None:
    op.execute(f"""
CREATE OR REPLACE FUNCTION {S}.guard_service_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'service record of job % is a completed job''s record: it is kept as it is, a correction is a '
                  'new record (R-T4)', OLD.job_id
    USING ERRCODE = 'integrity_constraint_violation';
END $$""")
    op.execute(f"DROP TRIGGER archived_records_append_only ON {S}.archived_records")
    op.execute(f"DROP FUNCTION {S}.guard_archive()")
    op.execute(f"DROP FUNCTION {S}.archived(text, text)")
    op.drop_table("retention_runs", schema=S)
    op.drop_table("archived_records", schema=S)
    op.drop_column("jobs", "archived_at", schema=S)
    op.drop_table("contract_breaches", schema=S)
    op.drop_index("ix_contract_credits_occurred", "contract_credits", schema=S)
    op.drop_index("ux_contract_credits_pm_ref", "contract_credits", schema=S)
    op.alter_column("contract_credits", "job_id", nullable=False, schema=S)
    op.drop_index("ix_jobs_contract_unknown", "jobs", schema=S)
    op.drop_column("jobs", "contract_known", schema=S)
    op.drop_table("contract_changes", schema=S)
    op.drop_table("customer_contracts", schema=S)
