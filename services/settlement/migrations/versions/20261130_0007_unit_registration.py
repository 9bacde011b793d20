"""R-W10 registration rules (issue 15 item 6): ``unit_sales`` holds each unit's sale date and warranty card
registration as ticketing reports them, so a repair on a unit whose card was not registered within the dealer's
``card_registration_days`` term is booked as ``repair_unregistered`` (no fee) instead of ``repair``.

Revision ID: settlement_0007
Revises: settlement_0005
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "settlement_0007"
down_revision = "settlement_0006"
branch_labels = None
depends_on = None

S = "settlement"


def upgrade() -> None:
    op.create_table(
        "unit_sales",
        sa.Column("serial", sa.String(128), primary_key=True),
        sa.Column("dealer_id", sa.String(64)),
        sa.Column("sold_on", sa.Date),
        sa.Column("registered_on", sa.Date),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("unit_sales", schema=S)
