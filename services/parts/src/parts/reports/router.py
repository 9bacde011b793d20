"""HTTP: the reports the contracts ask parts to send (R-O1) — the monthly parts-replacement list as a JSON page
or whole as CSV/XLSX (``/v1/reports/…``; a dealer sees only its own rows); the product lines' end of sale and
the parts nearing their availability horizon (R-P8); a dealer's seasonal stock plan (R-P9)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from aftersales_shared import clock, exports
from aftersales_shared.app import DbSession, settings_of
from aftersales_shared.errors import Conflict
from aftersales_shared.exports import CSV, XLSX
from aftersales_shared.schemas import Limit, Month, Offset, Text

from .. import access
from ..access import CanEditCatalogue, CanReadBaseStock, CanReadCatalogue, CanReadPartsReports
from ..requests.schemas import Id
from . import horizon, service
from .schemas import (
    HorizonPage,
    ProductLinePut,
    ProductLineRead,
    ReplacementPage,
    SeasonalPlanRead,
)

router = APIRouter(prefix="/v1", tags=["parts: reports"])


MonthQ = Annotated[Month, Query(description="Shanghai calendar month, YYYY-MM")]
DealerQ = Annotated[str | None, Query(min_length=1, max_length=64)]
LineQ = Annotated[Text | None, Query(description="product line")]


@router.get("/reports/parts-replacements", response_model=ReplacementPage)
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


@router.get("/reports/parts-replacements.csv", response_class=Response,
            responses={200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "the list as CSV"}})
async def replacement_list_csv(session: DbSession, p: CanReadPartsReports, month: MonthQ, dealer_id: DealerQ = None,
                               product_line: LineQ = None) -> Response:
    """The monthly parts-replacement list as CSV (every row)."""
    return await _file(session, p, month, dealer_id, product_line, "csv")


@router.get("/reports/parts-replacements.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the list as an XLSX workbook"}})
async def replacement_list_xlsx(session: DbSession, p: CanReadPartsReports, month: MonthQ,
                                dealer_id: DealerQ = None, product_line: LineQ = None) -> Response:
    """The monthly parts-replacement list as an XLSX workbook (every row)."""
    return await _file(session, p, month, dealer_id, product_line, "xlsx")


# --- R-P8 availability horizon ------------------------------------------------------------------------------

LineName = Annotated[str, Path(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._:-]+$")]


@router.put("/product-lines/{product_line}", response_model=ProductLineRead)
async def put_product_line(product_line: LineName, body: ProductLinePut, session: DbSession,
                           p: CanEditCatalogue) -> dict[str, Any]:
    """Record a product line's end of sale (R-P8: its parts stay available N years after it)."""
    return await horizon.put_product_line(session, product_line=product_line, end_of_sale=body.end_of_sale,
                                          availability_years=body.availability_years, actor=p.sub, now=clock.now())


@router.get("/product-lines", response_model=list[ProductLineRead])
async def list_product_lines(session: DbSession, p: CanReadCatalogue) -> list[dict[str, Any]]:
    """Every product line with a recorded end of sale or availability term."""
    return await horizon.list_product_lines(session)


WithinQ = Annotated[int, Query(ge=0, le=240, description="months ahead (0: only horizons already passed)")]


@router.get("/reports/parts-availability", response_model=HorizonPage)
async def parts_nearing_horizon(request: Request, session: DbSession, p: CanReadPartsReports,
                                within_months: WithinQ = 24, offset: Annotated[Offset, Query()] = 0,
                                limit: Annotated[Limit, Query()] = 100) -> dict[str, Any]:
    """Parts whose availability horizon (R-P8) ends within ``within_months`` or has passed, soonest first."""
    today = clock.business_today()
    total, items = await horizon.nearing_horizon(session, settings_of(request), today=today,
                                                 within_months=within_months, offset=offset, limit=limit)
    return {"on": today, "within_months": within_months, "total": total, "offset": offset, "limit": limit,
            "items": items}


@router.get("/reports/parts-availability.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the report as an XLSX workbook"}})
async def parts_nearing_horizon_xlsx(request: Request, session: DbSession, p: CanReadPartsReports,
                                     within_months: WithinQ = 24) -> Response:
    """Parts nearing their availability horizon as an XLSX workbook (every row)."""
    _, rows = await horizon.nearing_horizon(session, settings_of(request), today=clock.business_today(),
                                            within_months=within_months)
    rows = [{**r, "product_lines": ", ".join(r["product_lines"])} for r in rows]
    return Response(exports.to_xlsx("parts availability", horizon.HORIZON_COLUMNS, rows), media_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="parts-availability.xlsx"'})


# --- R-P9 seasonal stock plan -------------------------------------------------------------------------------

@router.get("/seasonal-stock/suggestions", response_model=SeasonalPlanRead, tags=["ops"])
async def seasonal_plan(request: Request, session: DbSession, principal: CanReadBaseStock,
                        dealer_id: Annotated[Id | None, Query()] = None,
                        days: Annotated[int, Query(ge=1, le=92, description="length of the planned window")] = 30,
                        ) -> dict[str, Any]:
    """R-P9 a dealer's seasonal stock plan ``seasonal_plan_ahead_days`` ahead (its parts term) from last year's
    same-season consumption (dealers: their own)."""
    dealer = access.dealer_in_scope(principal, dealer_id, what="seasonal stock plan")
    if not dealer:
        raise Conflict("dealer_id is required", field="dealer_id", status=422)
    return await horizon.seasonal_plan(session, settings_of(request), dealer_id=dealer,
                                       today=clock.business_today(), days=days)
