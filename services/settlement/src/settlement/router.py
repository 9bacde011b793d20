"""HTTP API of the settlement service."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import text

from aftersales_shared.app import DbSession
from aftersales_shared.auth import Principal, Role, require_roles
from aftersales_shared.errors import Conflict, DomainError, NotFound, Unprocessable
from aftersales_shared.ids import new_id

from . import assessment_service, exports, workflow
from .audit import audit
from .domain.quarters import SHANGHAI, Quarter
from .ledger import record
from .runs import run_quarter
from .schemas import (
    ContractCreate,
    DealerCreate,
    DealerId,
    DisputeCreate,
    DisputeResolve,
    FindingCreate,
    MonthlyReportCreate,
    PaymentCreate,
    RunCreate,
)

router = APIRouter(tags=["settlement"])
Admin = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.ADMIN))]
Finance = Annotated[Principal, Depends(require_roles(Role.FINANCE))]
Reader = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.ADMIN, Role.OPS))]
AnyReader = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.ADMIN, Role.OPS, Role.DEALER))]
Submitter = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.ADMIN, Role.DEALER))]


def _now() -> datetime:
    return datetime.now(UTC)


def _own(p: Principal, dealer_id: str) -> None:
    if not p.has(Role.FINANCE, Role.ADMIN, Role.OPS) and p.dealer_id != dealer_id:
        raise NotFound(f"dealer {dealer_id} not found", field="dealer_id")


async def _dealer(session: DbSession, dealer_id: str) -> dict[str, Any]:
    row = (await session.execute(text("SELECT * FROM dealers WHERE id = :id"), {"id": dealer_id})).mappings().first()
    if row is None:
        raise NotFound(f"dealer {dealer_id} not found", field="dealer_id")
    return dict(row)


# ---- dealers and contracts ---------------------------------------------------------------------

@router.post("/dealers", status_code=201)
async def create_dealer(body: DealerCreate, session: DbSession, p: Admin) -> dict[str, Any]:
    row = (await session.execute(text(
        "INSERT INTO dealers (id, name, territories) VALUES (:id, :n, CAST(:t AS varchar[])) "
        "ON CONFLICT (id) DO NOTHING RETURNING *"), {"id": body.id, "n": body.name, "t": body.territories}
    )).mappings().first()
    if row is None:
        raise Conflict(f"dealer {body.id} already exists", field="id", code="dealer_exists")
    await audit(session, actor=p.sub, action="dealer_created", entity_type="dealer", entity_id=body.id)
    return dict(row)


@router.get("/dealers")
async def list_dealers(session: DbSession, p: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                       after: Annotated[str | None, Query(max_length=64)] = None) -> list[dict[str, Any]]:
    rows = await session.execute(text(
        "SELECT * FROM dealers WHERE (CAST(:a AS text) IS NULL OR id > CAST(:a AS text)) ORDER BY id LIMIT :l"),
        {"a": after, "l": limit})
    return [dict(r) for r in rows.mappings()]


@router.get("/dealers/{dealer_id}")
async def get_dealer(dealer_id: DealerId, session: DbSession, p: AnyReader) -> dict[str, Any]:
    _own(p, dealer_id)
    return await _dealer(session, dealer_id)


@router.post("/dealers/{dealer_id}/contracts", status_code=201)
async def create_contract(dealer_id: DealerId, body: ContractCreate, session: DbSession, p: Admin) -> dict[str, Any]:
    await _dealer(session, dealer_id)
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('settlement-contract:' || :d))"),
                          {"d": dealer_id})
    params = body.parameters.model_dump(mode="json", exclude_none=True)
    row = (await session.execute(text(
        "INSERT INTO contracts (id, dealer_id, version, effective_from, effective_to, fee_model, parameters, "
        "created_by) SELECT :id, CAST(:d AS text), coalesce(max(version), 0) + 1, :f, :t, :m, CAST(:p AS jsonb), :by "
        "FROM contracts WHERE dealer_id = CAST(:d AS text) RETURNING *"),
        {"id": new_id(), "d": dealer_id, "f": body.effective_from, "t": body.effective_to, "m": body.fee_model,
         "p": json.dumps(params), "by": p.sub})).mappings().one()
    await audit(session, actor=p.sub, action="contract_created", entity_type="contract", entity_id=str(row["id"]),
                details={"dealer_id": dealer_id, "version": row["version"], "fee_model": body.fee_model,
                         "parameters": params})
    return dict(row)


@router.get("/dealers/{dealer_id}/contracts")
async def list_contracts(dealer_id: DealerId, session: DbSession, p: AnyReader) -> list[dict[str, Any]]:
    _own(p, dealer_id)
    rows = await session.execute(text("SELECT * FROM contracts WHERE dealer_id = :d ORDER BY version"),
                                 {"d": dealer_id})
    return [dict(r) for r in rows.mappings()]


# ---- ledger inputs -----------------------------------------------------------------------------

def _day_instant(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), SHANGHAI).astimezone(UTC)


async def _payment(session: DbSession, p: Principal, dealer_id: str, body: PaymentCreate) -> bool:
    return await record(session, dealer_id=dealer_id, kind="payment", occurred_at=_day_instant(body.received_on),
                        source_type="payment", source_id=body.document_no, amount=body.amount,
                        details={"recorded_by": p.sub})


@router.post("/dealers/{dealer_id}/payments", status_code=201)
async def add_payment(dealer_id: DealerId, body: PaymentCreate, session: DbSession, p: Admin) -> dict[str, Any]:
    await _dealer(session, dealer_id)
    if not await _payment(session, p, dealer_id, body):
        raise Conflict(f"payment document {body.document_no} was already recorded", field="document_no",
                       code="duplicate_payment")
    await audit(session, actor=p.sub, action="payment_recorded", entity_type="dealer", entity_id=dealer_id,
                details=body.model_dump(mode="json"))
    return {"dealer_id": dealer_id, **body.model_dump(mode="json")}


@router.post("/payments/import", openapi_extra={
    "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}})
async def import_payments(request: Request, session: DbSession, p: Admin) -> dict[str, Any]:
    """CSV with header dealer_id,document_no,amount,received_on; all rows valid or nothing is imported."""
    raw = await request.body()
    if len(raw) > 5_000_000:
        raise Unprocessable("CSV larger than 5 MB", field="body")
    try:
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise Unprocessable(f"unreadable CSV: {exc}", field="body") from exc
    need = {"dealer_id", "document_no", "amount", "received_on"}
    if not reader.fieldnames or not need.issubset(reader.fieldnames):
        raise Unprocessable(f"CSV header must contain {', '.join(sorted(need))}", field="body")
    errors, parsed = [], []
    known = {r[0] for r in await session.execute(text("SELECT id FROM dealers WHERE id = ANY(CAST(:i AS text[]))"),
                                                 {"i": list({r["dealer_id"] for r in rows})})}
    for n, r in enumerate(rows, start=2):
        try:
            if r["dealer_id"] not in known:
                raise ValueError(f"unknown dealer {r['dealer_id']!r}")
            body = PaymentCreate(document_no=r["document_no"], amount=Decimal(r["amount"]),
                                 received_on=date.fromisoformat(r["received_on"]))
            parsed.append((r["dealer_id"], body))
        except (ValueError, InvalidOperation, TypeError) as exc:
            errors.append({"field": f"row {n}", "reason": str(exc).splitlines()[0][:200]})
    if errors:
        raise DomainError(f"{len(errors)} invalid row(s); nothing imported", field="body", code="invalid_csv",
                          status=422, extra={"row_errors": errors})
    imported = 0
    for dealer_id, body in parsed:
        imported += await _payment(session, p, dealer_id, body)
    await audit(session, actor=p.sub, action="payments_imported", entity_type="import", entity_id=str(new_id()),
                details={"rows": len(parsed), "imported": imported})
    return {"rows": len(parsed), "imported": imported, "duplicates": len(parsed) - imported}


@router.post("/dealers/{dealer_id}/monthly-reports", status_code=201)
async def submit_monthly_report(dealer_id: DealerId, body: MonthlyReportCreate, session: DbSession,
                                p: Submitter) -> dict[str, Any]:
    if p.has(Role.DEALER) and not p.has(Role.FINANCE, Role.ADMIN) and p.dealer_id != dealer_id:
        raise NotFound(f"dealer {dealer_id} not found", field="dealer_id")
    await _dealer(session, dealer_id)
    month = date.fromisoformat(body.month + "-01")
    await session.execute(text(
        "INSERT INTO monthly_reports (dealer_id, month, records, quality_feedback, submitted_at, submitted_by) "
        "VALUES (:d, :m, :r, :q, :now, :by) ON CONFLICT (dealer_id, month) DO UPDATE SET records = EXCLUDED.records, "
        "quality_feedback = EXCLUDED.quality_feedback, submitted_at = EXCLUDED.submitted_at, "
        "submitted_by = EXCLUDED.submitted_by"),
        {"d": dealer_id, "m": month, "r": body.records, "q": body.quality_feedback, "now": _now(), "by": p.sub})
    await audit(session, actor=p.sub, action="monthly_report_submitted", entity_type="dealer", entity_id=dealer_id,
                details=body.model_dump())
    return {"dealer_id": dealer_id, **body.model_dump()}


FINDING_KINDS = {"incomplete_record": "void_finding", "falsified_record": "falsified_finding",
                 "falsified_cards": "falsified_cards", "breach": "breach", "return_cost": "return_cost"}


@router.post("/dealers/{dealer_id}/findings", status_code=201)
async def add_finding(dealer_id: DealerId, body: FindingCreate, session: DbSession, p: Admin) -> dict[str, Any]:
    await _dealer(session, dealer_id)
    if body.kind in ("incomplete_record", "falsified_record", "return_cost") and body.value <= 0:
        raise Unprocessable(f"a {body.kind} finding needs the record's value", field="value")
    ok = await record(session, dealer_id=dealer_id, kind=FINDING_KINDS[body.kind], occurred_at=body.occurred_at,
                      source_type=f"finding:{body.kind}", source_id=body.reference, amount=body.value,
                      details={"note": body.note, "by": p.sub})
    if not ok:
        raise Conflict(f"{body.kind} for {body.reference} was already recorded", field="reference",
                       code="duplicate_finding")
    await audit(session, actor=p.sub, action="finding_recorded", entity_type="dealer", entity_id=dealer_id,
                details=body.model_dump(mode="json"))
    return {"dealer_id": dealer_id, **body.model_dump(mode="json")}


@router.get("/dealers/{dealer_id}/ledger")
async def list_ledger(dealer_id: DealerId, session: DbSession, p: AnyReader,
                      quarter: Annotated[str, Query(pattern=r"^\d{4}Q[1-4]$")],
                      limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    _own(p, dealer_id)
    rows = await session.execute(text(
        "SELECT id, kind, amount, quantity, occurred_at, quarter, booked_quarter, source_type, source_id "
        "FROM ledger_entries WHERE dealer_id = :d AND booked_quarter = :q ORDER BY id LIMIT :l"),
        {"d": dealer_id, "q": quarter, "l": limit})
    return [dict(r) for r in rows.mappings()]


# ---- assessment --------------------------------------------------------------------------------

@router.get("/dealers/{dealer_id}/assessments/{month}")
async def monthly_assessment(dealer_id: DealerId, session: DbSession, p: AnyReader,
                             month: Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]) -> dict[str, Any]:
    _own(p, dealer_id)
    try:
        day = date.fromisoformat(month + "-01")
    except ValueError as exc:
        raise Unprocessable("month must be YYYY-MM", field="month") from exc
    await _dealer(session, dealer_id)
    return await assessment_service.monthly(session, dealer_id, day)


@router.get("/dealers/{dealer_id}/excellence/{year}")
async def yearly_excellence(dealer_id: DealerId, session: DbSession, p: AnyReader,
                            year: Annotated[int, Path(ge=2000, le=2200)]) -> dict[str, Any]:
    _own(p, dealer_id)
    if not 2000 <= year <= 2200:
        raise Unprocessable("year out of range", field="year")
    await _dealer(session, dealer_id)
    return await assessment_service.yearly(session, dealer_id, year)


# ---- statements --------------------------------------------------------------------------------

@router.post("/statement-runs")
async def create_run(body: RunCreate, session: DbSession, p: Finance) -> dict[str, Any]:
    """Prepare the quarter's statements (idempotent: unchanged inputs return the same statements)."""
    res = await run_quarter(session, quarter=Quarter.parse(body.quarter), dealer_ids=body.dealer_ids, actor=p.sub,
                            now=_now())
    return {"quarter": res.quarter, "created": res.created, "unchanged": res.unchanged, "closed": res.closed}


