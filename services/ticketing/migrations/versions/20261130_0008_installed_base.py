"""The installed base you can maintain, and the part/repair warranty in the real flow (issue 15, items 4-6).

- ``unit_repairs.components``: every component the engineer diagnosed as failed (R-W8 matches a later fault by
  component or by the part numbers in ``parts_replaced``).
- ``unit_changes``: the audit of a unit's maintained facts (delivery acceptance/installation dates, ownership
  transfers with the previous owner kept, card registrations): who, when, before and after, why.
- ``coverage_changes.source`` also ``unit_change``: a date change re-determined an open ticket's coverage.
- trigram indexes to search units by customer name, phone and address.

Revision ID: ticketing_0008
Revises: ticketing_0006
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "ticketing_0008"
down_revision = "ticketing_0007"
branch_labels = None
depends_on = None

S = "ticketing"
SEARCH = {"ix_units_name_trgm": "customer_name", "ix_units_phone_trgm": "phone", "ix_units_address_trgm": "address"}


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.unit_repairs ADD COLUMN components JSONB NOT NULL DEFAULT '[]'::jsonb")
    op.create_table(
        "unit_changes",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("serial", sa.Text, sa.ForeignKey(f"{S}.units.serial"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("before", pg.JSONB, nullable=False),
        sa.Column("after", pg.JSONB, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('dates', 'owner', 'card')", name=op.f("ck_unit_changes_kind")),
        schema=S,
    )
    op.create_index("ix_unit_changes_serial", "unit_changes", ["serial"], schema=S)
    op.execute(f"ALTER TABLE {S}.coverage_changes DROP CONSTRAINT ck_coverage_changes_source")
    op.execute(f"ALTER TABLE {S}.coverage_changes ADD CONSTRAINT ck_coverage_changes_source "
               "CHECK (source IN ('diagnosis', 'override', 'unit_change'))")
    for name, column in SEARCH.items():
        op.execute(f"CREATE INDEX {name} ON {S}.units USING gin ({column} public.gin_trgm_ops)")
    op.execute(f"CREATE INDEX ix_units_product_line ON {S}.units (product_line)")


def downgrade() -> None:
    op.execute(f"DROP INDEX {S}.ix_units_product_line")
    for name in SEARCH:
        op.execute(f"DROP INDEX {S}.{name}")
    op.execute(f"DELETE FROM {S}.coverage_changes WHERE source = 'unit_change'")
    op.execute(f"ALTER TABLE {S}.coverage_changes DROP CONSTRAINT ck_coverage_changes_source")
    op.execute(f"ALTER TABLE {S}.coverage_changes ADD CONSTRAINT ck_coverage_changes_source "
               "CHECK (source IN ('diagnosis', 'override'))")
    op.drop_table("unit_changes", schema=S)
    op.execute(f"ALTER TABLE {S}.unit_repairs DROP COLUMN components")
