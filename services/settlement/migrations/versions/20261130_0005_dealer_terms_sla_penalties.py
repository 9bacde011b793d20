"""Dealer service agreement terms as effective-dated data (issue 16 item 1) and SLA liquidated damages
(R-S9, item 2).

``dealer_terms``: one row per recorded change (a version per dealer); each sets some terms from its
``effective_from`` date (the resolution is ``aftersales_shared.terms.in_force``). ``sla_penalties``: one row per
breached milestone of a dealer's job (unique per job and milestone: a redelivered or re-published breach is
charged once), charged or waived by finance.

Revision ID: settlement_0005
Revises: settlement_0002
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "settlement_0005"
down_revision = "settlement_0003"
branch_labels = None
depends_on = None

S = "settlement"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dealer_terms",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("dealer_id", sa.String(64), sa.ForeignKey(f"{S}.dealers.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("values", pg.JSONB, nullable=False),
        sa.Column("reason", sa.String(2000)),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("dealer_id", "version", name="uq_dealer_terms_version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        schema=S,
    )
    op.create_index("ix_dealer_terms_from", "dealer_terms", ["dealer_id", "effective_from"], schema=S)
    op.create_table(
        "sla_penalties",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("dealer_id", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(128), nullable=False),
        sa.Column("milestone", sa.String(16), nullable=False),
        sa.Column("breach_event_id", sa.String(64), nullable=False),
        sa.Column("breached_at", TS, nullable=False),
        sa.Column("deadline", TS, nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("service_value", sa.Numeric(14, 2)),
        sa.Column("percent", sa.Numeric(7, 4)),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("terms_version", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("waiver_kind", sa.String(32)),
        sa.Column("waiver_evidence", sa.String(2000)),
        sa.Column("waiver_note", sa.String(2000)),
        sa.Column("waived_by", sa.String(128)),
        sa.Column("waived_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("job_id", "milestone", name="uq_sla_penalties_job_milestone"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("status IN ('charged', 'waived')", name="status"),
        sa.CheckConstraint("(status = 'waived') = (waived_at IS NOT NULL)", name="waived_when"),
        schema=S,
    )
    op.create_index("ix_sla_penalties_dealer", "sla_penalties", ["dealer_id", "breached_at"], schema=S)


def downgrade() -> None:
    op.drop_table("sla_penalties", schema=S)
    op.drop_table("dealer_terms", schema=S)
