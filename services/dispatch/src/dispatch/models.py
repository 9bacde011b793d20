"""The dispatch schema as SQLAlchemy ORM ``Mapped`` classes; every use case reads and writes through them.

Zones, core provinces, service centres, SLA calendars and policies, engineers, jobs, offers, app actions and
service records; what a plan needs (service durations, expected parts, van and centre stock, issue 14) and the
plans (plans, their routes, stops, restock stops and unplanned jobs). Migrations (``migrations/versions``) create
these tables; tests never use ``create_all``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aftersales_shared.db import make_metadata


class Base(DeclarativeBase):
    """The dispatch schema's declarative base (a class, not ``make_base()``, so type checkers see it)."""

    metadata = make_metadata("dispatch")


TS = sa.DateTime(timezone=True)


class Zone(Base):
    __tablename__ = "zones"
    region_code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    province_code: Mapped[str] = mapped_column(sa.String(2))
    zone_class: Mapped[str] = mapped_column(sa.String(10))
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)


class CoreProvince(Base):
    __tablename__ = "core_provinces"
    province_code: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))


class ServiceCentre(Base):
    __tablename__ = "service_centres"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    dealer_id: Mapped[str | None] = mapped_column(sa.String(40))
    region_code: Mapped[str] = mapped_column(sa.String(12))
    lat: Mapped[float] = mapped_column(sa.Float)
    lon: Mapped[float] = mapped_column(sa.Float)


class SlaCalendar(Base):
    __tablename__ = "sla_calendars"
    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    tz: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    always_open: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    intervals: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    use_statutory: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    weekdays: Mapped[list[Any]] = mapped_column(JSONB, default=lambda: [0, 1, 2, 3, 4])
    overrides: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime] = mapped_column(TS)


class SlaPolicyRow(Base):
    __tablename__ = "sla_policies"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    contract_code: Mapped[str] = mapped_column(sa.String(40), default="")  # "" = default policy
    zone_class: Mapped[str] = mapped_column(sa.String(10))
    calendar_code: Mapped[str] = mapped_column(sa.ForeignKey("sla_calendars.code"))
    respond_minutes: Mapped[int] = mapped_column(sa.Integer)
    arrive_minutes: Mapped[int] = mapped_column(sa.Integer)
    resolve_minutes: Mapped[int] = mapped_column(sa.Integer)
    resolve_from: Mapped[str] = mapped_column(sa.String(10), default="arrived")
    warn_fractions: Mapped[list[Any]] = mapped_column(JSONB, default=lambda: [0.5, 0.8])
    # issue 14: what leaving a job of this policy unserved costs a plan (a short-staffed plan drops the cheapest)
    unserved_cost: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal("500"), server_default="500")
    # issue 16 (R-S6): the contract entitles the customer to a spare unit when the resolve deadline is at risk
    spare_entitled: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    updated_at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (sa.UniqueConstraint("contract_code", "zone_class"),)


