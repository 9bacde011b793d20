"""Parts in planning (issue 14, item 1): what a job is expected to need, what vans and service centres hold, and
the restock stops of a plan.

``fault_class_parts``: the parts a job of a product line x fault class is expected to need (part_no, qty);
``jobs.expected_parts`` ``{part_no: qty}`` names them for one job (NULL = from its fault class, ``{}`` = none).
``van_stock``: what an engineer's van holds; ``centre_stock``: what a service centre holds (where a route may stop to
restock). ``plan_restocks``: a plan's stops at a service centre (engineer, position in the route, planned times).

Revision ID: dispatch_0011
Revises: dispatch_0009 (the lead chains it at merge)
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "dispatch_0011"
down_revision = "dispatch_0010"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("expected_parts", JSONB), schema=S)
    op.create_table(
        "fault_class_parts",
        sa.Column("product_line", sa.String(40), primary_key=True),
        sa.Column("fault_class", sa.String(40), primary_key=True),
        sa.Column("part_no", sa.String(40), primary_key=True),
        sa.Column("qty", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("qty >= 1", name=op.f("ck_fault_class_parts_qty_positive")),
        schema=S,
    )
    op.create_table(
        "van_stock",
        sa.Column("engineer_id", sa.String(40),
                  sa.ForeignKey(f"{S}.engineers.id", ondelete="CASCADE", name=op.f("fk_van_stock_engineer_id_engineers")),
                  primary_key=True),
        sa.Column("part_no", sa.String(40), primary_key=True),
        sa.Column("qty", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("qty >= 0", name=op.f("ck_van_stock_qty_nonneg")),
        schema=S,
    )
    op.create_table(
        "centre_stock",
        sa.Column("centre_id", sa.String(40),
                  sa.ForeignKey(f"{S}.service_centres.id", ondelete="CASCADE",
                                name=op.f("fk_centre_stock_centre_id_service_centres")),
                  primary_key=True),
        sa.Column("part_no", sa.String(40), primary_key=True),
        sa.Column("qty", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("qty >= 0", name=op.f("ck_centre_stock_qty_nonneg")),
        schema=S,
    )
    op.create_table(
        "plan_restocks",
        sa.Column("plan_id", sa.String(40),
                  sa.ForeignKey(f"{S}.plans.id", ondelete="CASCADE", name=op.f("fk_plan_restocks_plan_id_plans")),
                  primary_key=True),
        sa.Column("engineer_id", sa.String(40), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),  # in the route, counted with the job stops
        sa.Column("centre_id", sa.String(40), nullable=False),
        sa.Column("planned_arrival", TS, nullable=False),
        sa.Column("planned_start", TS, nullable=False),
        sa.Column("planned_end", TS, nullable=False),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("plan_restocks", schema=S)
    op.drop_table("centre_stock", schema=S)
    op.drop_table("van_stock", schema=S)
    op.drop_table("fault_class_parts", schema=S)
    op.drop_column("jobs", "expected_parts", schema=S)
