"""R-P7 the dealer's quarterly parts budget, and what each dealer shipment drew from it.

``dealer_parts_budgets`` holds one row per dealer and quarter (Asia/Shanghai calendar): the remittance
(回款) finance records, the percent, the budget (checked to equal remittance × percent / 100 rounded to the
fen), the list-price value ``used`` by shipments and the ``excess_charged`` beyond the budget. A shipment
consumes with one UPDATE ... RETURNING on the row, so concurrent shipments serialise on it.

Shipments remember the quarter, the list-price value drawn and the excess charged (NULL excess: the
dealer had no budget for that quarter, so R-P7 was not enforced). Allocation (parts_0003) is untouched.

Revision ID: parts_0004
Revises: parts_0003
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

revision = "parts_0004"
down_revision = "parts_0003"
branch_labels = None
depends_on = None

S = "parts"
TS = sa.DateTime(timezone=True)
MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    op.create_table(
        "dealer_parts_budgets",
        sa.Column("dealer_id", sa.String(64), primary_key=True),
        sa.Column("quarter", sa.String(6), primary_key=True),
        sa.Column("remittance", MONEY, nullable=False),
        sa.Column("percent", sa.Numeric(5, 2), nullable=False),
        sa.Column("budget", MONEY, nullable=False),
        sa.Column("used", MONEY, nullable=False, server_default="0"),
        sa.Column("excess_charged", MONEY, nullable=False, server_default="0"),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.CheckConstraint(r"quarter ~ '^[0-9]{4}Q[1-4]$'", name="quarter_format"),
        sa.CheckConstraint("remittance >= 0", name="remittance_non_negative"),
        sa.CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
        sa.CheckConstraint("budget = round(remittance * percent / 100, 2)", name="budget_is_percent_of_remittance"),
        sa.CheckConstraint("used >= 0", name="used_non_negative"),
        sa.CheckConstraint("excess_charged >= 0 AND excess_charged <= used", name="excess_within_used"),
        schema=S,
    )
    op.add_column("shipments", sa.Column("budget_quarter", sa.String(6)), schema=S)
    op.add_column("shipments", sa.Column("budget_value", MONEY), schema=S)
    op.add_column("shipments", sa.Column("budget_excess", MONEY), schema=S)
    op.create_check_constraint(
        "budget_draw", "shipments",
        "(budget_quarter IS NULL) = (budget_value IS NULL) AND (budget_excess IS NULL OR "
        "(budget_quarter IS NOT NULL AND budget_excess >= 0 AND budget_excess <= budget_value))", schema=S)


def downgrade() -> None:
    op.drop_constraint("budget_draw", "shipments", schema=S)
    for c in ("budget_excess", "budget_value", "budget_quarter"):
        op.drop_column("shipments", c, schema=S)
    op.drop_table("dealer_parts_budgets", schema=S)