class Engineer(Base):
    __tablename__ = "engineers"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    employer: Mapped[str] = mapped_column(sa.String(12))  # manufacturer | dealer
    dealer_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    skills: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    zones: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    home_lat: Mapped[float] = mapped_column(sa.Float)
    home_lon: Mapped[float] = mapped_column(sa.Float)
    shifts: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    absences: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    max_jobs: Mapped[int] = mapped_column(sa.Integer, default=3)
    active_jobs: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_lat: Mapped[float | None] = mapped_column(sa.Float)
    last_lon: Mapped[float | None] = mapped_column(sa.Float)
    last_seen_at: Mapped[datetime | None] = mapped_column(TS)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # issue 14: the day a plan may use, times of day in Asia/Shanghai (weekday ``shifts`` say which days work)
    shift_start: Mapped[time] = mapped_column(sa.Time, default=time(8), server_default="08:00")
    shift_end: Mapped[time] = mapped_column(sa.Time, default=time(18), server_default="18:00")
    # issue 14 (dispatch_0013): the tools the engineer carries, a set of names (``PUT /engineers/{id}/tools``)
    tools: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default=sa.text("'[]'::jsonb"))
    # bumped by every live decision changing the engineer's route (dispatch_0013; ``jobs/live.still_as_read``)
    route_version: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    __table_args__ = (
        # capacity is enforced by the database itself, whatever the application does
        sa.CheckConstraint("active_jobs >= 0 AND active_jobs <= max_jobs", name="capacity"),
        sa.CheckConstraint("shift_start < shift_end", name="shift_order"),
    )


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(sa.String(40))
    visit: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")  # 2 and up: a reopened ticket
    ticket_no: Mapped[str] = mapped_column(sa.String(40))
    serial: Mapped[str] = mapped_column(sa.String(64))
    product_line: Mapped[str] = mapped_column(sa.String(40))
    required_skill: Mapped[str] = mapped_column(sa.String(40))
    ticket_dealer_id: Mapped[str | None] = mapped_column(sa.String(40))
    contract_code: Mapped[str | None] = mapped_column(sa.String(40))
    coverage: Mapped[str] = mapped_column(sa.String(12))
    customer_name: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str] = mapped_column(sa.String(32))
    address: Mapped[str] = mapped_column(sa.String(300))
    region_code: Mapped[str] = mapped_column(sa.String(12))
    zone_class: Mapped[str] = mapped_column(sa.String(10))
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    fault_description: Mapped[str] = mapped_column(sa.Text)
    opened_at: Mapped[datetime] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    engineer_id: Mapped[str | None] = mapped_column(sa.ForeignKey("engineers.id"), index=True)
    engineer_dealer_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    holds_capacity: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    policy_id: Mapped[str | None] = mapped_column(sa.String(40))
    calendar_code: Mapped[str | None] = mapped_column(sa.String(40))
    respond_due: Mapped[datetime | None] = mapped_column(TS)
    arrive_due: Mapped[datetime | None] = mapped_column(TS, index=True)
    resolve_due: Mapped[datetime | None] = mapped_column(TS)
    responded_at: Mapped[datetime | None] = mapped_column(TS)
    arrived_at: Mapped[datetime | None] = mapped_column(TS)
    resolved_at: Mapped[datetime | None] = mapped_column(TS)
    paused_reason: Mapped[str | None] = mapped_column(sa.String(20))
    pauses: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    warnings_sent: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    sla_met: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    last_device_time: Mapped[datetime | None] = mapped_column(TS)
    # the time of the last move (device time of an app action, server time of dispatch's own moves): the lower
    # bound of the next device_time
    last_action_at: Mapped[datetime] = mapped_column(TS)
    # counts moves (status or assignee changes); a manual assignment names the version it saw (409 otherwise)
    version: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")
    spare_serial: Mapped[str | None] = mapped_column(sa.String(64))
    spare_lent_at: Mapped[datetime | None] = mapped_column(TS)
    spare_collected_at: Mapped[datetime | None] = mapped_column(TS)
    routing_escalated: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    routing_checked: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # the instant of the next SLA warning or breach across the milestones (null: nothing pending); the SLA
    # watcher reads open jobs by it (partial index ix_jobs_sla_next_due, migration dispatch_0006)
    next_due_at: Mapped[datetime | None] = mapped_column(TS)
    # --- what a plan needs (issue 14); NULL = the default named
    earliest_start: Mapped[datetime | None] = mapped_column(TS)  # a booked slot; NULL = opened_at
    service_minutes: Mapped[int | None] = mapped_column(sa.Integer)  # NULL = service_durations, else the default
    fault_class: Mapped[str | None] = mapped_column(sa.String(40))
    required_skills: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")  # {} = {skill: 1}
    unserved_cost: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))  # NULL = the SLA policy's
    pinned_engineer_id: Mapped[str | None] = mapped_column(sa.ForeignKey("engineers.id"))
    planned_arrival: Mapped[datetime | None] = mapped_column(TS)  # from the published plan
    plan_id: Mapped[str | None] = mapped_column(sa.String(40))  # the published plan that assigned it
    # live routing (dispatch_0008): the booked slot's end (latest start kept by insertion); overrun asked once
    booked_end: Mapped[datetime | None] = mapped_column(TS)
    overrun_flagged: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # {part_no: qty} the job is expected to need; NULL = from its product line x fault class (fault_class_parts)
    expected_parts: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # [tool] the job needs (dispatch_0013); NULL = from its product line x fault class (fault_class_tools), [] = none
    required_tools: Mapped[list[Any] | None] = mapped_column(JSONB)
    # issue 15: ticketing's latest coverage decision as dispatch heard it (ticketing.ticket.coverage_changed)
    coverage_reason: Mapped[str | None] = mapped_column(sa.Text)
    coverage_changed_at: Mapped[datetime | None] = mapped_column(TS)
    # issue 16 (dispatch_0019): the contract code was registered when the job arrived (None: the job names none);
    # an unknown one is dispatched on the default terms all the same and listed for ops
    contract_known: Mapped[bool | None] = mapped_column(sa.Boolean)
    archived_at: Mapped[datetime | None] = mapped_column(TS)  # R-T4: archived by retention/ (contact data cleared)
    # the restock stop a live insertion put before this job (dispatch_0017): centre, {part_no: qty}, arrival there
    restock_centre_id: Mapped[str | None] = mapped_column(sa.String(40))
    restock_parts: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    restock_arrival: Mapped[datetime | None] = mapped_column(TS)
    # the engineer's level (0..5, 0 = none) in required_skill when the job was completed (dispatch_0021): what
    # durations are learned at; NULL (completed before it): his level now
    completed_skill_level: Mapped[int | None] = mapped_column(sa.SmallInteger)
    updated_at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (
        # one job per dispatch of a ticket; also the index for lookups by ticket id
        sa.UniqueConstraint("ticket_id", "visit"),
        sa.CheckConstraint("visit >= 1", name="visit_positive"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )


class Offer(Base):
    __tablename__ = "offers"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    engineer_id: Mapped[str] = mapped_column(sa.ForeignKey("engineers.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12))  # pending accepted declined expired withdrawn
    offered_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)
    decided_at: Mapped[datetime | None] = mapped_column(TS)
    reason: Mapped[str | None] = mapped_column(sa.String(300))
    __table_args__ = (
        # one open offer per job: two engineers can never hold the same job at once
        sa.Index("uq_offers_one_pending_per_job", "job_id", unique=True,
                 postgresql_where=sa.text("status = 'pending'")),
    )


class JobAction(Base):
    __tablename__ = "job_actions"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    client_action_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    engineer_id: Mapped[str | None] = mapped_column(sa.String(40))
    action: Mapped[str] = mapped_column(sa.String(20))
    device_time: Mapped[datetime] = mapped_column(TS)
    received_at: Mapped[datetime] = mapped_column(TS)
    request: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class ServiceRecord(Base):
    __tablename__ = "service_records"
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id"), primary_key=True)
    engineer_id: Mapped[str | None] = mapped_column(sa.String(40))
    work_done: Mapped[str] = mapped_column(sa.Text)
    root_cause: Mapped[str | None] = mapped_column(sa.String(16))
    parts_used: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    labour_minutes: Mapped[int] = mapped_column(sa.Integer)
    customer_name: Mapped[str | None] = mapped_column(sa.String(100))
    signature_ref: Mapped[str | None] = mapped_column(sa.String(300))
    photos: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    remote: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    completed_at: Mapped[datetime] = mapped_column(TS)


class Diagnosis(Base):
    """The engineer's diagnosis of a job (issue 15): failed components, root cause (R-T3), exclusions (R-W3)."""

    __tablename__ = "job_diagnoses"
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id"), primary_key=True)
    engineer_id: Mapped[str | None] = mapped_column(sa.String(40))
    revision: Mapped[int] = mapped_column(sa.Integer)
    components: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    root_cause: Mapped[str | None] = mapped_column(sa.String(16))
    exclusions: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    evidence: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    note: Mapped[str | None] = mapped_column(sa.Text)
    recorded_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    # checked against the product line's component list (false: no list had arrived yet; dispatch_0018)
    components_validated: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    __table_args__ = (
        sa.CheckConstraint("revision >= 1", name="revision_positive"),
        sa.CheckConstraint("root_cause IS NULL OR root_cause IN ('supplier_part','workmanship','customer')",
                           name="root_cause"),
    )


class CataloguePrice(Base):
    """A catalogue part's list price as the parts catalogue last announced it (issue 15; the highest version heard
    wins): what a paid-repair quote charges for the part. ``active`` false: withdrawn, no longer quoted."""

    __tablename__ = "catalogue_prices"
    part_no: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text)
    list_price: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    active: Mapped[bool] = mapped_column(sa.Boolean)
    version: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(TS)
    received_at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (sa.CheckConstraint("version >= 1", name="catalogue_version_positive"),
                      sa.CheckConstraint("list_price >= 0", name="catalogue_price_not_negative"))


class LineComponents(Base):
    """A product line's component list with the catalogue part numbers linked to each component, as ticketing's
    catalogue last announced it (issue 15; the highest version heard wins)."""

    __tablename__ = "line_components"
    product_line: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    components: Mapped[list[Any]] = mapped_column(JSONB)
    changed_at: Mapped[datetime] = mapped_column(TS)
    received_at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (sa.CheckConstraint("version >= 1", name="version_positive"),)


MONEY = sa.Numeric(14, 2)


class RateCard(Base):
    """A product line's paid-repair prices from ``effective_from`` on (issue 15; data, edited over the API)."""

    __tablename__ = "rate_cards"
    product_line: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    effective_from: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    labour_per_hour: Mapped[Decimal] = mapped_column(MONEY)
    visit_fee: Mapped[Decimal] = mapped_column(MONEY)
    declined_visit_fee: Mapped[Decimal] = mapped_column(MONEY)
    shipping_fee: Mapped[Decimal] = mapped_column(MONEY)
    customer_shipping_share: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4))
    quote_valid_hours: Mapped[int] = mapped_column(sa.Integer)
    updated_by: Mapped[str] = mapped_column(sa.String(100))
    updated_at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (
        sa.CheckConstraint("labour_per_hour >= 0 AND visit_fee >= 0 AND declined_visit_fee >= 0 AND shipping_fee >= 0",
                           name="amounts"),
        sa.CheckConstraint("customer_shipping_share BETWEEN 0 AND 1", name="share"),
    )