@router.get("/statements")
async def list_statements(
    session: DbSession, p: AnyReader,
    quarter: Annotated[str | None, Query(pattern=r"^\d{4}Q[1-4]$")] = None,
    dealer_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Literal["draft", "reviewed", "approved", "paid"] | None, Query()] = None,
    include_superseded: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    if not p.has(Role.FINANCE, Role.ADMIN, Role.OPS):
        dealer_id = p.dealer_id or "\x00"
    rows = await session.execute(text(
        "SELECT * FROM statements WHERE (CAST(:q AS text) IS NULL OR quarter = CAST(:q AS text)) "
        "AND (CAST(:d AS text) IS NULL OR dealer_id = CAST(:d AS text)) AND (CAST(:s AS text) IS NULL OR status = CAST(:s AS text)) "
        "AND (:sup OR NOT superseded) ORDER BY quarter DESC, dealer_id, revision DESC LIMIT :l"),
        {"q": quarter, "d": dealer_id, "s": status, "sup": include_superseded, "l": limit})
    return [dict(r) for r in rows.mappings()]


@router.get("/statements/{statement_id}")
async def get_statement(statement_id: UUID, session: DbSession, p: AnyReader) -> dict[str, Any]:
    return await workflow.get_statement(session, statement_id, p)


@router.get("/statements/{statement_id}/audit")
async def statement_audit(statement_id: UUID, session: DbSession, p: Reader) -> list[dict[str, Any]]:
    rows = await session.execute(text(
        "SELECT at, actor, action, details FROM audit_log WHERE entity_type = 'statement' AND entity_id = :id "
        "ORDER BY id"), {"id": str(statement_id)})
    return [dict(r) for r in rows.mappings()]


