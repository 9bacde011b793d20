"""Settlement tables: dealers, contract versions, ledger, statements + lines, audit, disputes,
carry-over balances, monthly report submissions.

Revision ID: settlement_0002
Revises: settlement_0001
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "settlement_0002"
down_revision = "settlement_0001"
branch_labels = None
depends_on = None

S = "settlement"
MONEY = sa.Numeric(14, 2)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dealers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("territories", pg.ARRAY(sa.String(64)), nullable=False, server_default="{}"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_table(
        "contracts",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("dealer_id", sa.String(64), sa.ForeignKey(f"{S}.dealers.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date),
        sa.Column("fee_model", sa.String(1), nullable=False),
        sa.Column("parameters", pg.JSONB, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("dealer_id", "version", name="uq_contracts_dealer_id_version"),
        sa.CheckConstraint("fee_model IN ('a','b','c','d')", name="fee_model"),
        sa.CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="period"),
        schema=S,
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("dealer_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("amount", MONEY, nullable=False, server_default="0"),
        sa.Column("quantity", sa.Integer, nullable=False, server_default="1"),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("quarter", sa.String(6), nullable=False),
        sa.Column("booked_quarter", sa.String(6), nullable=False),
        sa.Column("source_type", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(128), nullable=False),
        sa.Column("details", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("source_type", "source_id", name="uq_ledger_entries_source"),
        schema=S,
    )
    op.create_index("ix_ledger_booked", "ledger_entries", ["booked_quarter", "dealer_id", "kind"], schema=S)
    op.create_index("ix_ledger_dealer_time", "ledger_entries", ["dealer_id", "occurred_at"], schema=S)
    op.create_table(
        "statements",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("dealer_id", sa.String(64), sa.ForeignKey(f"{S}.dealers.id"), nullable=False),
        sa.Column("quarter", sa.String(6), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("superseded", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("contract_id", pg.UUID(as_uuid=True), sa.ForeignKey(f"{S}.contracts.id"), nullable=False),
        sa.Column("fee_model", sa.String(1), nullable=False),
        sa.Column("gross_fee", MONEY, nullable=False),
        sa.Column("deductions", MONEY, nullable=False),
        sa.Column("forfeits", MONEY, nullable=False),
        sa.Column("adjustments", MONEY, nullable=False),
        sa.Column("net_amount", MONEY, nullable=False),
        sa.Column("budget", MONEY, nullable=False, server_default="0"),
        sa.Column("carry_in", MONEY, nullable=False, server_default="0"),
        sa.Column("carry_out", MONEY, nullable=False, server_default="0"),
        sa.Column("quality_penalty_applied", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("inputs_hash", sa.String(64), nullable=False),
        sa.Column("changes", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("prepared_by", sa.String(128), nullable=False),
        sa.Column("reviewed_by", sa.String(128)),
        sa.Column("approved_by", sa.String(128)),
        sa.Column("paid_by", sa.String(128)),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("reviewed_at", TS),
        sa.Column("approved_at", TS),
        sa.Column("paid_at", TS),
        sa.Column("due_on", sa.Date),
        sa.UniqueConstraint("dealer_id", "quarter", "revision", name="uq_statements_dealer_quarter_revision"),
        sa.CheckConstraint("status IN ('draft','reviewed','approved','paid')", name="status"),
        schema=S,
    )
    op.create_index("ix_statements_quarter", "statements", ["quarter", "dealer_id"], schema=S)
    op.create_table(
        "statement_lines",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("statement_id", pg.UUID(as_uuid=True), sa.ForeignKey(f"{S}.statements.id"), nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("description", sa.String(300), nullable=False),
        sa.Column("quantity", sa.Numeric(14, 2), nullable=False),
        sa.Column("unit_amount", sa.Numeric(14, 4)),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("late_from", sa.String(6)),
        sa.UniqueConstraint("statement_id", "line_no", name="uq_statement_lines_statement_line"),
        schema=S,
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(128), nullable=False),
        sa.Column("details", pg.JSONB, nullable=False, server_default="{}"),
        schema=S,
    )
    op.create_index("ix_audit_entity", "audit_log", ["entity_type", "entity_id"], schema=S)
    op.create_table(
        "disputes",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("statement_id", pg.UUID(as_uuid=True), sa.ForeignKey(f"{S}.statements.id"), nullable=False),
        sa.Column("dealer_id", sa.String(64), nullable=False),
        sa.Column("line_no", sa.Integer),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("claimed_amount", MONEY),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("resolved_by", sa.String(128)),
        sa.Column("resolved_at", TS),
        sa.Column("adjustment", MONEY),
        sa.Column("resolution_note", sa.String(2000)),
        sa.CheckConstraint("status IN ('open','accepted','rejected')", name="status"),
        schema=S,
    )
    op.create_table(
        "carry_over_balances",
        sa.Column("dealer_id", sa.String(64), primary_key=True),
        sa.Column("into_quarter", sa.String(6), primary_key=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("statement_id", pg.UUID(as_uuid=True), sa.ForeignKey(f"{S}.statements.id"), nullable=False),
        schema=S,
    )
    op.create_table(
        "monthly_reports",
        sa.Column("dealer_id", sa.String(64), sa.ForeignKey(f"{S}.dealers.id"), primary_key=True),
        sa.Column("month", sa.Date, primary_key=True),
        sa.Column("records", sa.Boolean, nullable=False),
        sa.Column("quality_feedback", sa.Boolean, nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("submitted_by", sa.String(128), nullable=False),
        schema=S,
    )


def downgrade() -> None:
    for t in ("monthly_reports", "carry_over_balances", "disputes", "audit_log", "statement_lines", "statements",
              "ledger_entries", "contracts", "dealers"):
        op.drop_table(t, schema=S)
