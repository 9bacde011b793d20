"""What a plan needs, and the plans themselves (issue 14, items 1 and 3).

Item 1, per job: ``earliest_start`` (a booked slot; NULL = the job's opening), ``service_minutes`` (NULL = the
``service_durations`` table by product line x fault class, else the configured default), ``fault_class``,
``required_skills`` ``{skill: min_level}`` (empty = ``{required_skill: 1}``), ``unserved_cost`` (NULL = the SLA
policy's), ``pinned_engineer_id`` (a dispatcher's pin) and the published plan's ``planned_arrival``/``plan_id``;
per engineer a day's shift (``shift_start``/``shift_end``, times of day in Asia/Shanghai, 08:00-18:00); per SLA
policy the cost of not serving a job (``unserved_cost``).

Item 3: ``plans`` (one zone-day, versioned; at most one requested/running per zone-day: partial unique index),
``plan_routes``, ``plan_stops`` (engineer, position, planned arrival/start/end, the window as planned, met or not)
and ``plan_unplanned`` (job, reason).

Revision ID: dispatch_0007
Revises: dispatch_0005 (the lead re-points it at dispatch_0006, the SLA watcher's migration, at merge)
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "dispatch_0007"
down_revision = "dispatch_0006"
branch_labels = None
depends_on = None

S = "dispatch"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("earliest_start", TS), schema=S)
    op.add_column("jobs", sa.Column("service_minutes", sa.Integer), schema=S)
    op.add_column("jobs", sa.Column("fault_class", sa.String(40)), schema=S)
    op.add_column("jobs", sa.Column("required_skills", JSONB, nullable=False, server_default="{}"), schema=S)
    op.add_column("jobs", sa.Column("unserved_cost", sa.Numeric(14, 2)), schema=S)
    op.add_column("jobs", sa.Column("pinned_engineer_id", sa.String(40),
                                    sa.ForeignKey(f"{S}.engineers.id", name=op.f("fk_jobs_pinned_engineer_id_engineers"))),
                  schema=S)
    op.add_column("jobs", sa.Column("planned_arrival", TS), schema=S)
    op.add_column("jobs", sa.Column("plan_id", sa.String(40)), schema=S)
    op.create_check_constraint(op.f("ck_jobs_service_minutes_range"), "jobs",
                               "service_minutes IS NULL OR service_minutes BETWEEN 0 AND 1440", schema=S)
    op.create_index(op.f("ix_jobs_region_code_status"), "jobs", ["region_code", "status"], schema=S)

    op.add_column("engineers", sa.Column("shift_start", sa.Time, nullable=False, server_default="08:00"), schema=S)
    op.add_column("engineers", sa.Column("shift_end", sa.Time, nullable=False, server_default="18:00"), schema=S)
    op.create_check_constraint(op.f("ck_engineers_shift_order"), "engineers", "shift_start < shift_end", schema=S)
    op.add_column("sla_policies", sa.Column("unserved_cost", sa.Numeric(14, 2), nullable=False,
                                            server_default="500"), schema=S)

    op.create_table(
        "service_durations",
        sa.Column("product_line", sa.String(40), primary_key=True),
        sa.Column("fault_class", sa.String(40), primary_key=True),  # "" = any fault class of the product line
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("minutes BETWEEN 0 AND 1440", name=op.f("ck_service_durations_minutes_range")),
        schema=S,
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("zone", sa.String(12), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("time_limit_s", sa.Float, nullable=False),
        sa.Column("requested_by", sa.String(100)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("published_at", TS),
        sa.Column("planned_at", TS),  # the plan's epoch: every planned time is a whole second from it
        sa.Column("score", JSONB),
        sa.Column("inputs", JSONB),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("status IN ('requested', 'running', 'done', 'published', 'failed')",
                           name=op.f("ck_plans_status_known")),
        schema=S,
    )
    op.create_index("uq_plans_one_active_per_zone_day", "plans", ["zone", "day"], unique=True, schema=S,
                    postgresql_where=sa.text("status IN ('requested', 'running')"))
    op.create_index(op.f("ix_plans_zone_day_version"), "plans", ["zone", "day", "version"], schema=S)
    op.create_table(
        "plan_routes",
        sa.Column("plan_id", sa.String(40), sa.ForeignKey(f"{S}.plans.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("engineer_id", sa.String(40), primary_key=True),
        sa.Column("depart_at", TS, nullable=False),
        sa.Column("return_at", TS, nullable=False),
        sa.Column("distance_m", sa.BigInteger, nullable=False),
        sa.Column("travel_s", sa.Integer, nullable=False),
        schema=S,
    )
    op.create_table(
        "plan_stops",
        sa.Column("plan_id", sa.String(40), sa.ForeignKey(f"{S}.plans.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("job_id", sa.String(40), primary_key=True),
        sa.Column("engineer_id", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("planned_arrival", TS, nullable=False),
        sa.Column("planned_start", TS, nullable=False),
        sa.Column("planned_end", TS, nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("window_end", TS, nullable=False),
        sa.Column("window_met", sa.Boolean, nullable=False),
        sa.Column("started", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("plan_id", "engineer_id", "position", name=op.f("uq_plan_stops_plan_id")),
        schema=S,
    )
    op.create_index(op.f("ix_plan_stops_engineer_id"), "plan_stops", ["engineer_id"], schema=S)
    op.create_table(
        "plan_unplanned",
        sa.Column("plan_id", sa.String(40), sa.ForeignKey(f"{S}.plans.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("job_id", sa.String(40), primary_key=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        schema=S,
    )


def downgrade() -> None:
    for t in ("plan_unplanned", "plan_stops", "plan_routes", "plans", "service_durations"):
        op.drop_table(t, schema=S)
    op.drop_column("sla_policies", "unserved_cost", schema=S)
    op.drop_constraint(op.f("ck_engineers_shift_order"), "engineers", type_="check", schema=S)
    op.drop_column("engineers", "shift_end", schema=S)
    op.drop_column("engineers", "shift_start", schema=S)
    op.drop_index(op.f("ix_jobs_region_code_status"), "jobs", schema=S)
    op.drop_constraint(op.f("ck_jobs_service_minutes_range"), "jobs", type_="check", schema=S)
    for c in ("plan_id", "planned_arrival", "pinned_engineer_id", "unserved_cost", "required_skills", "fault_class",
              "service_minutes", "earliest_start"):
        op.drop_column("jobs", c, schema=S)
