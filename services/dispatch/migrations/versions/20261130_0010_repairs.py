"""Diagnosis on site and paid repairs (issue 15).

``job_diagnoses``: the engineer's diagnosis of a job (failed components, root-cause class R-T3, exclusions R-W3
with evidence), one row per job, revised in place (``revision`` counts the revisions).
``jobs.coverage_reason`` / ``jobs.coverage_changed_at``: ticketing's latest coverage decision as dispatch heard it
(``ticketing.ticket.coverage_changed``); an older decision arriving late never overwrites a newer one.
``rate_cards``: a product line's paid-repair prices, effective-dated (one version per line and day).
``quotes``: a paid repair's quote presented on site; at most one open (presented) quote per job.
``job_payments``: what the customer paid for a job (amount, method, receipt number unique).

Revision ID: dispatch_0010
Revises: dispatch_0007
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "dispatch_0010"
down_revision = "dispatch_0009"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("coverage_reason", sa.Text), schema=S)
    op.add_column("jobs", sa.Column("coverage_changed_at", TS), schema=S)
    op.create_table(
        "job_diagnoses",
        sa.Column("job_id", sa.String(40), sa.ForeignKey(f"{S}.jobs.id"), primary_key=True),
        sa.Column("engineer_id", sa.String(40)),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("components", pg.JSONB, nullable=False),
        sa.Column("root_cause", sa.String(16)),
        sa.Column("exclusions", pg.JSONB, nullable=False),
        sa.Column("evidence", pg.JSONB, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_job_diagnoses_revision_positive")),
        sa.CheckConstraint("root_cause IS NULL OR root_cause IN ('supplier_part','workmanship','customer')",
                           name=op.f("ck_job_diagnoses_root_cause")),
        schema=S,
    )
    money = sa.Numeric(14, 2)
    op.create_table(
        "rate_cards",
        sa.Column("product_line", sa.String(40), primary_key=True),
        sa.Column("effective_from", sa.Date, primary_key=True),
        sa.Column("labour_per_hour", money, nullable=False),
        sa.Column("visit_fee", money, nullable=False),
        sa.Column("declined_visit_fee", money, nullable=False),
        sa.Column("shipping_fee", money, nullable=False),
        sa.Column("customer_shipping_share", sa.Numeric(5, 4), nullable=False),
        sa.Column("quote_valid_hours", sa.Integer, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("labour_per_hour >= 0 AND visit_fee >= 0 AND declined_visit_fee >= 0 AND shipping_fee >= 0",
                           name=op.f("ck_rate_cards_amounts")),
        sa.CheckConstraint("customer_shipping_share BETWEEN 0 AND 1", name=op.f("ck_rate_cards_share")),
        schema=S,
    )
    op.create_table(
        "quotes",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("job_id", sa.String(40), sa.ForeignKey(f"{S}.jobs.id"), nullable=False, index=True),
        sa.Column("engineer_id", sa.String(40)),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("lines", pg.JSONB, nullable=False),
        sa.Column("total", money, nullable=False),
        sa.Column("declined_fee", money, nullable=False),
        sa.Column("rate_card_from", sa.Date, nullable=False),
        sa.Column("valid_until", TS, nullable=False),
        sa.Column("presented_at", TS, nullable=False),
        sa.Column("decided_at", TS),
        sa.Column("signature_ref", sa.String(300)),
        sa.Column("signed_by", sa.String(100)),
        sa.Column("decline_reason", sa.String(300)),
        sa.Column("idempotency_key", sa.String(200), unique=True),
        sa.CheckConstraint("status IN ('presented','accepted','declined','superseded')", name=op.f("ck_quotes_status")),
        sa.CheckConstraint("status <> 'accepted' OR signature_ref IS NOT NULL", name=op.f("ck_quotes_signed")),
        schema=S,
    )
    op.create_index("uq_quotes_one_open_per_job", "quotes", ["job_id"], unique=True, schema=S,
                    postgresql_where=sa.text("status = 'presented'"))
    op.create_table(
        "job_payments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("job_id", sa.String(40), sa.ForeignKey(f"{S}.jobs.id"), nullable=False, index=True),
        sa.Column("quote_id", sa.String(40), sa.ForeignKey(f"{S}.quotes.id"), nullable=False),
        sa.Column("amount", money, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("receipt_no", sa.String(64), nullable=False, unique=True),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_job_payments_amount_positive")),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("job_payments", schema=S)
    op.drop_table("quotes", schema=S)
    op.drop_table("rate_cards", schema=S)
    op.drop_table("job_diagnoses", schema=S)
    op.drop_column("jobs", "coverage_changed_at", schema=S)
    op.drop_column("jobs", "coverage_reason", schema=S)
