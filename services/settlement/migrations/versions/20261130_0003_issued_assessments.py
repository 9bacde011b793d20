"""R-D7: the monthly assessment as issued to the dealer, once per dealer and month (the unique key is what
keeps two replicas, or a restart, from issuing it twice).

Revision ID: settlement_0003
Revises: settlement_0002
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "settlement_0003"
down_revision = "settlement_0002"
branch_labels = None
depends_on = None

S = "settlement"


def upgrade() -> None:
    op.create_table(
        "issued_assessments",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("dealer_id", sa.String(64), sa.ForeignKey("settlement.dealers.id"), nullable=False),
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("score", sa.Numeric(4, 1), nullable=False),
        sa.Column("grade", sa.String(2), nullable=False),
        sa.Column("document", pg.JSONB, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("dealer_id", "month", name="uq_issued_assessments_dealer_month"),
        sa.CheckConstraint("extract(day FROM month) = 1", name="ck_issued_assessments_first_of_month"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("issued_assessments", schema=S)
