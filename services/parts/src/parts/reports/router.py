"""HTTP: the reports the contracts ask parts to send (R-O1) — the monthly parts-replacement list as a JSON page
or whole as CSV/XLSX (``/v1/reports/…``; a dealer sees only its own rows)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Limit, Month, Offset, Text

from ..access import CanReadPartsReports
from . import exports, service
from .schemas import ReplacementPage

router = APIRouter(prefix="/v1/reports", tags=["parts: reports"])

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

MonthQ = Annotated[Month, Query(description="Shanghai calendar month, YYYY-MM")]
DealerQ = Annotated[str | None, Query(min_length=1, max_length=64)]
LineQ = Annotated[Text | None, Query(description="product line")]


@router.get("/parts-replacements", response_model=ReplacementPage)
async def replacement_list(session: DbSession, p: CanReadPartsReports, month: MonthQ, dealer_id: DealerQ = None,
                           product_line: LineQ = None, offset: Annotated[Offset, Query()] = 0,
                           limit: Annotated[Limit, Query()] = 100) -> dict[str, Any]:
    """The monthly parts-replacement list (R-O1): every part a completed job used in the month."""
    total, items = await service.replacements(session, principal=p, month=service.month_of(month),
                                              dealer_id=dealer_id, product_line=product_line, offset=offset,
                                              limit=limit)
    return {"month": month, "total": total, "offset": offset, "limit": limit, "items": items}


async def _file(session: DbSession, p: Any, month: str, dealer_id: str | None, product_line: str | None,
                fmt: str) -> Response:
    _, rows = await service.replacements(session, principal=p, month=service.month_of(month), dealer_id=dealer_id,
                                         product_line=product_line)
    body: str | bytes = (exports.to_csv(service.COLUMNS, rows) if fmt == "csv"
                         else exports.to_xlsx(f"parts {month}", service.COLUMNS, rows))
    return Response(body, media_type=CSV if fmt == "csv" else XLSX,
                    headers={"Content-Disposition": f'attachment; filename="parts-replacements-{month}.{fmt}"'})


@router.get("/parts-replacements.csv", response_class=Response,
            responses={200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "the list as CSV"}})
async def replacement_list_csv(session: DbSession, p: CanReadPartsReports, month: MonthQ, dealer_id: DealerQ = None,
                               product_line: LineQ = None) -> Response:
    """The monthly parts-replacement list as CSV (every row)."""
    return await _file(session, p, month, dealer_id, product_line, "csv")


@router.get("/parts-replacements.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the list as an XLSX workbook"}})
async def replacement_list_xlsx(session: DbSession, p: CanReadPartsReports, month: MonthQ,
                                dealer_id: DealerQ = None, product_line: LineQ = None) -> Response:
    """The monthly parts-replacement list as an XLSX workbook (every row)."""
    return await _file(session, p, month, dealer_id, product_line, "xlsx")