class Quote(Base):
    """A paid repair's quote (issue 15): presented on site, accepted (signed) or declined; one open per job."""

    __tablename__ = "quotes"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    engineer_id: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(12))
    lines: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    total: Mapped[Decimal] = mapped_column(MONEY)
    declined_fee: Mapped[Decimal] = mapped_column(MONEY)
    rate_card_from: Mapped[date] = mapped_column(sa.Date)
    valid_until: Mapped[datetime] = mapped_column(TS)
    presented_at: Mapped[datetime] = mapped_column(TS)
    decided_at: Mapped[datetime | None] = mapped_column(TS)
    signature_ref: Mapped[str | None] = mapped_column(sa.String(300))
    signed_by: Mapped[str | None] = mapped_column(sa.String(100))
    decline_reason: Mapped[str | None] = mapped_column(sa.String(300))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    __table_args__ = (
        sa.CheckConstraint("status IN ('presented','accepted','declined','superseded')", name="status"),
        sa.CheckConstraint("status <> 'accepted' OR signature_ref IS NOT NULL", name="signed"),
        sa.Index("uq_quotes_one_open_per_job", "job_id", unique=True, postgresql_where=sa.text("status = 'presented'")),
    )


class JobPayment(Base):
    """What the customer paid for a paid repair (issue 15); a receipt number is recorded once."""

    __tablename__ = "job_payments"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    quote_id: Mapped[str] = mapped_column(sa.ForeignKey("quotes.id"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    method: Mapped[str] = mapped_column(sa.String(16))
    receipt_no: Mapped[str] = mapped_column(sa.String(64), unique=True)
    recorded_by: Mapped[str] = mapped_column(sa.String(100))
    recorded_at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (sa.CheckConstraint("amount > 0", name="amount_positive"),)


class ServiceDuration(Base):
    """Expected service minutes by product line x fault class ("" = any fault class of the line) x the engineer's
    skill level (0 = any level)."""

    __tablename__ = "service_durations"
    product_line: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    fault_class: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    skill_level: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, default=0, server_default="0")
    minutes: Mapped[int] = mapped_column(sa.Integer)
    override: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default="false")  # wins over learned
    updated_at: Mapped[datetime] = mapped_column(TS)