@router.post("/statements/{statement_id}/review")
async def review(statement_id: UUID, session: DbSession, p: Finance) -> dict[str, Any]:
    return await workflow.transition(session, statement_id=statement_id, action="review", actor=p, now=_now())


@router.post("/statements/{statement_id}/approve")
async def approve(statement_id: UUID, session: DbSession, p: Finance) -> dict[str, Any]:
    return await workflow.transition(session, statement_id=statement_id, action="approve", actor=p, now=_now())


@router.post("/statements/{statement_id}/pay")
async def pay(statement_id: UUID, session: DbSession, p: Finance) -> dict[str, Any]:
    return await workflow.transition(session, statement_id=statement_id, action="pay", actor=p, now=_now())


@router.get("/statements/{statement_id}/export.csv")
async def export_csv(statement_id: UUID, session: DbSession, p: AnyReader) -> Response:
    st = await workflow.get_statement(session, statement_id, p)
    return Response(exports.to_csv(st), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="statement-{st["dealer_id"]}-{st["quarter"]}-r{st["revision"]}.csv"'})


@router.get("/statements/{statement_id}/export.xlsx")
async def export_xlsx(statement_id: UUID, session: DbSession, p: AnyReader) -> Response:
    st = await workflow.get_statement(session, statement_id, p)
    return Response(exports.to_xlsx(st),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition":
                             f'attachment; filename="statement-{st["dealer_id"]}-{st["quarter"]}-r{st["revision"]}.xlsx"'})


