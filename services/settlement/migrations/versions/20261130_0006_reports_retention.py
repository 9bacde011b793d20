"""What the contracts ask to be sent (R-O1, issue 16 item 5) and records kept as the contract says (R-T4,
item 6).

``repair_records``: the service record of every completed job of a dealer's engineer as dispatch closed it
(``dispatch.job.completed``: product line, coverage, root cause, parts used, labour), one row per job (a
redelivered or re-published completion is recorded once). The monthly repair report, the quality-feedback
statistics (product line × part × root cause) read it (``reports/``).

R-T4, enforced by the database whatever the code does (``retention/``):
- a closed statement (approved or paid) is immutable: the one move left to an approved one is to paid (status,
  paid_by, paid_at); nothing else of it, and nothing of a paid one, is ever updated; its lines are neither
  changed nor added to. Corrections are new records that reference the old (an accepted dispute's adjustment in
  the ledger names the statement and lands on the next one).
- a repair record (the service record) is never updated.
- neither is deleted unless it has first been moved to ``archived_records`` (what the retention job does with
  what is past the retention term); ``archived_records`` itself is append-only.
``retention_runs``: one row per business day the retention job ran, with what it archived.

Revision ID: settlement_0006
Revises: settlement_0005
Create Date: 2026-11-30
"""
import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "settlement_0006"
down_revision = "settlement_0005"
branch_labels = None
depends_on = None

S = "settlement"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "repair_records",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("dealer_id", sa.Text, nullable=False),
        sa.Column("ticket_id", sa.Text),
        sa.Column("engineer_id", sa.Text),
        sa.Column("serial", sa.Text, nullable=False),
        sa.Column("product_line", sa.Text, nullable=False),
        sa.Column("coverage", sa.Text, nullable=False),
        sa.Column("root_cause", sa.String(32)),
        sa.Column("parts_used", pg.JSONB, nullable=False),
        sa.Column("labour_minutes", sa.Integer, nullable=False),
        sa.Column("home_visit", sa.Boolean, nullable=False),
        sa.Column("remote", sa.Boolean, nullable=False),
        sa.Column("sla_met", pg.JSONB, nullable=False),
        sa.Column("work_done", sa.Text, nullable=False),
        sa.Column("completed_at", TS, nullable=False),
        sa.Column("month", sa.Date, nullable=False),  # first day of the Shanghai calendar month of completed_at
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        schema=S,
    )
    op.create_index("ix_repair_records_month", "repair_records", ["month", "dealer_id", "product_line"], schema=S)
    op.create_table(
        "archived_records",
        sa.Column("kind", sa.String(32), primary_key=True),  # statement | repair_record
        sa.Column("record_id", sa.Text, primary_key=True),
        sa.Column("dealer_id", sa.Text, nullable=False),
        sa.Column("period", sa.String(16), nullable=False),  # the statement's quarter, the record's month
        sa.Column("run_id", sa.BigInteger, nullable=False),
        sa.Column("archived_at", TS, nullable=False),
        sa.Column("document", pg.JSONB, nullable=False),  # the rows as they were (a statement with its lines, …)
        schema=S,
    )
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("run_on", sa.Date, nullable=False, unique=True),  # once per Shanghai business day
        sa.Column("started_at", TS, nullable=False),
        sa.Column("statements_archived", sa.Integer, nullable=False),
        sa.Column("repair_records_archived", sa.Integer, nullable=False),
        sa.Column("details", pg.JSONB, nullable=False),  # per dealer: retention years, cut-offs, counts
        schema=S,
    )
    for statement in re.split(r";\n+(?=CREATE )", _GUARDS.strip().rstrip(";")):  # one command per call
        op.execute(statement)


_GUARDS = f"""
CREATE FUNCTION {S}.archived(kind text, record_id text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM {S}.archived_records a WHERE a.kind = $1 AND a.record_id = $2)
$$;

CREATE FUNCTION {S}.guard_closed_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status IN ('approved', 'paid') AND NOT {S}.archived('statement', OLD.id::text) THEN
      RAISE EXCEPTION 'statement % is closed (%): it is kept, not deleted (R-T4)', OLD.id, OLD.status
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status = 'paid' OR (OLD.status = 'approved' AND NOT (NEW.status IN ('approved', 'paid')
      AND to_jsonb(NEW) - '{{status,paid_by,paid_at}}'::text[] = to_jsonb(OLD) - '{{status,paid_by,paid_at}}'::text[]))
  THEN
    RAISE EXCEPTION 'statement % is closed (%): a correction is a new record (R-T4)', OLD.id, OLD.status
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER closed_statement_immutable BEFORE UPDATE OR DELETE ON {S}.statements
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_closed_statement();

CREATE FUNCTION {S}.guard_closed_statement_line() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  st text;
  sid uuid := CASE WHEN TG_OP = 'INSERT' THEN NEW.statement_id ELSE OLD.statement_id END;
BEGIN
  SELECT status INTO st FROM {S}.statements WHERE id = sid;
  IF st IN ('approved', 'paid') AND NOT (TG_OP = 'DELETE' AND {S}.archived('statement', sid::text)) THEN
    RAISE EXCEPTION 'statement % is closed (%): its lines are kept as they are (R-T4)', sid, st
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER closed_statement_lines_immutable BEFORE INSERT OR UPDATE OR DELETE ON {S}.statement_lines
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_closed_statement_line();

CREATE FUNCTION {S}.guard_repair_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' OR NOT {S}.archived('repair_record', OLD.job_id) THEN
    RAISE EXCEPTION 'repair record % is a closed service record: it is kept as it is (R-T4)', OLD.job_id
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER repair_record_immutable BEFORE UPDATE OR DELETE ON {S}.repair_records
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_repair_record();

CREATE FUNCTION {S}.guard_archive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'archived records are kept as they are (R-T4)' USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER archive_append_only BEFORE UPDATE OR DELETE ON {S}.archived_records
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_archive();
"""


def downgrade() -> None:
    op.execute(f"DROP TRIGGER archive_append_only ON {S}.archived_records")
    op.execute(f"DROP TRIGGER repair_record_immutable ON {S}.repair_records")
    op.execute(f"DROP TRIGGER closed_statement_lines_immutable ON {S}.statement_lines")
    op.execute(f"DROP TRIGGER closed_statement_immutable ON {S}.statements")
    for fn in ("guard_archive", "guard_repair_record", "guard_closed_statement_line", "guard_closed_statement"):
        op.execute(f"DROP FUNCTION {S}.{fn}()")
    op.execute(f"DROP FUNCTION {S}.archived(text, text)")
    op.drop_table("retention_runs", schema=S)
    op.drop_table("archived_records", schema=S)
    op.drop_table("repair_records", schema=S)
