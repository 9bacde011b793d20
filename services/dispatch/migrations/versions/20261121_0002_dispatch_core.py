"""Zones, calendars, SLA policies, engineers, jobs, offers, job actions, service records.

Revision ID: dispatch_0002
Revises: dispatch_0001
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "dispatch_0002"
down_revision = "dispatch_0001"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("region_code", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("zone_class", sa.String(10), nullable=False),
        sa.Column("lat", sa.Float), sa.Column("lon", sa.Float),
        sa.CheckConstraint("zone_class IN ('in_zone','urban','county','remote')", name="ck_zones_zone_class"),
        schema=S,
    )
    op.create_table(
        "core_provinces",
        sa.Column("province_code", sa.String(2), primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
        schema=S,
    )
    op.create_table(
        "service_centres",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("dealer_id", sa.String(40)),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("lat", sa.Float, nullable=False), sa.Column("lon", sa.Float, nullable=False),
        schema=S,
    )
    op.create_table(
        "sla_calendars",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("always_open", sa.Boolean, nullable=False),
        sa.Column("intervals", JSONB, nullable=False),
        sa.Column("use_statutory", sa.Boolean, nullable=False),
        sa.Column("weekdays", JSONB, nullable=False),
        sa.Column("overrides", JSONB, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        schema=S,
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("contract_code", sa.String(40), nullable=False),
        sa.Column("zone_class", sa.String(10), nullable=False),
        sa.Column("calendar_code", sa.String(40), sa.ForeignKey(f"{S}.sla_calendars.code",
                                                                name="fk_sla_policies_calendar"), nullable=False),
        sa.Column("respond_minutes", sa.Integer, nullable=False),
        sa.Column("arrive_minutes", sa.Integer, nullable=False),
        sa.Column("resolve_minutes", sa.Integer, nullable=False),
        sa.Column("resolve_from", sa.String(10), nullable=False),
        sa.Column("warn_fractions", JSONB, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("contract_code", "zone_class", name="uq_sla_policies_contract_zone"),
        sa.CheckConstraint("respond_minutes > 0 AND arrive_minutes > 0 AND resolve_minutes > 0",
                           name="ck_sla_policies_positive"),
        schema=S,
    )
    op.create_table(
        "engineers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("employer", sa.String(12), nullable=False),
        sa.Column("dealer_id", sa.String(40), index=True),
        sa.Column("skills", JSONB, nullable=False),
        sa.Column("zones", JSONB, nullable=False),
        sa.Column("home_lat", sa.Float, nullable=False), sa.Column("home_lon", sa.Float, nullable=False),
        sa.Column("shifts", JSONB, nullable=False),
        sa.Column("absences", JSONB, nullable=False),
        sa.Column("max_jobs", sa.Integer, nullable=False),
        sa.Column("active_jobs", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_lat", sa.Float), sa.Column("last_lon", sa.Float),
        sa.Column("last_seen_at", TS),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.CheckConstraint("active_jobs >= 0 AND active_jobs <= max_jobs", name="ck_engineers_capacity"),
        sa.CheckConstraint("employer IN ('manufacturer','dealer')", name="ck_engineers_employer"),
        schema=S,
    )
    # candidate search filters engineers by skill key and served region: GIN makes that an index probe
    op.create_index("ix_engineers_skills", "engineers", ["skills"], postgresql_using="gin", schema=S)
    op.create_index("ix_engineers_zones", "engineers", ["zones"], postgresql_using="gin", schema=S)
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("ticket_id", sa.String(40), nullable=False, unique=True),
        sa.Column("ticket_no", sa.String(40), nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("product_line", sa.String(40), nullable=False),
        sa.Column("required_skill", sa.String(40), nullable=False),
        sa.Column("ticket_dealer_id", sa.String(40)),
        sa.Column("contract_code", sa.String(40)),
        sa.Column("coverage", sa.String(12), nullable=False),
        sa.Column("customer_name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("zone_class", sa.String(10), nullable=False),
        sa.Column("lat", sa.Float), sa.Column("lon", sa.Float),
        sa.Column("fault_description", sa.Text, nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("engineer_id", sa.String(40), sa.ForeignKey(f"{S}.engineers.id", name="fk_jobs_engineer"),
                  index=True),
        sa.Column("engineer_dealer_id", sa.String(40), index=True),
        sa.Column("holds_capacity", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("policy_id", sa.String(40)),
        sa.Column("calendar_code", sa.String(40)),
        sa.Column("respond_due", TS), sa.Column("arrive_due", TS, index=True), sa.Column("resolve_due", TS),
        sa.Column("responded_at", TS), sa.Column("arrived_at", TS), sa.Column("resolved_at", TS),
        sa.Column("paused_reason", sa.String(20)),
        sa.Column("pauses", JSONB, nullable=False),
        sa.Column("warnings_sent", JSONB, nullable=False),
        sa.Column("sla_met", JSONB, nullable=False),
        sa.Column("last_device_time", TS),
        sa.Column("spare_serial", sa.String(64)),
        sa.Column("spare_lent_at", TS), sa.Column("spare_collected_at", TS),
        sa.Column("routing_escalated", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("routing_checked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", TS, nullable=False),
        # an engineer-held job always names its engineer; a queued one never does
        sa.CheckConstraint("status <> 'queued' OR engineer_id IS NULL", name="ck_jobs_queued_unassigned"),
        schema=S,
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("job_id", sa.String(40), sa.ForeignKey(f"{S}.jobs.id", name="fk_offers_job"), nullable=False,
                  index=True),
        sa.Column("engineer_id", sa.String(40), sa.ForeignKey(f"{S}.engineers.id", name="fk_offers_engineer"),
                  nullable=False, index=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("offered_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("decided_at", TS),
        sa.Column("reason", sa.String(300)),
        schema=S,
    )
    op.create_index("uq_offers_one_pending_per_job", "offers", ["job_id"], unique=True, schema=S,
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "job_actions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("client_action_id", sa.String(64), nullable=False, unique=True),
        sa.Column("job_id", sa.String(40), sa.ForeignKey(f"{S}.jobs.id", name="fk_job_actions_job"),
                  nullable=False, index=True),
        sa.Column("engineer_id", sa.String(40)),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("device_time", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("request", JSONB, nullable=False),
        sa.Column("result", JSONB, nullable=False),
        schema=S,
    )
    op.create_table(
        "service_records",
        sa.Column("job_id", sa.String(40), sa.ForeignKey(f"{S}.jobs.id", name="fk_service_records_job"),
                  primary_key=True),
        sa.Column("engineer_id", sa.String(40)),
        sa.Column("work_done", sa.Text, nullable=False),
        sa.Column("root_cause", sa.String(16)),
        sa.Column("parts_used", JSONB, nullable=False),
        sa.Column("labour_minutes", sa.Integer, nullable=False),
        sa.Column("customer_name", sa.String(100)),
        sa.Column("signature_ref", sa.String(300)),
        sa.Column("photos", JSONB, nullable=False),
        sa.Column("remote", sa.Boolean, nullable=False),
        sa.Column("completed_at", TS, nullable=False),
        schema=S,
    )


def downgrade() -> None:
    for t in ("service_records", "job_actions", "offers", "jobs", "engineers", "sla_policies", "sla_calendars",
              "service_centres", "core_provinces", "zones"):
        op.drop_table(t, schema=S)
