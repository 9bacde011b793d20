"""The ticketing schema: product lines, versioned policies, installed base, tickets, complaints, callbacks.

SQLAlchemy **Core** tables (``sa.Table``) on the shared declarative base's metadata; the services' statements are
built on them. Hand-written SQL remains where it is heavy or hot, and names its tables itself:
``tickets/hotpath.py`` (group-committed intake), ``units/queries.py`` (one-query warranty facts, shared with the
hot path) and ``callbacks/queries.py`` (the monthly dealer report). The migrations, not ``create_all``, build the
schema; ``migrations/env.py`` reads this metadata.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from aftersales_shared.db import make_base

Base = make_base("ticketing")
md = Base.metadata
TZ = sa.DateTime(timezone=True)
NOW = sa.func.now()

product_lines = sa.Table(
    "product_lines", md,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("required_skill", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False, server_default=NOW),
    # issue 15: the line's components with their catalogue part numbers ([{"component", "part_nos"}]), replaced
    # as a whole; the version counts replacements (0: no list yet) and orders the event consumers keep
    sa.Column("components", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("components_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("components_changed_at", TZ),
    sa.Column("components_changed_by", sa.Text),
)

catalogue_parts = sa.Table(
    # issue 15: the part numbers the parts catalogue announced (parts.catalog.part_changed), newest version kept
    "catalogue_parts", md,
    sa.Column("part_no", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.Column("received_at", TZ, nullable=False),
)

warranty_policies = sa.Table(
    "warranty_policies", md,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("product_line", sa.Text, sa.ForeignKey("ticketing.product_lines.code"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("terms", pg.JSONB, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False, server_default=NOW),
    sa.UniqueConstraint("product_line", "version"),
)

units = sa.Table(
    "units", md,
    sa.Column("serial", sa.Text, primary_key=True),
    sa.Column("product_line", sa.Text, sa.ForeignKey("ticketing.product_lines.code"), nullable=False),
    sa.Column("policy_id", pg.UUID(as_uuid=True), sa.ForeignKey("ticketing.warranty_policies.id"), nullable=False),
    sa.Column("customer_name", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("address", sa.Text),
    sa.Column("region_code", sa.String(6)),
    sa.Column("dealer_id", sa.Text),
    sa.Column("contract_code", sa.Text),
    sa.Column("sold_on", sa.Date),
    sa.Column("delivered_on", sa.Date),
    sa.Column("installed_on", sa.Date),
    sa.Column("dealer_received_on", sa.Date),
    sa.Column("card_registered_on", sa.Date),
    sa.Column("sale_amount", sa.Numeric(14, 2)),
    sa.Column("created_at", TZ, nullable=False, server_default=NOW),
    # issue 15 (三包 remedies, remedies/): a returned, exchanged or replaced unit is retired with the reason; the
    # unit shipped in its place names the unit (and so the repair history) it replaces
    sa.Column("status", sa.Text, nullable=False, server_default="active"),
    sa.Column("retired_at", TZ),
    sa.Column("retired_reason", sa.Text),
    sa.Column("replaces_serial", sa.Text, sa.ForeignKey("ticketing.units.serial")),
    sa.Index("ix_units_dealer_id", "dealer_id"),
)

unit_extensions = sa.Table(
    "unit_extensions", md,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("serial", sa.Text, sa.ForeignKey("ticketing.units.serial"), nullable=False, index=True),
    sa.Column("paid_on", sa.Date, nullable=False),
    sa.Column("months", sa.Integer, nullable=False),
    sa.Column("price", sa.Numeric(14, 2), nullable=False),
    sa.Column("created_at", TZ, nullable=False, server_default=NOW),
)

unit_delays = sa.Table(
    "unit_delays", md,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("serial", sa.Text, sa.ForeignKey("ticketing.units.serial"), nullable=False, index=True),
    sa.Column("started_on", sa.Date, nullable=False),
    sa.Column("days", sa.Integer, nullable=False),
    sa.Column("caused_by", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
)

unit_repairs = sa.Table(
    "unit_repairs", md,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("serial", sa.Text, nullable=False, index=True),
    sa.Column("job_id", sa.Text, nullable=False, unique=True),
    sa.Column("ticket_id", pg.UUID(as_uuid=True)),
    sa.Column("completed_on", sa.Date, nullable=False),
    sa.Column("component", sa.Text, nullable=False),
    sa.Column("parts_replaced", pg.JSONB, nullable=False),
    sa.Column("in_warranty", sa.Boolean, nullable=False),
    sa.Column("components", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),  # issue 15, R-W8
)

unit_changes = sa.Table(  # issue 15: maintained unit facts (dates, ownership, card), audited with before/after
    "unit_changes", md,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("serial", sa.Text, sa.ForeignKey("ticketing.units.serial"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("before", pg.JSONB, nullable=False),
    sa.Column("after", pg.JSONB, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", TZ, nullable=False),
    sa.CheckConstraint("kind IN ('dates', 'owner', 'card')", name="kind"),
    sa.Index("ix_unit_changes_serial", "serial"),
)

tickets = sa.Table(
    "tickets", md,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("ticket_no", sa.Text, nullable=False, unique=True),
    sa.Column("serial", sa.Text, nullable=False),
    sa.Column("product_line", sa.Text, nullable=False),
    sa.Column("dealer_id", sa.Text),
    sa.Column("contract_code", sa.Text),
    sa.Column("customer_name", sa.Text, nullable=False),
    sa.Column("phone", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("region_code", sa.String(6), nullable=False),
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("fault_description", sa.Text, nullable=False),
    sa.Column("component", sa.Text, nullable=False),
    sa.Column("photos", pg.JSONB, nullable=False),
    sa.Column("requested_action", sa.Text),
    sa.Column("purchase_proof", sa.Text),
    sa.Column("coverage", sa.Text, nullable=False),
    sa.Column("exclusions", pg.JSONB, nullable=False),
    sa.Column("warranty_reasons", pg.JSONB, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("force_reason", sa.Text),
    sa.Column("job_id", sa.Text),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("opened_at", TZ, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.Column("closed_at", TZ),
    sa.Column("coverage_reason", sa.Text),  # issue 15: why the coverage changed after intake (latest change)
    sa.Column("root_cause", sa.Text),  # issue 15: the diagnosed root-cause class (R-T3)
    sa.Column("reported_at", TZ),  # issue 15: when the customer reported it (the SLA start); NULL: older tickets
)

coverage_changes = sa.Table(  # issue 15: every coverage change after intake (diagnosis or override), audited
    "coverage_changes", md,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("ticket_id", pg.UUID(as_uuid=True), sa.ForeignKey("ticketing.tickets.id"), nullable=False),
    sa.Column("job_id", sa.Text),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("from_coverage", sa.Text, nullable=False),
    sa.Column("to_coverage", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("exclusions", pg.JSONB, nullable=False),
    sa.Column("root_cause", sa.Text),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", TZ, nullable=False),
    sa.CheckConstraint("source IN ('diagnosis', 'override', 'unit_change')", name="source"),
    sa.Index("ix_coverage_changes_ticket_id", "ticket_id"),
)

reported_time_audit = sa.Table(  # issue 15 (R-S7): a ticket taken with the customer's own report time
    "reported_time_audit", md,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("ticket_id", pg.UUID(as_uuid=True), sa.ForeignKey("ticketing.tickets.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("change", sa.Text, nullable=False),  # 'intake' (reported_at cannot change afterwards)
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("reported_at", TZ, nullable=False),
    sa.Column("received_at", TZ, nullable=False),
    sa.Column("sla_clock_from", TZ, nullable=False),
    sa.Column("at", TZ, nullable=False),
    sa.Index("ix_reported_time_audit_ticket_id", "ticket_id"),
)

ticket_transitions = sa.Table(
    "ticket_transitions", md,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("ticket_id", pg.UUID(as_uuid=True), sa.ForeignKey("ticketing.tickets.id"), nullable=False),
    sa.Column("from_status", sa.Text),
    sa.Column("to_status", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("at", TZ, nullable=False),
    sa.Index("ix_ticket_transitions_ticket_id", "ticket_id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys", md,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("response", pg.JSONB),
    sa.Column("created_at", TZ, nullable=False, server_default=NOW),
)

complaints = sa.Table(
    "complaints", md,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("ticket_id", pg.UUID(as_uuid=True), sa.ForeignKey("ticketing.tickets.id")),
    sa.Column("dealer_id", sa.Text, index=True),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("filed_by", sa.Text, nullable=False),
    sa.Column("filed_at", TZ, nullable=False),
    sa.Column("respond_by", TZ, nullable=False),
    sa.Column("upheld", sa.Boolean),
    sa.Column("against", sa.Text),
    sa.Column("resolution", sa.Text),
    sa.Column("root_cause", sa.Text),
    sa.Column("resolved_at", TZ),
)

callbacks = sa.Table(
    "callbacks", md,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("ticket_id", pg.UUID(as_uuid=True), sa.ForeignKey("ticketing.tickets.id"), nullable=False, index=True),
    sa.Column("job_id", sa.Text, unique=True),  # one callback per repair: a reopened ticket's next job gets its own
    sa.Column("dealer_id", sa.Text),
    sa.Column("repair_completed_at", TZ, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reached", sa.Boolean),
    sa.Column("fixed", sa.Boolean),
    sa.Column("satisfaction", sa.SmallInteger),
    sa.Column("comment", sa.Text),
    sa.Column("recorded_by", sa.Text),
    sa.Column("recorded_at", TZ),
    sa.Column("channel", sa.Text),  # how the outcome came: phone (an agent), sms, link (status page), wechat
    sa.Index("ix_callbacks_dealer_month", "dealer_id", "repair_completed_at"),
)

unit_remedies = sa.Table(  # issue 15: 三包 remedies carried out (remedies/, domain/remedy_lifecycle.py)
    "unit_remedies", md,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("serial", sa.Text, sa.ForeignKey("ticketing.units.serial"), nullable=False, index=True),
    sa.Column("new_serial", sa.Text, sa.ForeignKey("ticketing.units.serial")),
    sa.Column("component", sa.Text),
    sa.Column("ticket_id", pg.UUID(as_uuid=True), sa.ForeignKey("ticketing.tickets.id"), nullable=False, index=True),
    sa.Column("warranty", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("rights", pg.JSONB, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.Text),
    sa.Column("fingerprint", sa.Text),
    sa.Column("completed_on", sa.Date, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
)

pm_plans = sa.Table(  # issue 16 item 4 (R-S10): a PM plan per unit or contract and kind; terms are data
    "pm_plans", md,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("scope", sa.Text, nullable=False),  # unit | contract
    sa.Column("target", sa.Text, nullable=False),  # serial | contract code
    sa.Column("kind", sa.Text, nullable=False),  # visit | inspection | call
    sa.Column("every_months", sa.Integer, nullable=False),
    sa.Column("window_days", sa.Integer, nullable=False),
    sa.Column("lead_days", sa.Integer, nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.UniqueConstraint("scope", "target", "kind"),
)

pm_occurrences = sa.Table(  # one per (plan, unit, period): generation is idempotent on that key
    "pm_occurrences", md,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("plan_id", pg.UUID(as_uuid=True), sa.ForeignKey("ticketing.pm_plans.id"), nullable=False),
    sa.Column("serial", sa.Text, sa.ForeignKey("ticketing.units.serial"), nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("window_start", TZ, nullable=False),
    sa.Column("window_end", TZ, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # domain/pm_lifecycle.py
    sa.Column("ticket_id", pg.UUID(as_uuid=True), sa.ForeignKey("ticketing.tickets.id")),
    sa.Column("checklist", pg.JSONB),
    sa.Column("recorded_by", sa.Text),
    sa.Column("recorded_at", TZ),
    sa.Column("missed_at", TZ),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("plan_version", sa.Integer),  # the plan version that generated it (null: before versions existed)
    sa.UniqueConstraint("plan_id", "serial", "period_start", name="period"),
    sa.Index("ix_pm_occurrences_status_window", "status", "window_end"),
)

pm_plan_versions = sa.Table(  # R-S10 as contract terms: every change of a plan, effective-dated, audited, append-only
    "pm_plan_versions", md,
    sa.Column("plan_id", pg.UUID(as_uuid=True), sa.ForeignKey("ticketing.pm_plans.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("every_months", sa.Integer, nullable=False),
    sa.Column("window_days", sa.Integer, nullable=False),
    sa.Column("lead_days", sa.Integer, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
)

contract_terms = sa.Table(  # issue 16 item 1: a customer service contract's effective-dated terms; the audit
    "contract_terms", md,
    sa.Column("contract_code", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("values", pg.JSONB, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
)

archived_records = sa.Table(  # R-T4: what the retention job moved out of the live tables (append-only)
    "archived_records", md,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("record_id", sa.Text, primary_key=True),
    sa.Column("dealer_id", sa.Text),
    sa.Column("closed_on", sa.Date, nullable=False),
    sa.Column("run_id", sa.BigInteger, nullable=False),
    sa.Column("archived_at", TZ, nullable=False),
    sa.Column("document", pg.JSONB, nullable=False),
    sa.Column("contract_code", sa.Text),  # the ticket's customer contract: its terms say when the row is purged
)

retention_runs = sa.Table(  # R-T4: one run of the retention job per business day, with what it did
    "retention_runs", md,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("run_on", sa.Date, nullable=False, unique=True),
    sa.Column("started_at", TZ, nullable=False),
    sa.Column("retention_years", sa.Integer, nullable=False),
    sa.Column("cutoff", sa.Date, nullable=False),
    sa.Column("tickets_archived", sa.Integer, nullable=False),
    sa.Column("details", pg.JSONB, nullable=False),
    sa.Column("records_purged", sa.Integer, nullable=False, server_default="0"),
)
