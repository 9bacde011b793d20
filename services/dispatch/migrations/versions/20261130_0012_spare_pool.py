"""Spare units as assets (issue 16, R-S6): a pool per service centre, every loan to a job, the entitlement flag.

``spare_units``: serial, product line, condition, status (available | lent | in_repair | sold | written_off), the
centre (and its dealer: the scope), the current loan (job, lent at, due back, reminder sent). ``spare_loans``: each
loan of a spare to a job; ``ux_spare_loans_open`` (one open loan per spare) makes "never lent twice at once" a fact
of the database, ``ux_spare_units_job_lent`` one spare out per job. ``sla_policies.spare_entitled``: the contract
entitles a spare unit when the resolve deadline is at risk (default false).

Revision ID: dispatch_0012
Revises: dispatch_0011 (the lead chains it at merge)
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "dispatch_0012"
down_revision = "dispatch_0011"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("sla_policies", sa.Column("spare_entitled", sa.Boolean, nullable=False,
                                            server_default=sa.false()), schema=S)
    op.create_table(
        "spare_units",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("product_line", sa.String(40), nullable=False),
        sa.Column("condition", sa.String(12), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("centre_id", sa.String(40),
                  sa.ForeignKey(f"{S}.service_centres.id", name=op.f("fk_spare_units_centre_id_service_centres")),
                  nullable=False),
        sa.Column("dealer_id", sa.String(40)),
        sa.Column("job_id", sa.String(40), sa.ForeignKey(f"{S}.jobs.id", name=op.f("fk_spare_units_job_id_jobs"))),
        sa.Column("lent_at", TS), sa.Column("due_back_at", TS), sa.Column("reminded_at", TS),
        sa.Column("loan_hours", sa.Integer, nullable=False),
        sa.Column("converted_reason", sa.String(300)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("serial", name=op.f("uq_spare_units_serial")),
        sa.CheckConstraint("status IN ('available', 'lent', 'in_repair', 'sold', 'written_off')",
                           name=op.f("ck_spare_units_status_known")),
        sa.CheckConstraint("condition IN ('new', 'good', 'fair', 'faulty')",
                           name=op.f("ck_spare_units_condition_known")),
        sa.CheckConstraint("loan_hours > 0", name=op.f("ck_spare_units_loan_hours_positive")),
        sa.CheckConstraint("(status = 'lent') = (job_id IS NOT NULL AND lent_at IS NOT NULL "
                           "AND due_back_at IS NOT NULL)", name=op.f("ck_spare_units_loan_consistent")),
        schema=S,
    )
    op.create_index("ix_spare_units_dealer_id", "spare_units", ["dealer_id"], schema=S)
    op.create_index("ux_spare_units_job_lent", "spare_units", ["job_id"], unique=True, schema=S,
                    postgresql_where=sa.text("status = 'lent'"))
    op.create_index("ix_spare_units_lent_due", "spare_units", ["due_back_at"], schema=S,
                    postgresql_where=sa.text("status = 'lent'"))
    op.create_index("ix_spare_units_available", "spare_units", ["product_line"], schema=S,
                    postgresql_where=sa.text("status = 'available'"))
    op.create_table(
        "spare_loans",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("spare_id", sa.String(40),
                  sa.ForeignKey(f"{S}.spare_units.id", name=op.f("fk_spare_loans_spare_id_spare_units")),
                  nullable=False),
        sa.Column("job_id", sa.String(40), sa.ForeignKey(f"{S}.jobs.id", name=op.f("fk_spare_loans_job_id_jobs")),
                  nullable=False),
        sa.Column("lent_at", TS, nullable=False),
        sa.Column("due_back_at", TS, nullable=False),
        sa.Column("reminded_at", TS), sa.Column("ended_at", TS),
        sa.Column("outcome", sa.String(16)), sa.Column("condition_back", sa.String(12)),
        sa.Column("reason", sa.String(300)),
        schema=S,
    )
    op.create_index("ix_spare_loans_job_id", "spare_loans", ["job_id"], schema=S)
    op.create_index("ux_spare_loans_open", "spare_loans", ["spare_id"], unique=True, schema=S,
                    postgresql_where=sa.text("ended_at IS NULL"))


def downgrade() -> None:
    op.drop_table("spare_loans", schema=S)
    op.drop_table("spare_units", schema=S)
    op.drop_column("sla_policies", "spare_entitled", schema=S)
