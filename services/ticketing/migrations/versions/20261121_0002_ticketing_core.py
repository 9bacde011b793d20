"""Ticketing tables: product lines, versioned policies, installed base, tickets, complaints, callbacks.

Revision ID: ticketing_0002
Revises: ticketing_0001
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "ticketing_0002"
down_revision = "ticketing_0001"
branch_labels = None
depends_on = None

S = "ticketing"
TZ = sa.DateTime(timezone=True)
UUID = pg.UUID(as_uuid=True)
OPEN = "status IN ('open','assigned','en_route','on_site','paused')"


def upgrade() -> None:
    op.create_table(
        "product_lines",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("required_skill", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_table(
        "warranty_policies",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("product_line", sa.Text, sa.ForeignKey(f"{S}.product_lines.code"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("terms", pg.JSONB, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("product_line", "version", name="uq_warranty_policies_product_line"),
        schema=S,
    )
    op.create_table(
        "units",
        sa.Column("serial", sa.Text, primary_key=True),
        sa.Column("product_line", sa.Text, sa.ForeignKey(f"{S}.product_lines.code"), nullable=False),
        sa.Column("policy_id", UUID, sa.ForeignKey(f"{S}.warranty_policies.id"), nullable=False),
        sa.Column("customer_name", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("address", sa.Text),
        sa.Column("region_code", sa.String(6)),
        sa.Column("dealer_id", sa.Text),
        sa.Column("contract_code", sa.Text),
        sa.Column("sold_on", sa.Date),
        sa.Column("delivered_on", sa.Date),
        sa.Column("installed_on", sa.Date),
        sa.Column("dealer_received_on", sa.Date),
        sa.Column("card_registered_on", sa.Date),
        sa.Column("sale_amount", sa.Numeric(14, 2)),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_index("ix_units_dealer_id", "units", ["dealer_id"], schema=S)
    for name, cols in {
        "unit_extensions": [sa.Column("paid_on", sa.Date, nullable=False),
                            sa.Column("months", sa.Integer, nullable=False),
                            sa.Column("price", sa.Numeric(14, 2), nullable=False),
                            sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now())],
        "unit_delays": [sa.Column("started_on", sa.Date, nullable=False), sa.Column("days", sa.Integer, nullable=False),
                        sa.Column("caused_by", sa.Text, nullable=False), sa.Column("note", sa.Text)],
    }.items():
        op.create_table(name, sa.Column("id", UUID, primary_key=True),
                        sa.Column("serial", sa.Text, sa.ForeignKey(f"{S}.units.serial"), nullable=False),
                        *cols, schema=S)
        op.create_index(f"ix_{name}_serial", name, ["serial"], schema=S)
    op.create_table(
        "unit_repairs",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("serial", sa.Text, nullable=False),
        sa.Column("job_id", sa.Text, nullable=False, unique=True),
        sa.Column("ticket_id", UUID),
        sa.Column("completed_on", sa.Date, nullable=False),
        sa.Column("component", sa.Text, nullable=False),
        sa.Column("parts_replaced", pg.JSONB, nullable=False),
        sa.Column("in_warranty", sa.Boolean, nullable=False),
        schema=S,
    )
    op.create_index("ix_unit_repairs_serial", "unit_repairs", ["serial"], schema=S)

    op.execute(f"CREATE SEQUENCE {S}.ticket_no_seq")
    op.create_table(
        "tickets",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("ticket_no", sa.Text, nullable=False, unique=True),
        sa.Column("serial", sa.Text, nullable=False),
        sa.Column("product_line", sa.Text, nullable=False),
        sa.Column("dealer_id", sa.Text),
        sa.Column("contract_code", sa.Text),
        sa.Column("customer_name", sa.Text, nullable=False),
        sa.Column("phone", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("fault_description", sa.Text, nullable=False),
        sa.Column("component", sa.Text, nullable=False),
        sa.Column("photos", pg.JSONB, nullable=False),
        sa.Column("requested_action", sa.Text),
        sa.Column("purchase_proof", sa.Text),
        sa.Column("coverage", sa.Text, nullable=False),
        sa.Column("exclusions", pg.JSONB, nullable=False),
        sa.Column("warranty_reasons", pg.JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("force_reason", sa.Text),
        sa.Column("job_id", sa.Text),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("closed_at", TZ),
        sa.CheckConstraint("region_code ~ '^[0-9]{6}$'", name="region_code_6_digits"),
        sa.CheckConstraint("channel IN ('phone','web','email','sms')", name="channel_known"),
        sa.CheckConstraint("coverage IN ('warranty','extended','paid')", name="coverage_known"),
        schema=S,
    )
    # One open ticket per serial, enforced by the database itself (a forced duplicate carries a reason).
    op.execute(f"CREATE UNIQUE INDEX uq_tickets_open_serial ON {S}.tickets (serial) "
               f"WHERE {OPEN} AND force_reason IS NULL")
    op.execute(f"CREATE INDEX ix_tickets_serial ON {S}.tickets (serial, opened_at DESC)")
    op.execute(f"CREATE INDEX ix_tickets_phone ON {S}.tickets (phone, opened_at DESC)")
    op.execute(f"CREATE INDEX ix_tickets_dealer ON {S}.tickets (dealer_id, opened_at DESC)")
    op.execute(f"CREATE INDEX ix_tickets_opened ON {S}.tickets (opened_at DESC, id DESC)")
    op.execute(f"CREATE INDEX ix_tickets_status ON {S}.tickets (status, opened_at DESC)")
    op.execute(f"CREATE INDEX ix_tickets_fault_trgm ON {S}.tickets USING gin (fault_description public.gin_trgm_ops)")
    op.execute(f"CREATE INDEX ix_tickets_name_trgm ON {S}.tickets USING gin (customer_name public.gin_trgm_ops)")
    op.create_table(
        "ticket_transitions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("ticket_id", UUID, sa.ForeignKey(f"{S}.tickets.id"), nullable=False),
        sa.Column("from_status", sa.Text),
        sa.Column("to_status", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("at", TZ, nullable=False),
        schema=S,
    )
    op.create_index("ix_ticket_transitions_ticket_id", "ticket_transitions", ["ticket_id"], schema=S)
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("response", pg.JSONB),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_table(
        "complaints",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("ticket_id", UUID, sa.ForeignKey(f"{S}.tickets.id")),
        sa.Column("dealer_id", sa.Text),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("filed_by", sa.Text, nullable=False),
        sa.Column("filed_at", TZ, nullable=False),
        sa.Column("respond_by", TZ, nullable=False),
        sa.Column("upheld", sa.Boolean),
        sa.Column("against", sa.Text),
        sa.Column("resolution", sa.Text),
        sa.Column("root_cause", sa.Text),
        sa.Column("resolved_at", TZ),
        schema=S,
    )
    op.create_index("ix_complaints_dealer_id", "complaints", ["dealer_id"], schema=S)
    op.create_table(
        "callbacks",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("ticket_id", UUID, sa.ForeignKey(f"{S}.tickets.id"), nullable=False, unique=True),
        sa.Column("job_id", sa.Text),
        sa.Column("dealer_id", sa.Text),
        sa.Column("repair_completed_at", TZ, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reached", sa.Boolean),
        sa.Column("fixed", sa.Boolean),
        sa.Column("satisfaction", sa.SmallInteger),
        sa.Column("comment", sa.Text),
        sa.Column("recorded_by", sa.Text),
        sa.Column("recorded_at", TZ),
        schema=S,
    )
    op.create_index("ix_callbacks_dealer_month", "callbacks", ["dealer_id", "repair_completed_at"], schema=S)


def downgrade() -> None:
    for t in ("callbacks", "complaints", "idempotency_keys", "ticket_transitions", "tickets", "unit_repairs",
              "unit_delays", "unit_extensions", "units", "warranty_policies", "product_lines"):
        op.drop_table(t, schema=S)
    op.execute(f"DROP SEQUENCE {S}.ticket_no_seq")
