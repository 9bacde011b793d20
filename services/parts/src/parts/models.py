"""Every table of the ``parts`` schema as SQLAlchemy **Core** tables (on the schema's declarative base).

The code's SQL refers to these tables (``sa.select(models.requests)``, ``models.requests.c.status`` …) and the
scope rule of ``access.py`` is written against their columns. Hand-written SQL stays where it is hot or
row-locking (``stock/ledger.py``, ``requests/hotpath.py`` → the PL/pgSQL function of migration parts_0003,
the watchers' ``UPDATE … FOR UPDATE SKIP LOCKED``); those statements name the same tables.
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from aftersales_shared.db import make_base

Base = make_base("parts")
md = Base.metadata
TS = sa.DateTime(timezone=True)
MONEY = sa.Numeric(14, 2)

catalogue = sa.Table(
    "catalogue_parts", md,
    sa.Column("part_no", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("product_lines", ARRAY(sa.String(60)), nullable=False),
    sa.Column("cost_price", MONEY, nullable=False),
    sa.Column("list_price", MONEY, nullable=False),
    sa.Column("serialised", sa.Boolean, nullable=False),
    sa.Column("must_return", sa.Boolean, nullable=False),
    sa.Column("parts_warranty_months", sa.Integer, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),  # counts the part's changes (issue 15)
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),  # false: withdrawn
    sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
)

warehouses = sa.Table(
    "warehouses", md,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("code", sa.String(40), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("dealer_id", sa.String(64)),
    sa.Column("engineer_id", sa.String(64)),
    sa.Column("created_at", TS, nullable=False),
)

balances = sa.Table(
    "stock_balances", md,
    sa.Column("warehouse_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("part_no", sa.String(40), primary_key=True),
    sa.Column("on_hand", sa.Integer, nullable=False),
    sa.Column("reserved", sa.Integer, nullable=False),
    sa.Column("reorder_point", sa.Integer, nullable=False),
    sa.Column("low_alerted", sa.Boolean, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

movements = sa.Table(
    "stock_movements", md,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("warehouse_id", UUID(as_uuid=False), nullable=False),
    sa.Column("part_no", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("on_hand_delta", sa.Integer, nullable=False),
    sa.Column("reserved_delta", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(200)),
    sa.Column("ref_id", sa.String(64)),
    sa.Column("actor", sa.String(64)),
    sa.Column("at", TS, nullable=False),
)

requests = sa.Table(
    "part_requests", md,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
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
    sa.Column("documents", JSONB, nullable=False),
    sa.Column("at_risk_emitted_at", TS),
    sa.Column("breached_emitted_at", TS),
    sa.Column("shipped_at", TS),
    sa.Column("delivered_at", TS),
)

request_lines = sa.Table(
    "part_request_lines", md,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("request_id", UUID(as_uuid=False), nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("part_no", sa.String(40), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
)

reservations = sa.Table(
    "reservations", md,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("request_id", UUID(as_uuid=False), nullable=False),
    sa.Column("line_id", UUID(as_uuid=False), nullable=False),
    sa.Column("warehouse_id", UUID(as_uuid=False), nullable=False),
    sa.Column("part_no", sa.String(40), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("job_id", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

shipments = sa.Table(
    "shipments", md,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("request_id", UUID(as_uuid=False), nullable=False, unique=True),
    sa.Column("carrier", sa.String(60), nullable=False),
    sa.Column("tracking_no", sa.String(60), nullable=False),
    sa.Column("urgent_surcharge", MONEY, nullable=False),
    sa.Column("shipped_at", TS, nullable=False),
    sa.Column("delivered_at", TS),
    sa.Column("budget_quarter", sa.String(6)),
    sa.Column("budget_value", MONEY),
    sa.Column("budget_excess", MONEY),
)

parts_budgets = sa.Table(
    "dealer_parts_budgets", md,
    sa.Column("dealer_id", sa.String(64), primary_key=True),
    sa.Column("quarter", sa.String(6), primary_key=True),
    sa.Column("remittance", MONEY, nullable=False),
    sa.Column("percent", sa.Numeric(5, 2), nullable=False),
    sa.Column("budget", MONEY, nullable=False),
    sa.Column("used", MONEY, nullable=False),
    sa.Column("excess_charged", MONEY, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False),
)

expected_returns = sa.Table(
    "expected_returns", md,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("request_id", UUID(as_uuid=False)),
    sa.Column("job_id", sa.String(64)),
    sa.Column("dealer_id", sa.String(64)),
    sa.Column("engineer_id", sa.String(64)),
    sa.Column("part_no", sa.String(40), nullable=False),
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
)

registered_sales = sa.Table(
    "registered_sales", md,
    sa.Column("serial", sa.String(80), primary_key=True),
    sa.Column("dealer_id", sa.String(64), nullable=False),
    sa.Column("product_line", sa.String(60), nullable=False),
    sa.Column("registered_on", sa.Date, nullable=False),
)

job_engineers = sa.Table(  # read model of dispatch's job events (jobs/service.py): holder, its dealer, ticket
    "job_engineers", md,
    sa.Column("job_id", sa.Text, primary_key=True),
    sa.Column("engineer_id", sa.Text),
    sa.Column("dealer_id", sa.Text),  # the dealer employing that engineer (parts_0007); NULL: none / staff
    sa.Column("ticket_id", sa.Text),  # the job's ticket (parts_0007, indexed)
    sa.Column("event_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

ticket_coverage = sa.Table(  # issue 15: a ticket's coverage as ticketing last decided it (requests/coverage.py)
    "ticket_coverage", md,
    sa.Column("ticket_id", sa.Text, primary_key=True),
    sa.Column("coverage", sa.String(10), nullable=False),  # warranty | paid (the gate's view: extended = warranty)
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("changed_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.CheckConstraint("coverage IN ('warranty', 'paid')", name="coverage"),
)

idempotency_keys = sa.Table(
    "idempotency_keys", md,
    sa.Column("principal", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),  # 8-200 chars (parts_0006)
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("response", JSONB),
    sa.Column("created_at", TS, nullable=False),
)

dealer_terms = sa.Table(  # the dealer's parts terms, one row per change (parts_0009; terms/service.py)
    "dealer_terms", md,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("dealer_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("values", JSONB, nullable=False),
    sa.Column("reason", sa.String(2000)),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

part_replacements = sa.Table(  # one row per part a completed job used (parts_0010; reports/service.py, R-O1)
    "part_replacements", md,
    sa.Column("job_id", sa.Text, primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("dealer_id", sa.Text),
    sa.Column("engineer_id", sa.Text),
    sa.Column("ticket_id", sa.Text),
    sa.Column("part_no", sa.Text, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("old_serial", sa.Text),
    sa.Column("new_serial", sa.Text),
    sa.Column("old_part_kept", sa.Boolean, nullable=False),
    sa.Column("serial", sa.Text, nullable=False),
    sa.Column("product_line", sa.Text, nullable=False),
    sa.Column("coverage", sa.Text, nullable=False),
    sa.Column("root_cause", sa.Text),
    sa.Column("replaced_at", TS, nullable=False),
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

product_lines = sa.Table(  # R-P8: end of sale and the availability years of a product line (parts_0010)
    "product_lines", md,
    sa.Column("product_line", sa.String(60), primary_key=True),
    sa.Column("end_of_sale", sa.Date),
    sa.Column("availability_years", sa.Integer),  # NULL: the configured default (PARTS_AVAILABILITY_YEARS)
    sa.Column("updated_by", sa.String(64), nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)