# ---- disputes ----------------------------------------------------------------------------------

@router.post("/statements/{statement_id}/disputes", status_code=201)
async def open_dispute(statement_id: UUID, body: DisputeCreate, session: DbSession,
                       p: Annotated[Principal, Depends(require_roles(Role.DEALER))]) -> dict[str, Any]:
    return await workflow.open_dispute(session, statement_id=statement_id, actor=p, reason=body.reason,
                                       line_no=body.line_no, claimed_amount=body.claimed_amount, now=_now())


@router.post("/disputes/{dispute_id}/resolve")
async def resolve_dispute(dispute_id: UUID, body: DisputeResolve, session: DbSession, p: Finance) -> dict[str, Any]:
    return await workflow.resolve_dispute(session, dispute_id=dispute_id, actor=p, accept=body.accept,
                                          adjustment=body.adjustment, note=body.note, now=_now())


@router.get("/disputes")
async def list_disputes(session: DbSession, p: AnyReader,
                        status: Annotated[Literal["open", "accepted", "rejected"] | None, Query()] = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    dealer = None if p.has(Role.FINANCE, Role.ADMIN, Role.OPS) else (p.dealer_id or "\x00")
    rows = await session.execute(text(
        "SELECT * FROM disputes WHERE (CAST(:d AS text) IS NULL OR dealer_id = CAST(:d AS text)) "
        "AND (CAST(:s AS text) IS NULL OR status = CAST(:s AS text)) ORDER BY opened_at DESC LIMIT :l"),
        {"d": dealer, "s": status, "l": limit})
    return [dict(r) for r in rows.mappings()]
