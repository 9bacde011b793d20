"""HTTP: the reports the contracts ask to be sent (R-O1, R-T5) — the monthly repair report, quality-feedback
statistics and the callback and complaint rates per dealer, each as a JSON page or whole as CSV/XLSX
(/v1/reports/…; a dealer sees only its own rows)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Limit, Month, Offset, Text

from ..access import CanReadSettlement, problems
from ..dealers.schemas import DealerId
from ..terms.dependencies import TermDefaults
from . import exports, service
from .schemas import QualityPage, RatePage, RepairPage

router = APIRouter(prefix="/v1/reports", tags=["settlement: reports"])

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CSV_DOC = {200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "the report as CSV"},
            **problems(422)}
_XLSX_DOC = {200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
                   "description": "the report as an XLSX workbook"}, **problems(422)}

MonthQ = Annotated[Month, Query(description="Shanghai calendar month, YYYY-MM")]
DealerQ = Annotated[DealerId | None, Query()]
LineQ = Annotated[Text | None, Query(description="product line")]
OffsetQ = Annotated[Offset, Query()]
LimitQ = Annotated[Limit, Query()]


def _file(name: str, month: str, fmt: str, columns: Sequence[str], rows: list[dict[str, Any]]) -> Response:
    body: str | bytes = exports.to_csv(columns, rows) if fmt == "csv" else exports.to_xlsx(f"{name} {month}",
                                                                                        columns, rows)
    return Response(body, media_type=CSV if fmt == "csv" else XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}-{month}.{fmt}"'})


@router.get("/repairs", response_model=RepairPage, responses=problems(422))
async def repair_report(session: DbSession, p: CanReadSettlement, month: MonthQ, dealer_id: DealerQ = None,
                        product_line: LineQ = None, offset: OffsetQ = 0, limit: LimitQ = 100) -> dict[str, Any]:
    """The monthly repair report (R-O1): every job a dealer's engineer completed in the month."""
    total, items = await service.repairs(session, principal=p, month=service.month_of(month), dealer_id=dealer_id,
                                         product_line=product_line, offset=offset, limit=limit)
    return {"month": month, "total": total, "offset": offset, "limit": limit, "items": items}


async def _repairs_file(session: DbSession, p: CanReadSettlement, month: str, dealer_id: str | None,
                        product_line: str | None, fmt: str) -> Response:
    _, rows = await service.repairs(session, principal=p, month=service.month_of(month), dealer_id=dealer_id,
                                    product_line=product_line)
    return _file("repairs", month, fmt, exports.REPAIR_COLUMNS, rows)


@router.get("/repairs.csv", response_class=Response, responses=_CSV_DOC)
async def repair_report_csv(session: DbSession, p: CanReadSettlement, month: MonthQ, dealer_id: DealerQ = None,
                            product_line: LineQ = None) -> Response:
    """The monthly repair report as CSV (every row)."""
    return await _repairs_file(session, p, month, dealer_id, product_line, "csv")


@router.get("/repairs.xlsx", response_class=Response, responses=_XLSX_DOC)
async def repair_report_xlsx(session: DbSession, p: CanReadSettlement, month: MonthQ, dealer_id: DealerQ = None,
                             product_line: LineQ = None) -> Response:
    """The monthly repair report as an XLSX workbook (every row)."""
    return await _repairs_file(session, p, month, dealer_id, product_line, "xlsx")


@router.get("/quality-feedback", response_model=QualityPage, responses=problems(422))
async def quality_report(session: DbSession, p: CanReadSettlement, month: MonthQ, dealer_id: DealerQ = None,
                         product_line: LineQ = None, offset: OffsetQ = 0, limit: LimitQ = 100) -> dict[str, Any]:
    """Quality-feedback statistics (R-O1): the month's failures by product line × part × root cause."""
    total, items = await service.quality(session, principal=p, month=service.month_of(month), dealer_id=dealer_id,
                                         product_line=product_line, offset=offset, limit=limit)
    return {"month": month, "total": total, "offset": offset, "limit": limit, "items": items}


async def _quality_file(session: DbSession, p: CanReadSettlement, month: str, dealer_id: str | None,
                        product_line: str | None, fmt: str) -> Response:
    _, rows = await service.quality(session, principal=p, month=service.month_of(month), dealer_id=dealer_id,
                                    product_line=product_line)
    return _file("quality-feedback", month, fmt, exports.QUALITY_COLUMNS, rows)


@router.get("/quality-feedback.csv", response_class=Response, responses=_CSV_DOC)
async def quality_report_csv(session: DbSession, p: CanReadSettlement, month: MonthQ, dealer_id: DealerQ = None,
                             product_line: LineQ = None) -> Response:
    """Quality-feedback statistics as CSV."""
    return await _quality_file(session, p, month, dealer_id, product_line, "csv")


@router.get("/quality-feedback.xlsx", response_class=Response, responses=_XLSX_DOC)
async def quality_report_xlsx(session: DbSession, p: CanReadSettlement, month: MonthQ, dealer_id: DealerQ = None,
                              product_line: LineQ = None) -> Response:
    """Quality-feedback statistics as an XLSX workbook."""
    return await _quality_file(session, p, month, dealer_id, product_line, "xlsx")


@router.get("/dealer-rates", response_model=RatePage, responses=problems(422))
async def rate_report(session: DbSession, p: CanReadSettlement, defaults: TermDefaults, month: MonthQ,
                      dealer_id: DealerQ = None, product_line: LineQ = None, offset: OffsetQ = 0,
                      limit: LimitQ = 100) -> dict[str, Any]:
    """Callback and complaint rates per dealer in the month (R-T5, R-D7); with ``product_line``, only the repairs,
    callbacks, upheld complaints and registered sales of that line count (a callback's or complaint's line is its
    ticket's, known from the ticket's service record)."""
    total, items = await service.rates(session, principal=p, month=service.month_of(month), dealer_id=dealer_id,
                                       product_line=product_line, offset=offset, limit=limit, defaults=defaults)
    return {"month": month, "total": total, "offset": offset, "limit": limit, "items": items}


async def _rates_file(session: DbSession, p: CanReadSettlement, defaults: dict[str, Any], month: str,
                      dealer_id: str | None, product_line: str | None, fmt: str) -> Response:
    _, rows = await service.rates(session, principal=p, month=service.month_of(month), dealer_id=dealer_id,
                                  product_line=product_line, defaults=defaults)
    return _file("dealer-rates", month, fmt, exports.RATE_COLUMNS, rows)


@router.get("/dealer-rates.csv", response_class=Response, responses=_CSV_DOC)
async def rate_report_csv(session: DbSession, p: CanReadSettlement, defaults: TermDefaults, month: MonthQ,
                          dealer_id: DealerQ = None, product_line: LineQ = None) -> Response:
    """Callback and complaint rates per dealer as CSV (filters as the JSON page)."""
    return await _rates_file(session, p, defaults, month, dealer_id, product_line, "csv")


@router.get("/dealer-rates.xlsx", response_class=Response, responses=_XLSX_DOC)
async def rate_report_xlsx(session: DbSession, p: CanReadSettlement, defaults: TermDefaults, month: MonthQ,
                           dealer_id: DealerQ = None, product_line: LineQ = None) -> Response:
    """Callback and complaint rates per dealer as an XLSX workbook (filters as the JSON page)."""
    return await _rates_file(session, p, defaults, month, dealer_id, product_line, "xlsx")
