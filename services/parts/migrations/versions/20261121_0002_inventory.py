"""Catalogue, warehouses, append-only stock ledger with balances, requests, reservations, shipments,
expected returns, registered sales and idempotency keys.

Revision ID: parts_0002
Revises: parts_0001
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "parts_0002"
down_revision = "parts_0001"
branch_labels = None
depends_on = None

S = "parts"
TS = sa.DateTime(timezone=True)
MONEY = sa.Numeric(14, 2)
U = UUID(as_uuid=False)


def upgrade() -> None:
    op.create_table(
        "catalogue_parts",
        sa.Column("part_no", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("product_lines", ARRAY(sa.String(60)), nullable=False),
        sa.Column("cost_price", MONEY, nullable=False),
        sa.Column("list_price", MONEY, nullable=False),
        sa.Column("serialised", sa.Boolean, nullable=False),
        sa.Column("must_return", sa.Boolean, nullable=False),
        sa.Column("parts_warranty_months", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("cost_price >= 0 AND list_price >= 0", name="prices"),
        schema=S,
    )
    op.create_table(
        "warehouses",
        sa.Column("id", U, primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("dealer_id", sa.String(64)),
        sa.Column("engineer_id", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("kind IN ('central','regional','dealer_depot','engineer_van')", name="kind"),
        sa.CheckConstraint("kind <> 'dealer_depot' OR dealer_id IS NOT NULL", name="depot_owner"),
        sa.CheckConstraint("kind <> 'engineer_van' OR engineer_id IS NOT NULL", name="van_owner"),
        schema=S,
    )
    op.create_table(
        "stock_balances",
        sa.Column("warehouse_id", U, sa.ForeignKey(f"{S}.warehouses.id"), primary_key=True),
        sa.Column("part_no", sa.String(40), sa.ForeignKey(f"{S}.catalogue_parts.part_no"), primary_key=True),
        sa.Column("on_hand", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reserved", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reorder_point", sa.Integer, nullable=False, server_default="0"),
        sa.Column("low_alerted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),
        sa.CheckConstraint("reserved >= 0", name="reserved_non_negative"),
        sa.CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        sa.CheckConstraint("reorder_point >= 0", name="reorder_point"),
        schema=S,
    )
    op.create_index("ix_stock_balances_part", "stock_balances", ["part_no"], schema=S)
    op.create_table(
        "stock_movements",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("warehouse_id", U, nullable=False),
        sa.Column("part_no", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("on_hand_delta", sa.Integer, nullable=False),
        sa.Column("reserved_delta", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("ref_id", sa.String(64)),
        sa.Column("actor", sa.String(64)),
        sa.Column("at", TS, nullable=False),
        sa.ForeignKeyConstraint(["warehouse_id", "part_no"],
                                [f"{S}.stock_balances.warehouse_id", f"{S}.stock_balances.part_no"],
                                name="fk_stock_movements_balance"),
        sa.CheckConstraint("kind <> 'adjust' OR reason IS NOT NULL", name="adjust_has_reason"),
        schema=S,
    )
    op.create_index("ix_stock_movements_wh_part", "stock_movements", ["warehouse_id", "part_no"], schema=S)
    # The ledger is append-only: history is corrected by new movements, never rewritten.
    op.execute(f"""
        CREATE FUNCTION {S}.ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'stock_movements is append-only'; END $$""")
    op.execute(f"""
        CREATE TRIGGER stock_movements_append_only BEFORE UPDATE OR DELETE ON {S}.stock_movements
        FOR EACH ROW EXECUTE FUNCTION {S}.ledger_append_only()""")
    op.create_table(
        "part_requests",
        sa.Column("id", U, primary_key=True),
        sa.Column("requester_kind", sa.String(10), nullable=False),
        sa.Column("job_id", sa.String(64)),
        sa.Column("ticket_id", sa.String(64)),
        sa.Column("dealer_id", sa.String(64)),
        sa.Column("engineer_id", sa.String(64)),
        sa.Column("coverage", sa.String(10), nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("ship_to_address", sa.String(300), nullable=False),
        sa.Column("ship_to_lat", sa.Float),
        sa.Column("ship_to_lon", sa.Float),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("shippable_at", TS),
        sa.Column("ship_by", TS),
        sa.Column("payment_recorded_at", TS),
        sa.Column("payment_reference", sa.String(100)),
        sa.Column("documents", JSONB, nullable=False, server_default="{}"),
        sa.Column("at_risk_emitted_at", TS),
        sa.Column("breached_emitted_at", TS),
        sa.Column("shipped_at", TS),
        sa.Column("delivered_at", TS),
        sa.CheckConstraint("coverage IN ('warranty','paid')", name="coverage"),
        sa.CheckConstraint("status IN ('allocated','backordered','shipped','delivered','cancelled')",
                           name="status"),
        sa.CheckConstraint("requester_kind IN ('engineer','dealer','clerk')", name="requester_kind"),
        schema=S,
    )
    # Ops' at-risk/breached query only ever looks at open, shippable requests: a small partial index.
    op.execute(f"CREATE INDEX ix_part_requests_open_ship_by ON {S}.part_requests (ship_by) "
               "WHERE status IN ('allocated','backordered') AND ship_by IS NOT NULL")
    op.create_index("ix_part_requests_dealer", "part_requests", ["dealer_id", "created_at"], schema=S)
    op.create_index("ix_part_requests_engineer", "part_requests", ["engineer_id", "created_at"], schema=S)
    op.create_index("ix_part_requests_job", "part_requests", ["job_id"], schema=S)
    op.create_table(
        "part_request_lines",
        sa.Column("id", U, primary_key=True),
        sa.Column("request_id", U, sa.ForeignKey(f"{S}.part_requests.id"), nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("part_no", sa.String(40), sa.ForeignKey(f"{S}.catalogue_parts.part_no"), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.CheckConstraint("quantity > 0", name="quantity"),
        sa.CheckConstraint("status IN ('allocated','backordered','cancelled')", name="status"),
        sa.UniqueConstraint("request_id", "line_no", name="uq_part_request_lines_no"),
        schema=S,
    )
    op.execute(f"CREATE INDEX ix_part_request_lines_backordered ON {S}.part_request_lines (part_no) "
               "WHERE status = 'backordered'")
    op.create_table(
        "reservations",
        sa.Column("id", U, primary_key=True),
        # deferred: allocation reserves before the request row is written (one round trip fewer)
        sa.Column("request_id", U, sa.ForeignKey(f"{S}.part_requests.id", deferrable=True, initially="DEFERRED"),
                  nullable=False),
        sa.Column("line_id", U, sa.ForeignKey(f"{S}.part_request_lines.id", deferrable=True,
                                              initially="DEFERRED"), nullable=False),
        sa.Column("warehouse_id", U, nullable=False),
        sa.Column("part_no", sa.String(40), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("job_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("quantity > 0", name="quantity"),
        sa.CheckConstraint("status IN ('active','issued','released')", name="status"),
        schema=S,
    )
    op.create_index("ix_reservations_request", "reservations", ["request_id"], schema=S)
    op.create_index("ix_reservations_job", "reservations", ["job_id"], schema=S)
    op.create_table(
        "shipments",
        sa.Column("id", U, primary_key=True),
        sa.Column("request_id", U, sa.ForeignKey(f"{S}.part_requests.id"), nullable=False, unique=True),
        sa.Column("carrier", sa.String(60), nullable=False),
        sa.Column("tracking_no", sa.String(60), nullable=False),
        sa.Column("urgent_surcharge", MONEY, nullable=False),
        sa.Column("shipped_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        schema=S,
    )
    op.create_table(
        "expected_returns",
        sa.Column("id", U, primary_key=True),
        sa.Column("request_id", U),
        sa.Column("job_id", sa.String(64)),
        sa.Column("dealer_id", sa.String(64)),
        sa.Column("engineer_id", sa.String(64)),
        sa.Column("part_no", sa.String(40), sa.ForeignKey(f"{S}.catalogue_parts.part_no"), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("old_serial", sa.String(80)),
        sa.Column("cost_price", MONEY, nullable=False),
        sa.Column("due_on", TS, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("appraisal", sa.String(12)),
        sa.Column("received_at", TS),
        sa.Column("chargeback_amount", MONEY),
        sa.Column("missed_emitted_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("status IN ('due','received','missed')", name="status"),
        sa.CheckConstraint("appraisal IS NULL OR appraisal IN ('reusable','scrap')", name="appraisal"),
        schema=S,
    )
    op.execute(f"CREATE INDEX ix_expected_returns_due ON {S}.expected_returns (due_on) WHERE status = 'due'")
    op.create_index("ix_expected_returns_dealer", "expected_returns", ["dealer_id"], schema=S)
    op.create_table(
        "registered_sales",
        sa.Column("serial", sa.String(80), primary_key=True),
        sa.Column("dealer_id", sa.String(64), nullable=False),
        sa.Column("product_line", sa.String(60), nullable=False),
        sa.Column("registered_on", sa.Date, nullable=False),
        schema=S,
    )
    op.create_index("ix_registered_sales_dealer", "registered_sales", ["dealer_id", "registered_on"], schema=S)
    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("response", JSONB),
        sa.Column("created_at", TS, nullable=False),
        schema=S,
    )


def downgrade() -> None:
    for t in ("idempotency_keys", "registered_sales", "expected_returns", "shipments", "reservations",
              "part_request_lines", "part_requests", "stock_movements", "stock_balances", "warehouses",
              "catalogue_parts"):
        op.drop_table(t, schema=S)
    op.execute(f"DROP FUNCTION IF EXISTS {S}.ledger_append_only()")
