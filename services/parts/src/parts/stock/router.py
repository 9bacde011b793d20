"""HTTP of warehouses, stock movements, reorder points, low stock and base stock (``/v1``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from aftersales_shared import clock
from aftersales_shared.app import DbSession, settings_of
from aftersales_shared.errors import Conflict
from aftersales_shared.idempotency import IdempotencyKey
from aftersales_shared.schemas import Limit

from .. import access
from ..access import CanManageWarehouses, CanMoveStock, CanReadBaseStock, CanReadStock, CanWatchStockAndCommitments
from ..wire import idempotent
from . import service
from .schemas import (
    Adjustment,
    AdjustmentRead,
    BaseStockRead,
    Id,
    LowStockRead,
    Receipt,
    ReceiptRead,
    ReorderPoint,
    ReorderPointRead,
    StockLineRead,
    Transfer,
    TransferRead,
    WarehouseCreate,
    WarehouseRead,
)

router = APIRouter(prefix="/v1", tags=["stock"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Warehouse not found (or not visible to the caller)"},
    409: {"description": "Not enough stock, duplicate code, or Idempotency-Key reused with another body"},
    422: {"description": "Invalid body, unknown part or warehouse id"},
}


@router.post("/warehouses", status_code=201, response_model=WarehouseRead, responses=_ERRORS)
async def create_warehouse(body: WarehouseCreate, session: DbSession, _p: CanManageWarehouses) -> dict[str, Any]:
    """Register a warehouse (central, regional, dealer depot, engineer van)."""
    return await service.create_warehouse(session, body, now=clock.now())


@router.get("/warehouses", response_model=list[WarehouseRead])
async def list_warehouses(session: DbSession, principal: CanReadStock) -> list[dict[str, Any]]:
    """Warehouses the caller may see (dealers: own depots; engineers: own van)."""
    return await service.list_warehouses(session, principal)


@router.get("/warehouses/{warehouse_id}/stock", response_model=list[StockLineRead], responses=_ERRORS)
async def warehouse_stock(warehouse_id: uuid.UUID, session: DbSession,
                          principal: CanReadStock) -> list[dict[str, Any]]:
    """On-hand, reserved and available per part in one warehouse."""
    return await service.warehouse_stock(session, principal, str(warehouse_id))


@router.post("/stock/receipts", status_code=201, response_model=ReceiptRead, responses=_ERRORS)
async def receive_stock(body: Receipt, request: Request, session: DbSession, principal: CanMoveStock,
                        key: IdempotencyKey = None) -> JSONResponse:
    """Goods received into a warehouse; backorders of the part are then filled in ship-by order."""
    async def run() -> dict[str, Any]:
        return await service.receive(session, settings_of(request), body, actor=principal.sub, now=clock.now())
    return await idempotent(session, principal, key, body, 201, run)


@router.post("/stock/transfers", status_code=201, response_model=TransferRead, responses=_ERRORS)
async def transfer_stock(body: Transfer, request: Request, session: DbSession, principal: CanMoveStock,
                         key: IdempotencyKey = None) -> JSONResponse:
    """Move stock between warehouses (out + in movements in one transaction); re-runs allocation."""
    async def run() -> dict[str, Any]:
        return await service.transfer(session, settings_of(request), body, actor=principal.sub, now=clock.now())
    return await idempotent(session, principal, key, body, 201, run)


@router.post("/stock/adjustments", status_code=201, response_model=AdjustmentRead, responses=_ERRORS)
async def adjust_stock(body: Adjustment, request: Request, session: DbSession, principal: CanMoveStock,
                       key: IdempotencyKey = None) -> JSONResponse:
    """A counted correction (with reason) or a scrap; never below what is reserved."""
    async def run() -> dict[str, Any]:
        return await service.adjust(session, settings_of(request), body, actor=principal.sub, now=clock.now())
    return await idempotent(session, principal, key, body, 201, run)


@router.put("/stock/reorder-points", response_model=ReorderPointRead, responses=_ERRORS)
async def put_reorder_point(body: ReorderPoint, session: DbSession, _p: CanMoveStock) -> dict[str, Any]:
    """Set a warehouse's reorder point for a part (low-stock alert threshold)."""
    return await service.set_reorder_point(session, body, now=clock.now())


@router.get("/stock/low", response_model=list[LowStockRead])
async def low_stock(session: DbSession, _p: CanWatchStockAndCommitments,
                    limit: Annotated[Limit, Query()] = 200) -> list[dict[str, Any]]:
    """Balances below their reorder point."""
    return await service.low_stock(session, limit=limit)


@router.get("/base-stock/suggestions", response_model=list[BaseStockRead], tags=["ops"])
async def base_stock(request: Request, session: DbSession, principal: CanReadBaseStock,
                     dealer_id: Annotated[Id | None, Query()] = None
                     ) -> list[dict[str, Any]]:
    """R-P5 base stock per compatible part from the dealer's recent registered sales (dealers: their own)."""
    dealer = access.dealer_in_scope(principal, dealer_id, what="base stock")
    if not dealer:
        raise Conflict("dealer_id is required", field="dealer_id", status=422)
    return await service.base_stock(session, settings_of(request), dealer, clock.business_today())
