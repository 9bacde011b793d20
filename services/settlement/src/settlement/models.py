"""Every table of the settlement schema, as SQLAlchemy 2 ``Mapped`` classes (the migration settlement_0002
builds them; these mirror it). The code queries them with Core: ``select(dealers)``, ``insert(disputes)``
on the ``Table`` objects exported at the bottom. The statement run's set-based SQL in
``statements/queries.py`` and the metrics refresh stay hand-written (signposted there).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aftersales_shared.db import make_metadata


class Base(DeclarativeBase):
    metadata = make_metadata("settlement")


TS = DateTime(timezone=True)
MONEY = Numeric(14, 2)


class Dealer(Base):
    __tablename__ = "dealers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    territories: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    created_at: Mapped[datetime] = mapped_column(TS)


class Contract(Base):
    __tablename__ = "contracts"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    dealer_id: Mapped[str] = mapped_column(ForeignKey("settlement.dealers.id"))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    fee_model: Mapped[str] = mapped_column(String(1))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(TS)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    dealer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    quantity: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(TS)
    quarter: Mapped[str] = mapped_column(String(6))
    booked_quarter: Mapped[str] = mapped_column(String(6))
    source_type: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(TS)


class Statement(Base):
    __tablename__ = "statements"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    dealer_id: Mapped[str] = mapped_column(ForeignKey("settlement.dealers.id"))
    quarter: Mapped[str] = mapped_column(String(6))
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    superseded: Mapped[bool] = mapped_column(Boolean)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("settlement.contracts.id"))
    fee_model: Mapped[str] = mapped_column(String(1))
    gross_fee: Mapped[Decimal] = mapped_column(MONEY)
    deductions: Mapped[Decimal] = mapped_column(MONEY)
    forfeits: Mapped[Decimal] = mapped_column(MONEY)
    adjustments: Mapped[Decimal] = mapped_column(MONEY)
    net_amount: Mapped[Decimal] = mapped_column(MONEY)
    budget: Mapped[Decimal] = mapped_column(MONEY)
    carry_in: Mapped[Decimal] = mapped_column(MONEY)
    carry_out: Mapped[Decimal] = mapped_column(MONEY)
    quality_penalty_applied: Mapped[bool] = mapped_column(Boolean)
    inputs_hash: Mapped[str] = mapped_column(String(64))
    changes: Mapped[list[Any]] = mapped_column(JSONB)
    prepared_by: Mapped[str] = mapped_column(String(128))
    reviewed_by: Mapped[str | None] = mapped_column(String(128))
    approved_by: Mapped[str | None] = mapped_column(String(128))
    paid_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(TS)
    reviewed_at: Mapped[datetime | None] = mapped_column(TS)
    approved_at: Mapped[datetime | None] = mapped_column(TS)
    paid_at: Mapped[datetime | None] = mapped_column(TS)
    due_on: Mapped[date | None] = mapped_column(Date)


class StatementLine(Base):
    __tablename__ = "statement_lines"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    statement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("settlement.statements.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    unit_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    late_from: Mapped[str | None] = mapped_column(String(6))


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(TS)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)


class Dispute(Base):
    __tablename__ = "disputes"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    statement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("settlement.statements.id"))
    dealer_id: Mapped[str] = mapped_column(String(64))
    line_no: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(2000))
    claimed_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(16))
    opened_by: Mapped[str] = mapped_column(String(128))
    opened_at: Mapped[datetime] = mapped_column(TS)
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None] = mapped_column(TS)
    adjustment: Mapped[Decimal | None] = mapped_column(MONEY)
    resolution_note: Mapped[str | None] = mapped_column(String(2000))


class CarryOverBalance(Base):
    __tablename__ = "carry_over_balances"
    dealer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    into_quarter: Mapped[str] = mapped_column(String(6), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    statement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("settlement.statements.id"))


class MonthlyReport(Base):
    __tablename__ = "monthly_reports"
    dealer_id: Mapped[str] = mapped_column(ForeignKey("settlement.dealers.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    records: Mapped[bool] = mapped_column(Boolean)
    quality_feedback: Mapped[bool] = mapped_column(Boolean)
    submitted_at: Mapped[datetime] = mapped_column(TS)
    submitted_by: Mapped[str] = mapped_column(String(128))


class DealerTermsChange(Base):
    """One recorded change of a dealer's service agreement terms (issue 16; ``terms/service.py``)."""

    __tablename__ = "dealer_terms"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    dealer_id: Mapped[str] = mapped_column(ForeignKey("settlement.dealers.id"))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    values: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(TS)


class SlaPenalty(Base):
    """Liquidated damages for one breached milestone of a dealer's job (R-S9; ``penalties/service.py``)."""

    __tablename__ = "sla_penalties"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    dealer_id: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(128))
    milestone: Mapped[str] = mapped_column(String(16))
    breach_event_id: Mapped[str] = mapped_column(String(64))
    breached_at: Mapped[datetime] = mapped_column(TS)
    deadline: Mapped[datetime] = mapped_column(TS)
    basis: Mapped[str] = mapped_column(String(16))
    service_value: Mapped[Decimal | None] = mapped_column(MONEY)
    percent: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    terms_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    waiver_kind: Mapped[str | None] = mapped_column(String(32))
    waiver_evidence: Mapped[str | None] = mapped_column(String(2000))
    waiver_note: Mapped[str | None] = mapped_column(String(2000))
    waived_by: Mapped[str | None] = mapped_column(String(128))
    waived_at: Mapped[datetime | None] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS)