class LearnedDuration(Base):
    """Service minutes learned from the last completions' labour minutes (``plans/durations.py``)."""

    __tablename__ = "learned_durations"
    product_line: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    fault_class: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # "" = any fault class of the line
    skill_level: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, default=0, server_default="0")  # 0: any
    minutes: Mapped[int | None] = mapped_column(sa.Integer)  # None: fewer samples than the minimum
    samples: Mapped[int] = mapped_column(sa.Integer)
    computed_at: Mapped[datetime] = mapped_column(TS)


class FaultClassPart(Base):
    """A part a job of a product line x fault class is expected to need (issue 14: restock planning)."""

    __tablename__ = "fault_class_parts"
    product_line: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    fault_class: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    part_no: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    qty: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(TS)


class FaultClassTool(Base):
    """A tool a job of a product line x fault class needs (issue 14: an engineer without it may not serve it)."""

    __tablename__ = "fault_class_tools"
    product_line: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    fault_class: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    tool: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(TS)


class VanStock(Base):
    """What an engineer's van holds of a part (a plan serves jobs from it until a restock stop)."""

    __tablename__ = "van_stock"
    engineer_id: Mapped[str] = mapped_column(sa.ForeignKey("engineers.id", ondelete="CASCADE"), primary_key=True)
    part_no: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    qty: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(TS)


