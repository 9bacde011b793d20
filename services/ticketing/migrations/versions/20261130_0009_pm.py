"""Preventive maintenance (R-S10, issue 16 item 4).

- ``pm_plans``: a plan per unit (``scope='unit'``, target = serial) or per customer contract (``scope='contract'``,
  target = contract code) and kind (visit, inspection, call): every N months from ``effective_from``, a window of
  ``window_days``, generated ``lead_days`` ahead. Its terms are data (PUT /v1/pm-plans/...).
- ``pm_occurrences``: one per (plan, unit, period) — the unique key makes generation idempotent across restarts
  and replicas; a visit/inspection carries its maintenance ticket; the checklist result is kept on it.
- ``tickets.coverage`` also ``maintenance`` (a PM visit is contract work, not a warranty repair).

Revision ID: ticketing_0009
Revises: ticketing_0008
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "ticketing_0009"
down_revision = "ticketing_0008"
branch_labels = None
depends_on = None

S = "ticketing"
TZ = sa.DateTime(timezone=True)
CK = "ck_tickets_coverage_known"  # the shared naming convention's name for 0002's ``coverage_known``


def _coverage(values: str) -> None:
    op.execute(f"ALTER TABLE {S}.tickets DROP CONSTRAINT {CK}")
    op.execute(f"ALTER TABLE {S}.tickets ADD CONSTRAINT {CK} CHECK (coverage IN ({values}))")


def upgrade() -> None:
    _coverage("'warranty','extended','paid','maintenance'")
    op.create_table(
        "pm_plans",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("every_months", sa.Integer, nullable=False),
        sa.Column("window_days", sa.Integer, nullable=False),
        sa.Column("lead_days", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("scope", "target", "kind", name=op.f("uq_pm_plans_target_kind")),
        sa.CheckConstraint("scope IN ('unit','contract')", name=op.f("ck_pm_plans_scope")),
        sa.CheckConstraint("kind IN ('visit','inspection','call')", name=op.f("ck_pm_plans_kind")),
        sa.CheckConstraint("every_months BETWEEN 1 AND 60 AND window_days BETWEEN 1 AND 366 "
                           "AND lead_days BETWEEN 0 AND 366", name=op.f("ck_pm_plans_terms")),
        schema=S,
    )
    op.create_table(
        "pm_occurrences",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("plan_id", pg.UUID(as_uuid=True), sa.ForeignKey(f"{S}.pm_plans.id"), nullable=False),
        sa.Column("serial", sa.Text, sa.ForeignKey(f"{S}.units.serial"), nullable=False, index=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("window_start", TZ, nullable=False),
        sa.Column("window_end", TZ, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("ticket_id", pg.UUID(as_uuid=True), sa.ForeignKey(f"{S}.tickets.id")),
        sa.Column("checklist", pg.JSONB),
        sa.Column("recorded_by", sa.Text),
        sa.Column("recorded_at", TZ),
        sa.Column("missed_at", TZ),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("plan_id", "serial", "period_start", name=op.f("uq_pm_occurrences_period")),
        sa.CheckConstraint("status IN ('due','scheduled','completed','missed')", name=op.f("ck_pm_occurrences_status")),
        schema=S,
    )
    op.create_index("ix_pm_occurrences_status_window", "pm_occurrences", ["status", "window_end"], schema=S)


def downgrade() -> None:
    op.drop_table("pm_occurrences", schema=S)
    op.drop_table("pm_plans", schema=S)
    _coverage("'warranty','extended','paid'")
