"""HTTP: statement runs, statements, their workflow, audit trail and CSV/XLSX exports (/v1/statement-runs,
/v1/statements…)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Limit
from aftersales_shared.schemas import Quarter as QuarterName

from ..access import CanMoveStatements, CanPrepareStatements, CanReadAuditTrail, CanReadSettlement, problems
from ..dealers.schemas import DealerId
from ..domain.quarters import Quarter
from ..domain.statement_lifecycle import StatementAction
from ..terms.dependencies import TermDefaults
from . import exports, service
from .schemas import AuditEntryRead, RunCreate, RunRead, StatementDetail, StatementRead, StatementStatusName

router = APIRouter(prefix="/v1", tags=["settlement: statements"])

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("/statement-runs", response_model=RunRead, responses=problems(422))
async def create_run(body: RunCreate, session: DbSession, p: CanPrepareStatements) -> service.RunResult:
    """Prepare the quarter's statements (idempotent: unchanged inputs return the same statements)."""
    return await service.run_quarter(session, quarter=Quarter.parse(body.quarter), dealer_ids=body.dealer_ids,
                                     actor=p.sub, now=clock.now())


@router.get("/statements", response_model=list[StatementRead], responses=problems(422))
async def list_statements(
    session: DbSession, p: CanReadSettlement,
    quarter: Annotated[QuarterName | None, Query()] = None,
    dealer_id: Annotated[DealerId | None, Query()] = None,
    status: Annotated[StatementStatusName | None, Query()] = None,
    include_superseded: bool = False,
    limit: Annotated[Limit, Query()] = 100,
) -> list[Any]:
    """Statements (a dealer only its own), newest quarter first."""
    return await service.list_statements(session, principal=p, quarter=quarter, dealer_id=dealer_id, status=status,
                                         include_superseded=include_superseded, limit=limit)


@router.get("/statements/{statement_id}", response_model=StatementDetail, responses=problems(404))
async def get_statement(statement_id: UUID, session: DbSession, p: CanReadSettlement) -> dict[str, Any]:
    """One statement with its lines."""
    return await service.get_statement(session, statement_id=statement_id, principal=p)


@router.get("/statements/{statement_id}/audit", response_model=list[AuditEntryRead], responses=problems())
async def statement_audit(statement_id: UUID, session: DbSession, p: CanReadAuditTrail) -> list[Any]:
    """Who prepared, reviewed, approved and paid the statement, and when."""
    return await service.audit_trail(session, statement_id=statement_id)


async def _move(session: DbSession, statement_id: UUID, action: StatementAction, p: Any,
                defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    return await service.transition(session, statement_id=statement_id, action=action, actor=p, now=clock.now(),
                                    defaults=defaults)


@router.post("/statements/{statement_id}/review", response_model=StatementRead, responses=problems(404, 409))
async def review(statement_id: UUID, session: DbSession, p: CanMoveStatements) -> dict[str, Any]:
    """draft → reviewed."""
    return await _move(session, statement_id, StatementAction.REVIEW, p)


@router.post("/statements/{statement_id}/approve", response_model=StatementRead, responses=problems(404, 409))
async def approve(statement_id: UUID, session: DbSession, p: CanMoveStatements,
                  defaults: TermDefaults) -> dict[str, Any]:
    """reviewed → approved (not by its preparer: 403 maker_checker); payment due after the dealer's payment
    term in force on the approval date (R-D5, 20 days by default)."""
    return await _move(session, statement_id, StatementAction.APPROVE, p, defaults)


@router.post("/statements/{statement_id}/pay", response_model=StatementRead, responses=problems(404, 409))
async def pay(statement_id: UUID, session: DbSession, p: CanMoveStatements) -> dict[str, Any]:
    """approved → paid."""
    return await _move(session, statement_id, StatementAction.PAY, p)


def _filename(st: dict[str, Any], ext: str) -> dict[str, str]:
    return {"Content-Disposition":
            f'attachment; filename="statement-{st["dealer_id"]}-{st["quarter"]}-r{st["revision"]}.{ext}"'}


@router.get("/statements/{statement_id}/export.csv", response_class=Response,
            responses={200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "the statement as CSV"},
                       **problems(404)})
async def export_csv(statement_id: UUID, session: DbSession, p: CanReadSettlement) -> Response:
    """The statement as CSV: header, lines, totals."""
    st = await service.get_statement(session, statement_id=statement_id, principal=p)
    return Response(exports.to_csv(st), media_type=CSV, headers=_filename(st, "csv"))


@router.get("/statements/{statement_id}/export.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the statement as an XLSX workbook"}, **problems(404)})
async def export_xlsx(statement_id: UUID, session: DbSession, p: CanReadSettlement) -> Response:
    """The statement as an XLSX workbook."""
    st = await service.get_statement(session, statement_id=statement_id, principal=p)
    return Response(exports.to_xlsx(st), media_type=XLSX, headers=_filename(st, "xlsx"))