class CentreStock(Base):
    """What a service centre holds of a part (a route may stop there to restock)."""

    __tablename__ = "centre_stock"
    centre_id: Mapped[str] = mapped_column(sa.ForeignKey("service_centres.id", ondelete="CASCADE"), primary_key=True)
    part_no: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    qty: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(TS)


class StockMove(Base):
    """One part moved (dispatch_0017): ``used`` (van -> the customer's unit, on completion), ``restock`` (centre
    -> van) or ``return`` (van -> centre, dispatch_0021: a restocked job left the route before the pickup);
    ``moved`` may fall short of ``asked`` (the van or centre had less). ``(ref, part_no)`` is unique: a cause moves
    a part once."""

    __tablename__ = "stock_moves"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(12))
    ref: Mapped[str] = mapped_column(sa.String(160))
    part_no: Mapped[str] = mapped_column(sa.String(40))
    asked: Mapped[int] = mapped_column(sa.Integer)
    moved: Mapped[int] = mapped_column(sa.Integer)
    engineer_id: Mapped[str] = mapped_column(sa.String(40))
    centre_id: Mapped[str | None] = mapped_column(sa.String(40))
    job_id: Mapped[str | None] = mapped_column(sa.String(40))
    plan_id: Mapped[str | None] = mapped_column(sa.String(40))
    at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (sa.UniqueConstraint("ref", "part_no"),)


class PlanRow(Base):
    """One zone-day plan, versioned; at most one requested or running per zone-day (partial unique index)."""

    __tablename__ = "plans"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    zone: Mapped[str] = mapped_column(sa.String(12))
    day: Mapped[date] = mapped_column(sa.Date)
    version: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(12))
    time_limit_s: Mapped[float] = mapped_column(sa.Float)
    requested_by: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(TS)
    started_at: Mapped[datetime | None] = mapped_column(TS)
    finished_at: Mapped[datetime | None] = mapped_column(TS)
    published_at: Mapped[datetime | None] = mapped_column(TS)
    planned_at: Mapped[datetime | None] = mapped_column(TS)  # the plan's epoch
    score: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the jobs and engineers as planned
    error: Mapped[str | None] = mapped_column(sa.Text)
    __table_args__ = (
        sa.Index("uq_plans_one_active_per_zone_day", "zone", "day", unique=True,
                 postgresql_where=sa.text("status IN ('requested', 'running')")),
    )


