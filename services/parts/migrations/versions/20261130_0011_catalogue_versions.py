"""The catalogue is published (issue 15): every catalogue part carries the number of its changes (``version``,
the order consumers keep), whether it is still sold (``active``; a withdrawn part stays for history) and when it
last changed. Existing parts start at version 1, active, changed when they were created.

Revision ID: parts_0011
Revises: parts_0010
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "parts_0011"
down_revision = "parts_0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("catalogue_parts", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.add_column("catalogue_parts", sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()))
    op.add_column("catalogue_parts", sa.Column("updated_at", TS))
    op.execute("UPDATE catalogue_parts SET updated_at = created_at")
    op.alter_column("catalogue_parts", "updated_at", nullable=False, server_default=sa.func.now())
    op.create_check_constraint("catalogue_version_positive", "catalogue_parts", "version >= 1")


def downgrade() -> None:
    op.drop_constraint("catalogue_version_positive", "catalogue_parts")
    for col in ("updated_at", "active", "version"):
        op.drop_column("catalogue_parts", col)
