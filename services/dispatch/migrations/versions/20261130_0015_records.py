"""Records kept as the contract says (R-T4, issue 16 item 6): a completed job's service record is immutable.

``service_records`` holds what the engineer recorded when the job completed (work done, root cause, parts used,
labour, signature, photos); ``jobs/service.py`` inserts it once, on completion, and nothing updates it. The
database now refuses any UPDATE or DELETE of it, whatever the code does: a correction is a new record (a reopened
ticket is a new visit with a new job and so its own service record). Dispatch keeps no retention job: the
service record is archived with its ticket by ticketing's retention job (the ticket's ``unit_repairs`` and
transitions), and a job's row in dispatch is never deleted. TRUNCATE (the test reset) fires no row trigger.

Revision ID: dispatch_0015
Revises: dispatch_0012
Create Date: 2026-11-30
"""
from alembic import op

revision = "dispatch_0015"
down_revision = "dispatch_0014"
branch_labels = None
depends_on = None

S = "dispatch"


def upgrade() -> None:
    op.execute(f"""
CREATE FUNCTION {S}.guard_service_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'service record of job % is a completed job''s record: it is kept as it is, a correction is a '
                  'new record (R-T4)', OLD.job_id
    USING ERRCODE = 'integrity_constraint_violation';
END $$""")
    op.execute(f"""
CREATE TRIGGER service_record_immutable BEFORE UPDATE OR DELETE ON {S}.service_records
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_service_record()""")


def downgrade() -> None:
    op.execute(f"DROP TRIGGER service_record_immutable ON {S}.service_records")
    op.execute(f"DROP FUNCTION {S}.guard_service_record()")