class PlanRoute(Base):
    __tablename__ = "plan_routes"
    plan_id: Mapped[str] = mapped_column(sa.ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    engineer_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    depart_at: Mapped[datetime] = mapped_column(TS)
    return_at: Mapped[datetime] = mapped_column(TS)
    distance_m: Mapped[int] = mapped_column(sa.BigInteger)
    travel_s: Mapped[int] = mapped_column(sa.Integer)


class PlanStop(Base):
    __tablename__ = "plan_stops"
    plan_id: Mapped[str] = mapped_column(sa.ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    engineer_id: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[int] = mapped_column(sa.Integer)
    planned_arrival: Mapped[datetime] = mapped_column(TS)
    planned_start: Mapped[datetime] = mapped_column(TS)
    planned_end: Mapped[datetime] = mapped_column(TS)
    window_start: Mapped[datetime] = mapped_column(TS)  # the window as planned (earliest / latest start)
    window_end: Mapped[datetime] = mapped_column(TS)
    window_met: Mapped[bool] = mapped_column(sa.Boolean)
    started: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class PlanRestock(Base):
    """A plan's stop at a service centre to restock the van; ``position`` counts with the route's job stops."""

    __tablename__ = "plan_restocks"
    plan_id: Mapped[str] = mapped_column(sa.ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    engineer_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    centre_id: Mapped[str] = mapped_column(sa.String(40))
    planned_arrival: Mapped[datetime] = mapped_column(TS)
    planned_start: Mapped[datetime] = mapped_column(TS)
    planned_end: Mapped[datetime] = mapped_column(TS)
    parts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")  # taken at the centre


class PlanUnplanned(Base):
    __tablename__ = "plan_unplanned"
    plan_id: Mapped[str] = mapped_column(sa.ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    reason: Mapped[str] = mapped_column(sa.String(40))
    detail: Mapped[str] = mapped_column(sa.Text, default="")


class NightlyRun(Base):
    """The night's planning of one day: inserted once by whichever runner gets there first."""

    __tablename__ = "nightly_runs"
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(TS)
    plan_ids: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")


class ReplanMark(Base):
    """A zone-day waiting to be re-planned after a disruption (one row however many disruptions: debounce)."""

    __tablename__ = "replan_marks"
    zone: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    due_at: Mapped[datetime] = mapped_column(TS)
    reasons: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")


idempotency_keys = sa.Table(
    "idempotency_keys", Base.metadata,
    sa.Column("principal", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("response", JSONB),
    sa.Column("created_at", TS, nullable=False),
)
"""(caller, Idempotency-Key) -> the stored response of a creating POST (appointments, absences)."""


# --- spare units (issue 16, R-S6) -------------------------------------------------------------------

class SpareUnit(Base):
    """A spare unit of a service centre's pool (its dealer's, or the manufacturer's when the centre has none);
    ``job_id``/``lent_at``/``due_back_at`` are the current loan (status ``lent``), ``domain/spare_lifecycle.py``
    the statuses and moves."""

    __tablename__ = "spare_units"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    serial: Mapped[str] = mapped_column(sa.String(64), unique=True)
    product_line: Mapped[str] = mapped_column(sa.String(40))
    condition: Mapped[str] = mapped_column(sa.String(12))
    status: Mapped[str] = mapped_column(sa.String(16))
    centre_id: Mapped[str] = mapped_column(sa.ForeignKey("service_centres.id"))
    dealer_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)  # the centre's dealer (the scope)
    job_id: Mapped[str | None] = mapped_column(sa.ForeignKey("jobs.id"))
    lent_at: Mapped[datetime | None] = mapped_column(TS)
    due_back_at: Mapped[datetime | None] = mapped_column(TS)
    reminded_at: Mapped[datetime | None] = mapped_column(TS)  # the current loan's overdue reminder (once)
    # the loan term (hours until due back) this spare is lent for: DISPATCH_SPARE_DUE_BACK_HOURS when it entered
    # the pool, unless the registration named one (a contract term once issue 16's terms model exists)
    loan_hours: Mapped[int] = mapped_column(sa.Integer)
    converted_reason: Mapped[str | None] = mapped_column(sa.String(300))
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (
        sa.CheckConstraint("status IN ('available', 'lent', 'in_repair', 'sold', 'written_off')",
                           name="status_known"),
        sa.CheckConstraint("condition IN ('new', 'good', 'fair', 'faulty')", name="condition_known"),
        sa.CheckConstraint("loan_hours > 0", name="loan_hours_positive"),
        # a lent spare names its job and due-back time; a spare in any other status names none
        sa.CheckConstraint("(status = 'lent') = (job_id IS NOT NULL AND lent_at IS NOT NULL "
                           "AND due_back_at IS NOT NULL)", name="loan_consistent"),
        # a job holds at most one spare at a time
        sa.Index("ux_spare_units_job_lent", "job_id", unique=True, postgresql_where=sa.text("status = 'lent'")),
        sa.Index("ix_spare_units_lent_due", "due_back_at", postgresql_where=sa.text("status = 'lent'")),
        sa.Index("ix_spare_units_available", "product_line", postgresql_where=sa.text("status = 'available'")),
    )


class SpareLoan(Base):
    """Every loan of a spare to a job (where each spare was, when); an open loan has no ``ended_at``. The partial
    unique index ``ux_spare_loans_open`` is the database's own guarantee that a spare is never lent twice at once."""

    __tablename__ = "spare_loans"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    spare_id: Mapped[str] = mapped_column(sa.ForeignKey("spare_units.id"))
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    lent_at: Mapped[datetime] = mapped_column(TS)
    due_back_at: Mapped[datetime] = mapped_column(TS)
    reminded_at: Mapped[datetime | None] = mapped_column(TS)
    ended_at: Mapped[datetime | None] = mapped_column(TS)
    outcome: Mapped[str | None] = mapped_column(sa.String(16))  # collected | sold | written_off
    condition_back: Mapped[str | None] = mapped_column(sa.String(12))
    reason: Mapped[str | None] = mapped_column(sa.String(300))
    __table_args__ = (
        sa.Index("ux_spare_loans_open", "spare_id", unique=True, postgresql_where=sa.text("ended_at IS NULL")),
    )


class ContractTermsChange(Base):
    """One recorded change of a customer service contract's terms (issue 16; ``contracts/service.py``): who, when,
    why, from which date. The terms in force on a date are resolved from these (``domain/contract_terms.py``)."""

    __tablename__ = "contract_terms"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    contract_code: Mapped[str] = mapped_column(sa.String(40), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    effective_from: Mapped[date] = mapped_column(sa.Date)
    values: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(sa.String(2000))
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (sa.UniqueConstraint("contract_code", "version"),)


class ContractCredit(Base):
    """R-S9: what a customer's contract is owed: liquidated damages for a breached milestone of a job no dealer's
    engineer held (``milestone`` arrive | resolve, ``ref`` ''), or a third-party repair cost recorded by the owner
    (``milestone`` third_party, ``ref`` the invoice number), or a missed PM visit (``milestone`` pm_visit, ``ref`` the
    PM occurrence, once per occurrence). Once per (job, milestone, ref); a finance waiver once."""

    __tablename__ = "contract_credits"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    contract_code: Mapped[str] = mapped_column(sa.String(40), index=True)
    job_id: Mapped[str | None] = mapped_column(sa.ForeignKey("jobs.id"))  # None: a missed PM visit without a job
    milestone: Mapped[str] = mapped_column(sa.String(16))
    ref: Mapped[str] = mapped_column(sa.String(64), default="")
    basis: Mapped[str] = mapped_column(sa.String(16))  # percent | fixed | third_party
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    percent: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 4))
    service_value: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    terms_version: Mapped[int | None] = mapped_column(sa.Integer)
    occurred_at: Mapped[datetime] = mapped_column(TS)
    status: Mapped[str] = mapped_column(sa.String(12))  # credited | waived
    waiver_kind: Mapped[str | None] = mapped_column(sa.String(20))
    waiver_evidence: Mapped[str | None] = mapped_column(sa.String(2000))
    waived_by: Mapped[str | None] = mapped_column(sa.String(128))
    waived_at: Mapped[datetime | None] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (
        sa.UniqueConstraint("job_id", "milestone", "ref"),
        sa.CheckConstraint("status IN ('credited', 'waived')", name="status_known"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )


class ThirdPartyCost(Base):
    """R-S9: a third-party repair cost the owner recorded on a job: deducted from the dealer whose engineer held it
    (``dispatch.job.third_party_cost``), else credited to the customer's contract (``credit_id``)."""

    __tablename__ = "third_party_costs"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id"))
    invoice_no: Mapped[str] = mapped_column(sa.String(64))
    vendor: Mapped[str] = mapped_column(sa.String(200))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    dealer_id: Mapped[str | None] = mapped_column(sa.String(40))
    contract_code: Mapped[str | None] = mapped_column(sa.String(40))
    credit_id: Mapped[str | None] = mapped_column(sa.String(40))
    recorded_by: Mapped[str] = mapped_column(sa.String(128))
    recorded_at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (sa.UniqueConstraint("job_id", "invoice_no"),)


class CustomerContract(Base):
    """A registered customer service contract (issue 16; ``contracts/registry.py``): the code jobs and terms name, the
    customer, the SLA tier, validity and status (``domain/contract_lifecycle.py``). Every change is audited
    (``contract_changes``)."""

    __tablename__ = "customer_contracts"
    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    customer_name: Mapped[str] = mapped_column(sa.String(200))
    customer_ref: Mapped[str] = mapped_column(sa.String(64))
    sla_tier: Mapped[str] = mapped_column(sa.String(40))
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_to: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(12))  # active | suspended | ended
    version: Mapped[int] = mapped_column(sa.Integer)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_by: Mapped[str] = mapped_column(sa.String(128))
    updated_at: Mapped[datetime] = mapped_column(TS)


class ContractChange(Base):
    """The audit of a customer contract: who created or changed it, when, what (``{field: [before, after]}``), why."""

    __tablename__ = "contract_changes"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    contract_code: Mapped[str] = mapped_column(sa.ForeignKey("customer_contracts.code"))
    version: Mapped[int] = mapped_column(sa.Integer)
    action: Mapped[str] = mapped_column(sa.String(12))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(sa.String(2000))
    actor: Mapped[str] = mapped_column(sa.String(128))
    at: Mapped[datetime] = mapped_column(TS)


class ContractBreach(Base):
    """A missed PM visit (R-S10 + R-S9, ``ticketing.pm.missed``): an SLA breach of milestone ``pm_visit`` on the
    contract (and its job, if the occurrence had one), once per occurrence; ``charged_to`` says who pays: the
    contract's credit (no dealer held it), the dealer (``dispatch.contract.pm_breached`` → settlement), nobody."""

    __tablename__ = "contract_breaches"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    contract_code: Mapped[str] = mapped_column(sa.String(40), index=True)
    milestone: Mapped[str] = mapped_column(sa.String(16))
    occurrence_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    plan_id: Mapped[str] = mapped_column(sa.String(64))
    serial: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(16))
    ticket_id: Mapped[str | None] = mapped_column(sa.String(40))
    job_id: Mapped[str | None] = mapped_column(sa.String(40))
    dealer_id: Mapped[str | None] = mapped_column(sa.String(40))
    engineer_id: Mapped[str | None] = mapped_column(sa.String(40))
    window_end: Mapped[datetime] = mapped_column(TS)
    missed_at: Mapped[datetime] = mapped_column(TS)
    charged_to: Mapped[str] = mapped_column(sa.String(12))  # contract | dealer | nobody
    basis: Mapped[str | None] = mapped_column(sa.String(16))
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    terms_version: Mapped[int | None] = mapped_column(sa.Integer)
    credit_id: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(TS)


class ArchivedRecord(Base):
    """R-T4: a closed job past its contract's retention, with its service record, actions and offers, as one
    document (append-only: the database refuses UPDATE and DELETE)."""

    __tablename__ = "archived_records"
    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    record_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    contract_code: Mapped[str | None] = mapped_column(sa.String(40))
    closed_on: Mapped[date] = mapped_column(sa.Date)
    run_id: Mapped[int] = mapped_column(sa.BigInteger)
    archived_at: Mapped[datetime] = mapped_column(TS)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)


class RetentionRun(Base):
    """One run of the R-T4 retention job per Shanghai business day (``run_on`` unique: once across replicas)."""

    __tablename__ = "retention_runs"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    run_on: Mapped[date] = mapped_column(sa.Date, unique=True)
    started_at: Mapped[datetime] = mapped_column(TS)
    jobs_archived: Mapped[int] = mapped_column(sa.Integer)
    service_records_archived: Mapped[int] = mapped_column(sa.Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
