"""Customer service contract terms and their consequences (issue 16 items 1-2, dispatch side).

``contract_terms``: versioned, effective-dated changes of a customer contract's terms (who, when, why).
``contract_credits``: R-S9 credits to a customer's contract (a breached milestone of a job no dealer's engineer
held, or a third-party repair cost), once per (job, milestone, ref); waived by finance once.
``third_party_costs``: third-party repair costs recorded by the owner, once per (job, invoice number).

Revision ID: dispatch_0014
Revises: dispatch_0012 (the lead chains it at merge)
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "dispatch_0014"
down_revision = "dispatch_0013"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contract_terms",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("contract_code", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("values", JSONB, nullable=False),
        sa.Column("reason", sa.String(2000)),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("contract_code", "version", name=op.f("uq_contract_terms_contract_code_version")),
        schema=S,
    )
    op.create_index("ix_contract_terms_contract_code", "contract_terms", ["contract_code"], schema=S)
    op.create_table(
        "contract_credits",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("contract_code", sa.String(40), nullable=False),
        sa.Column("job_id", sa.String(40), sa.ForeignKey(f"{S}.jobs.id", name=op.f("fk_contract_credits_job_id_jobs")),
                  nullable=False),
        sa.Column("milestone", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False, server_default=""),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("percent", sa.Numeric(7, 4)),
        sa.Column("service_value", sa.Numeric(14, 2)),
        sa.Column("terms_version", sa.Integer),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("waiver_kind", sa.String(20)),
        sa.Column("waiver_evidence", sa.String(2000)),
        sa.Column("waived_by", sa.String(128)),
        sa.Column("waived_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("job_id", "milestone", "ref", name=op.f("uq_contract_credits_job_id_milestone_ref")),
        sa.CheckConstraint("status IN ('credited', 'waived')", name=op.f("ck_contract_credits_status_known")),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_contract_credits_amount_not_negative")),
        schema=S,
    )
    op.create_index("ix_contract_credits_contract_code", "contract_credits", ["contract_code"], schema=S)
    op.create_table(
        "third_party_costs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("job_id", sa.String(40), sa.ForeignKey(f"{S}.jobs.id",
                                                         name=op.f("fk_third_party_costs_job_id_jobs")),
                  nullable=False),
        sa.Column("invoice_no", sa.String(64), nullable=False),
        sa.Column("vendor", sa.String(200), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("dealer_id", sa.String(40)),
        sa.Column("contract_code", sa.String(40)),
        sa.Column("credit_id", sa.String(40)),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.UniqueConstraint("job_id", "invoice_no", name=op.f("uq_third_party_costs_job_id_invoice_no")),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("third_party_costs", schema=S)
    op.drop_index("ix_contract_credits_contract_code", "contract_credits", schema=S)
    op.drop_table("contract_credits", schema=S)
    op.drop_index("ix_contract_terms_contract_code", "contract_terms", schema=S)
    op.drop_table("contract_terms", schema=S)
