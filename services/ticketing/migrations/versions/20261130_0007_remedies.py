"""三包 remedies carried out (issue 15 item 3): a unit can be retired (returned, exchanged, replaced) and a new
unit can name the unit it replaces; every remedy is one ``unit_remedies`` row.

One completed unit-ending remedy per unit: the unit's row lock and ``status = 'active'`` decide a race; the partial
unique index ``uq_unit_remedies_ends_unit`` is the database's own guarantee. A retried request with the same
Idempotency-Key finds its row by ``uq_unit_remedies_key``.

Revision ID: ticketing_0007
Revises: ticketing_0006
Create Date: 2026-11-30
"""
from alembic import op

revision = "ticketing_0007"
down_revision = "ticketing_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE ticketing.units ADD COLUMN status TEXT NOT NULL DEFAULT 'active'")
    op.execute("ALTER TABLE ticketing.units ADD CONSTRAINT ck_units_status CHECK (status IN ('active', 'retired'))")
    op.execute("ALTER TABLE ticketing.units ADD COLUMN retired_at TIMESTAMPTZ")
    op.execute("ALTER TABLE ticketing.units ADD COLUMN retired_reason TEXT")
    op.execute("ALTER TABLE ticketing.units ADD COLUMN replaces_serial TEXT REFERENCES ticketing.units (serial)")
    op.execute("""
        CREATE TABLE ticketing.unit_remedies (
            id UUID PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('return', 'exchange', 'unit_replacement', 'component_replacement')),
            rule TEXT NOT NULL CHECK (rule IN ('R-W4', 'R-W5')),
            status TEXT NOT NULL CHECK (status IN ('completed')),
            serial TEXT NOT NULL REFERENCES ticketing.units (serial),
            new_serial TEXT REFERENCES ticketing.units (serial),
            component TEXT,
            ticket_id UUID NOT NULL REFERENCES ticketing.tickets (id),
            warranty TEXT CHECK (warranty IN ('inherited', 'fresh')),
            reason TEXT NOT NULL,
            rights JSONB NOT NULL,
            actor TEXT NOT NULL,
            idempotency_key TEXT,
            fingerprint TEXT,
            completed_on DATE NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            CONSTRAINT ck_unit_remedies_new_serial CHECK (
                (kind IN ('exchange', 'unit_replacement')) = (new_serial IS NOT NULL)),
            CONSTRAINT ck_unit_remedies_component CHECK ((kind = 'component_replacement') = (component IS NOT NULL))
        )""")
    op.execute("CREATE INDEX ix_unit_remedies_serial ON ticketing.unit_remedies (serial)")
    op.execute("CREATE INDEX ix_unit_remedies_ticket_id ON ticketing.unit_remedies (ticket_id)")
    op.execute("CREATE UNIQUE INDEX uq_unit_remedies_key ON ticketing.unit_remedies (actor, idempotency_key) "
               "WHERE idempotency_key IS NOT NULL")
    op.execute("CREATE UNIQUE INDEX uq_unit_remedies_ends_unit ON ticketing.unit_remedies (serial) "
               "WHERE kind <> 'component_replacement'")


def downgrade() -> None:
    op.execute("DROP TABLE ticketing.unit_remedies")
    for col in ("replaces_serial", "retired_reason", "retired_at"):
        op.execute(f"ALTER TABLE ticketing.units DROP COLUMN {col}")
    op.execute("ALTER TABLE ticketing.units DROP CONSTRAINT ck_units_status")
    op.execute("ALTER TABLE ticketing.units DROP COLUMN status")