class IssuedAssessment(Base):
    """R-D7: a dealer's monthly assessment as issued (once per dealer and month: the unique key)."""

    __tablename__ = "issued_assessments"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    dealer_id: Mapped[str] = mapped_column(ForeignKey("settlement.dealers.id"))
    month: Mapped[date] = mapped_column(Date)
    score: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    grade: Mapped[str] = mapped_column(String(2))
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    issued_at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (UniqueConstraint("dealer_id", "month", name="uq_issued_assessments_dealer_month"),)


class RepairRecord(Base):
    """The service record of one completed job of a dealer's engineer (R-O1 reports; ``reports/``)."""

    __tablename__ = "repair_records"
    job_id: Mapped[str] = mapped_column(Text, primary_key=True)
    dealer_id: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[str | None] = mapped_column(Text)
    engineer_id: Mapped[str | None] = mapped_column(Text)
    serial: Mapped[str] = mapped_column(Text)
    product_line: Mapped[str] = mapped_column(Text)
    coverage: Mapped[str] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(String(32))
    parts_used: Mapped[list[Any]] = mapped_column(JSONB)
    labour_minutes: Mapped[int] = mapped_column(Integer)
    home_visit: Mapped[bool] = mapped_column(Boolean)
    remote: Mapped[bool] = mapped_column(Boolean)
    sla_met: Mapped[dict[str, Any]] = mapped_column(JSONB)
    work_done: Mapped[str] = mapped_column(Text)
    completed_at: Mapped[datetime] = mapped_column(TS)
    month: Mapped[date] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)


class ArchivedRecord(Base):
    """A record moved out of the live tables past its retention (R-T4; ``retention/``): append-only."""

    __tablename__ = "archived_records"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[str] = mapped_column(Text, primary_key=True)
    dealer_id: Mapped[str] = mapped_column(Text)
    period: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[int] = mapped_column(BigInteger)
    archived_at: Mapped[datetime] = mapped_column(TS)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)


class RetentionRun(Base):
    """What one day's retention job did (R-T4)."""

    __tablename__ = "retention_runs"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    run_on: Mapped[date] = mapped_column(Date, unique=True)
    started_at: Mapped[datetime] = mapped_column(TS)
    statements_archived: Mapped[int] = mapped_column(Integer)
    repair_records_archived: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    records_purged: Mapped[int] = mapped_column(Integer, server_default="0")  # archived rows past purge_after_years


class UnitSale(Base):
    """R-W10: a unit's sale and warranty card registration as ticketing reports them (``ticketing.unit.recorded``
    and ``.registered``); a repair on a unit whose card is missing or late is not reimbursed."""

    __tablename__ = "unit_sales"
    serial: Mapped[str] = mapped_column(String(128), primary_key=True)
    dealer_id: Mapped[str | None] = mapped_column(String(64))
    sold_on: Mapped[date | None] = mapped_column(Date)
    registered_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(TS)


class RepairFee(Base):
    """Issue 15: each completed job of a dealer's engineer and whether its repair fee is booked now, so a later
    coverage change (``ticketing.ticket.coverage_changed``) or unit fact (R-W10) reverses or books it once
    (``ledger/repair_fees.py``); ``generation`` counts the flips (the ledger source id of each)."""

    __tablename__ = "repair_fees"
    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(64), index=True)
    serial: Mapped[str] = mapped_column(String(128), index=True)
    dealer_id: Mapped[str] = mapped_column(String(64))
    completed_at: Mapped[datetime] = mapped_column(TS)
    home_visit: Mapped[bool] = mapped_column(Boolean)
    repaired: Mapped[bool] = mapped_column(Boolean)  # False: the paid quote was declined, nothing was repaired
    coverage: Mapped[str] = mapped_column(String(32))
    fee_booked: Mapped[bool] = mapped_column(Boolean)
    generation: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(TS)


class TicketCoverage(Base):
    """Issue 15: a ticket's latest coverage decision after intake, as ticketing announced it (latest by
    ``changed_at``), so a completion that arrives after it is settled by it."""

    __tablename__ = "ticket_coverage"
    ticket_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    coverage: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(TS)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


dealers = _table(Dealer)
contracts = _table(Contract)
ledger_entries = _table(LedgerEntry)
statements = _table(Statement)
statement_lines = _table(StatementLine)
audit_log = _table(AuditEntry)
disputes = _table(Dispute)
carry_over_balances = _table(CarryOverBalance)
monthly_reports = _table(MonthlyReport)
dealer_terms = _table(DealerTermsChange)
sla_penalties = _table(SlaPenalty)
issued_assessments = _table(IssuedAssessment)
repair_records = _table(RepairRecord)
archived_records = _table(ArchivedRecord)
retention_runs = _table(RetentionRun)
unit_sales = _table(UnitSale)
repair_fees = _table(RepairFee)
ticket_coverage = _table(TicketCoverage)
