"""Customer service contract terms (issue 16 item 1) and records kept as the contract says (R-T4, item 6).

``contract_terms``: the effective-dated changes of a customer service contract's terms — today the R-T6 complaint
response hours per category (``values = {"response_hours": {category: hours}}``); a change applies from its
``effective_from`` (``domain/terms.py`` resolves the terms in force on a date). Each row says who, when and why:
the table is the audit, append-only (no UPDATE, no DELETE).

R-T4, enforced by the database whatever the code does (``retention/``):
- a finished ticket (``closed``/``cancelled``) is the visit's service record: nothing of it is updated. The one move
  left is the reopen (``ticket_lifecycle.REOPENABLE``): status back to ``open`` with ``closed_at``/``job_id``
  cleared and ``updated_at`` set, every other column as it was. A reopen is a new visit (a new job, its own
  ``unit_repairs`` row and transitions); the closed visit stays in ``ticket_transitions`` and ``unit_repairs``,
  which are never updated. An update that changes nothing is let through (a redelivered event's no-op).
- ``unit_repairs`` (a completed repair) and ``ticket_transitions`` (the history) are never updated.
- none of them, nor a finished ticket, is deleted unless it has first been copied to ``archived_records`` (what the
  retention job does past the retention term); ``archived_records`` itself is append-only.
``retention_runs``: one row per business day the retention job ran, with what it archived.
TRUNCATE (the test reset) fires no row trigger.

Revision ID: ticketing_0010
Revises: ticketing_0009
Create Date: 2026-11-30
"""
import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "ticketing_0010"
down_revision = "ticketing_0009"
branch_labels = None
depends_on = None

S = "ticketing"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contract_terms",
        sa.Column("contract_code", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("values", pg.JSONB, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        schema=S,
    )
    op.create_table(
        "archived_records",
        sa.Column("kind", sa.String(32), primary_key=True),  # ticket
        sa.Column("record_id", sa.Text, primary_key=True),
        sa.Column("dealer_id", sa.Text),
        sa.Column("closed_on", sa.Date, nullable=False),
        sa.Column("run_id", sa.BigInteger, nullable=False),
        sa.Column("archived_at", TZ, nullable=False),
        sa.Column("document", pg.JSONB, nullable=False),  # the ticket with its transitions, repairs, … as they were
        schema=S,
    )
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("run_on", sa.Date, nullable=False, unique=True),  # once per Shanghai business day
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("retention_years", sa.Integer, nullable=False),
        sa.Column("cutoff", sa.Date, nullable=False),
        sa.Column("tickets_archived", sa.Integer, nullable=False),
        sa.Column("details", pg.JSONB, nullable=False),  # counts per kind of row moved, tickets held back
        schema=S,
    )
    for statement in re.split(r";\n+(?=CREATE )", _GUARDS.strip().rstrip(";")):  # one command per call
        op.execute(statement)


_KEEP = "'{status,closed_at,job_id,updated_at}'::text[]"
_GUARDS = f"""
CREATE FUNCTION {S}.archived_ticket(ticket_id uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM {S}.archived_records a WHERE a.kind = 'ticket' AND a.record_id = $1::text)
$$;

CREATE FUNCTION {S}.guard_finished_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status NOT IN ('closed', 'cancelled') THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP = 'DELETE' THEN
    IF NOT {S}.archived_ticket(OLD.id) THEN
      RAISE EXCEPTION 'ticket % is % : its service record is kept, not deleted (R-T4)', OLD.ticket_no, OLD.status
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF to_jsonb(NEW) = to_jsonb(OLD) OR (NEW.status = 'open' AND NEW.closed_at IS NULL
      AND to_jsonb(NEW) - {_KEEP} = to_jsonb(OLD) - {_KEEP}) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'ticket % is %: its service record is kept as it is, a correction is a new record (reopen: a new '
                  'visit) (R-T4)', OLD.ticket_no, OLD.status
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER finished_ticket_immutable BEFORE UPDATE OR DELETE ON {S}.tickets
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_finished_ticket();

CREATE FUNCTION {S}.guard_ticket_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' OR OLD.ticket_id IS NULL OR NOT {S}.archived_ticket(OLD.ticket_id) THEN
    RAISE EXCEPTION '% row of ticket % is a service record: it is kept as it is (R-T4)', TG_TABLE_NAME,
                    OLD.ticket_id
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER unit_repair_immutable BEFORE UPDATE OR DELETE ON {S}.unit_repairs
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_ticket_history();
CREATE TRIGGER ticket_transition_immutable BEFORE UPDATE OR DELETE ON {S}.ticket_transitions
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_ticket_history();

CREATE FUNCTION {S}.guard_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: its rows are kept as they are (R-T4)', TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER archive_append_only BEFORE UPDATE OR DELETE ON {S}.archived_records
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_append_only();
CREATE TRIGGER contract_terms_append_only BEFORE UPDATE OR DELETE ON {S}.contract_terms
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_append_only();
"""


def downgrade() -> None:
    for trigger, table in (("contract_terms_append_only", "contract_terms"), ("archive_append_only", "archived_records"),
                           ("ticket_transition_immutable", "ticket_transitions"),
                           ("unit_repair_immutable", "unit_repairs"), ("finished_ticket_immutable", "tickets")):
        op.execute(f"DROP TRIGGER {trigger} ON {S}.{table}")
    for fn in ("guard_append_only()", "guard_ticket_history()", "guard_finished_ticket()", "archived_ticket(uuid)"):
        op.execute(f"DROP FUNCTION {S}.{fn}")
    op.drop_table("retention_runs", schema=S)
    op.drop_table("archived_records", schema=S)
    op.drop_table("contract_terms", schema=S)
