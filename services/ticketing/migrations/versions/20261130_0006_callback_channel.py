"""How a callback's outcome came in: an agent's phone call, or the customer's own reply (SMS, status page link,
WeChat) through the notifications service (R-T5).

Revision ID: ticketing_0006
Revises: ticketing_0004
Create Date: 2026-11-30
"""
from alembic import op

revision = "ticketing_0006"
down_revision = "ticketing_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE ticketing.callbacks ADD COLUMN channel TEXT")
    op.execute("ALTER TABLE ticketing.callbacks ADD CONSTRAINT ck_callbacks_channel "
               "CHECK (channel IN ('phone', 'sms', 'link', 'wechat'))")


def downgrade() -> None:
    op.execute("ALTER TABLE ticketing.callbacks DROP CONSTRAINT ck_callbacks_channel")
    op.execute("ALTER TABLE ticketing.callbacks DROP COLUMN channel")
