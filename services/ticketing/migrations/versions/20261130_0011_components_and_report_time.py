"""A product line's component list (issue 15 item 1) and the report-time audit (issue 15 item 7, R-S7).

``product_lines.components``: the product line's components, each with the catalogue part numbers linked to it
(``[{"component": …, "part_nos": […]}]``), replaced as a whole by the admin; ``components_version`` counts the
replacements (0: no list yet) and travels with ``ticketing.product_line.components_changed`` so a consumer never
lets an older list overwrite a newer one.

``reported_time_audit``: one row when a ticket is taken with a report time of its own (``reported_at`` given and
not the receipt time): who keyed it, over which channel, the report time, the receipt time and the instant the SLA
clock counts from. Append-only (a row is removed only with its archived ticket, R-T4); ``tickets.reported_at`` is
refused any change after intake, so the intake row is the whole story.

Revision ID: ticketing_0011
Revises: ticketing_0010
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "ticketing_0011"
down_revision = "ticketing_0010"
branch_labels = None
depends_on = None

S = "ticketing"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("product_lines", sa.Column("components", pg.JSONB, nullable=False,
                                             server_default=sa.text("'[]'::jsonb")), schema=S)
    op.add_column("product_lines", sa.Column("components_version", sa.Integer, nullable=False,
                                             server_default="0"), schema=S)
    op.add_column("product_lines", sa.Column("components_changed_at", TZ), schema=S)
    op.add_column("product_lines", sa.Column("components_changed_by", sa.Text), schema=S)
    op.create_check_constraint("components_version_not_negative", "product_lines", "components_version >= 0",
                               schema=S)
    op.create_table(
        "reported_time_audit",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("ticket_id", pg.UUID(as_uuid=True), sa.ForeignKey(f"{S}.tickets.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("change", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("reported_at", TZ, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("sla_clock_from", TZ, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.CheckConstraint("change IN ('intake')", name="change"),
        sa.Index("ix_reported_time_audit_ticket_id", "ticket_id"),
        schema=S,
    )
    op.execute(f"""
CREATE TRIGGER reported_time_audit_kept BEFORE UPDATE OR DELETE ON {S}.reported_time_audit
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_ticket_history()""")
    op.execute(f"""
CREATE FUNCTION {S}.guard_reported_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.reported_at IS DISTINCT FROM OLD.reported_at THEN
    RAISE EXCEPTION 'ticket %: the customer''s report time is kept as taken at intake (audited, R-S7)',
                    OLD.ticket_no
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$""")
    op.execute(f"""
CREATE TRIGGER reported_at_kept BEFORE UPDATE OF reported_at ON {S}.tickets
  FOR EACH ROW EXECUTE FUNCTION {S}.guard_reported_at()""")


def downgrade() -> None:
    op.execute(f"DROP TRIGGER reported_at_kept ON {S}.tickets")
    op.execute(f"DROP FUNCTION {S}.guard_reported_at()")
    op.execute(f"DROP TRIGGER reported_time_audit_kept ON {S}.reported_time_audit")
    op.drop_table("reported_time_audit", schema=S)
    op.drop_constraint("components_version_not_negative", "product_lines", schema=S)
    for c in ("components_changed_by", "components_changed_at", "components_version", "components"):
        op.drop_column("product_lines", c, schema=S)
