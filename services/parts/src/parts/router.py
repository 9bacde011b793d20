"""HTTP API of the parts service; every endpoint declares its roles."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from aftersales_shared.app import DbSession, settings_of
from aftersales_shared.auth import Principal, Role, require_roles
from aftersales_shared.errors import Conflict, Forbidden, NotFound

from . import allocate, budget, job_engineers, ops, stock
from . import requests_service as svc
from .config import PartsSettings
from .domain.budget import QUARTER_PATTERN
from .domain.stock import Movement
from .wire import body_hash, out
from .schemas import (
    Adjustment, Document, PartCreate, PartsBudgetPut, Payment, Receipt, ReorderPoint, RequestCreate, ReturnReceipt,
    Shipment, Transfer, WarehouseCreate,
)

router = APIRouter()
R = Role
CLERK = require_roles(R.PARTS_CLERK, R.ADMIN)
READ_ALL = require_roles(R.PARTS_CLERK, R.ADMIN, R.OPS, R.DEALER, R.ENGINEER, R.FINANCE, R.DISPATCHER,
                         R.CALL_CENTER)
STOCK_READ = require_roles(R.PARTS_CLERK, R.ADMIN, R.OPS, R.DEALER, R.ENGINEER)
REQUESTERS = require_roles(R.ENGINEER, R.DEALER, R.PARTS_CLERK, R.ADMIN)
REQ_READ = require_roles(R.ENGINEER, R.DEALER, R.PARTS_CLERK, R.ADMIN, R.OPS, R.FINANCE)
PAY = require_roles(R.FINANCE, R.PARTS_CLERK, R.ADMIN)
OPS = require_roles(R.OPS, R.PARTS_CLERK, R.ADMIN)
BASE = require_roles(R.OPS, R.PARTS_CLERK, R.ADMIN, R.DEALER)
BUDGET_SET = require_roles(R.FINANCE, R.ADMIN)
BUDGET_READ = require_roles(R.FINANCE, R.ADMIN, R.PARTS_CLERK, R.OPS, R.DEALER)

DealerId = Annotated[str, Path(min_length=1, max_length=64)]
QuarterPath = Annotated[str, Path(pattern=QUARTER_PATTERN, description="calendar quarter, e.g. 2026Q4")]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=100)]


def _now() -> datetime:
    return datetime.now(UTC)


def _settings(request: Request) -> PartsSettings:
    return settings_of(request)


async def _idempotent(session, principal: Principal, key: str | None, body: Any, status: int, run) -> JSONResponse:
    """Run ``run`` once per (caller, key); a replay returns the stored response, a different body is a 409."""
    if key is None:
        return JSONResponse(out(await run()), status_code=status)
    digest = body_hash(body)
    # The primary key makes a concurrent duplicate wait here until the first transaction commits.
    inserted = (await session.execute(sa.text(
        "INSERT INTO idempotency_keys (principal, key, request_hash, created_at) VALUES (:p, :k, :h, :now) "
        "ON CONFLICT DO NOTHING RETURNING key"), {"p": principal.sub, "k": key, "h": digest, "now": _now()})).first()
    if inserted is None:
        row = (await session.execute(sa.text(
            "SELECT request_hash, status_code, response FROM idempotency_keys WHERE principal = :p AND key = :k"),
            {"p": principal.sub, "k": key})).mappings().one()
        if row["request_hash"] != digest:
            raise Conflict("Idempotency-Key was used with a different body", field="Idempotency-Key",
                           code="idempotency_key_reused")
        return JSONResponse(row["response"], status_code=row["status_code"], headers={"Idempotent-Replay": "true"})
    result = out(await run())
    await session.execute(sa.text(
        "UPDATE idempotency_keys SET status_code = :s, response = CAST(:r AS jsonb) WHERE principal = :p AND key = :k"),
        {"s": status, "r": json.dumps(result), "p": principal.sub, "k": key})
    return JSONResponse(result, status_code=status)


# --- catalogue ---------------------------------------------------------------------------------
@router.post("/catalogue/parts", status_code=201, tags=["catalogue"])
async def create_part(body: PartCreate, session: DbSession, principal: Annotated[Principal, Depends(CLERK)]):
    """Add a part to the catalogue."""
    if (await session.execute(sa.text("SELECT 1 FROM catalogue_parts WHERE part_no = :p"),
                              {"p": body.part_no})).first():
        raise Conflict(f"part {body.part_no} already exists", field="part_no", code="duplicate_part")
    await session.execute(sa.text(
        "INSERT INTO catalogue_parts (part_no, name, product_lines, cost_price, list_price, serialised, must_return, "
        "parts_warranty_months, created_at) VALUES (:part_no, :name, :product_lines, :cost_price, :list_price, "
        ":serialised, :must_return, :parts_warranty_months, :now)"), {**body.model_dump(), "now": _now()})
    return out(body.model_dump())


@router.get("/catalogue/parts", tags=["catalogue"])
async def list_parts(session: DbSession, _p: Annotated[Principal, Depends(READ_ALL)],
                     product_line: Annotated[str | None, Query(max_length=60)] = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0)] = 0):
    """Catalogue, optionally for one product line."""
    rows = (await session.execute(sa.text(
        "SELECT part_no, name, product_lines, cost_price, list_price, serialised, must_return, parts_warranty_months "
        "FROM catalogue_parts WHERE (CAST(:pl AS text) IS NULL OR :pl = ANY(product_lines)) ORDER BY part_no "
        "LIMIT :l OFFSET :o"), {"pl": product_line, "l": limit, "o": offset})).mappings().all()
    return out([dict(r) for r in rows])


@router.get("/catalogue/parts/{part_no}", tags=["catalogue"])
async def get_part(part_no: str, session: DbSession, _p: Annotated[Principal, Depends(READ_ALL)]):
    """One part."""
    row = await stock.part(session, part_no)
    row.pop("created_at", None)
    return out(row)


# --- warehouses and stock ----------------------------------------------------------------------
def _wh_visible(principal: Principal, w: dict[str, Any]) -> bool:
    if principal.has(R.PARTS_CLERK, R.ADMIN, R.OPS):
        return True
    if principal.has(R.DEALER) and w["kind"] == "dealer_depot" and w["dealer_id"] == principal.dealer_id:
        return True
    return bool(principal.has(R.ENGINEER) and w["kind"] == "engineer_van" and principal.engineer_id
                and w["engineer_id"] == principal.engineer_id)


@router.post("/warehouses", status_code=201, tags=["stock"])
async def create_warehouse(body: WarehouseCreate, session: DbSession,
                           _p: Annotated[Principal, Depends(CLERK)]):
    """Register a warehouse (central, regional, dealer depot, engineer van)."""
    if body.kind == "dealer_depot" and not body.dealer_id:
        raise Conflict("a dealer depot names its dealer", field="dealer_id", code="owner_required", status=422)
    if body.kind == "engineer_van" and not body.engineer_id:
        raise Conflict("an engineer van names its engineer", field="engineer_id", code="owner_required", status=422)
    if (await session.execute(sa.text("SELECT 1 FROM warehouses WHERE code = :c"), {"c": body.code})).first():
        raise Conflict(f"warehouse code {body.code} exists", field="code", code="duplicate_warehouse")
    wid = str(uuid.uuid4())
    await session.execute(sa.text(
        "INSERT INTO warehouses (id, code, name, kind, lat, lon, dealer_id, engineer_id, created_at) VALUES "
        "(:id, :code, :name, :kind, :lat, :lon, :dealer_id, :engineer_id, :now)"),
        {**body.model_dump(), "id": wid, "now": _now()})
    return {"id": wid, **body.model_dump()}


@router.get("/warehouses", tags=["stock"])
async def list_warehouses(session: DbSession, principal: Annotated[Principal, Depends(STOCK_READ)]):
    """Warehouses the caller may see (dealers: own depots; engineers: own van)."""
    rows = (await session.execute(sa.text(
        "SELECT id::text, code, name, kind, lat, lon, dealer_id, engineer_id FROM warehouses ORDER BY code")))
    return [dict(r) for r in rows.mappings() if _wh_visible(principal, r)]


@router.get("/warehouses/{warehouse_id}/stock", tags=["stock"])
async def warehouse_stock(warehouse_id: uuid.UUID, session: DbSession,
                          principal: Annotated[Principal, Depends(STOCK_READ)]):
    """On-hand, reserved and available per part in one warehouse."""
    w = await stock.warehouse(session, str(warehouse_id))
    if not _wh_visible(principal, w):
        raise NotFound(f"warehouse {warehouse_id} not found")
    rows = (await session.execute(sa.text(
        "SELECT part_no, on_hand, reserved, on_hand - reserved AS available, reorder_point FROM stock_balances "
        "WHERE warehouse_id = :w ORDER BY part_no"), {"w": str(warehouse_id)})).mappings().all()
    return out([dict(r) for r in rows])


@router.post("/stock/receipts", status_code=201, tags=["stock"])
async def receive_stock(body: Receipt, request: Request, session: DbSession,
                        principal: Annotated[Principal, Depends(CLERK)], key: IdemKey = None):
    """Goods received into a warehouse; backorders of the part are then filled in ship-by order."""
    async def run():
        await stock.warehouse(session, body.warehouse_id)
        await stock.part(session, body.part_no)
        now = _now()
        await stock.lock_parts(session, [body.part_no])
        bal = await stock.apply_movement(session, warehouse_id=body.warehouse_id, part_no=body.part_no,
                                         kind=Movement.RECEIPT, quantity=body.quantity, now=now,
                                         reason=body.reference, actor=principal.sub)
        filled = await svc.refill(session, _settings(request), body.part_no, now)
        return {"on_hand": bal["on_hand"], "backorder_lines_filled": filled}
    return await _idempotent(session, principal, key, body, 201, run)


@router.post("/stock/transfers", status_code=201, tags=["stock"])
async def transfer_stock(body: Transfer, request: Request, session: DbSession,
                         principal: Annotated[Principal, Depends(CLERK)], key: IdemKey = None):
    """Move stock between warehouses (out + in movements in one transaction); re-runs allocation."""
    async def run():
        if body.from_warehouse_id == body.to_warehouse_id:
            raise Conflict("source and destination are the same", field="to_warehouse_id", status=422)
        await stock.warehouse(session, body.from_warehouse_id)
        await stock.warehouse(session, body.to_warehouse_id)
        await stock.part(session, body.part_no)
        now = _now()
        await stock.lock_parts(session, [body.part_no])
        await stock.apply_movement(session, warehouse_id=body.from_warehouse_id, part_no=body.part_no,
                                   kind=Movement.TRANSFER_OUT, quantity=body.quantity, now=now, actor=principal.sub,
                                   ref_id=body.to_warehouse_id)
        await stock.apply_movement(session, warehouse_id=body.to_warehouse_id, part_no=body.part_no,
                                   kind=Movement.TRANSFER_IN, quantity=body.quantity, now=now, actor=principal.sub,
                                   ref_id=body.from_warehouse_id)
        filled = await svc.refill(session, _settings(request), body.part_no, now)
        return {"moved": body.quantity, "backorder_lines_filled": filled}
    return await _idempotent(session, principal, key, body, 201, run)


@router.post("/stock/adjustments", status_code=201, tags=["stock"])
async def adjust_stock(body: Adjustment, request: Request, session: DbSession,
                       principal: Annotated[Principal, Depends(CLERK)], key: IdemKey = None):
    """A counted correction (with reason) or a scrap; never below what is reserved."""
    async def run():
        await stock.warehouse(session, body.warehouse_id)
        await stock.part(session, body.part_no)
        now = _now()
        kind = Movement.SCRAP if body.kind == "scrap" else Movement.ADJUST
        if kind is Movement.SCRAP and body.quantity < 0:
            raise Conflict("scrap quantity is positive", field="quantity", status=422)
        await stock.lock_parts(session, [body.part_no])
        bal = await stock.apply_movement(session, warehouse_id=body.warehouse_id, part_no=body.part_no, kind=kind,
                                         quantity=body.quantity, now=now, reason=body.reason, actor=principal.sub)
        filled = await svc.refill(session, _settings(request), body.part_no, now) if body.quantity > 0 \
            and kind is Movement.ADJUST else 0
        return {"on_hand": bal["on_hand"], "reserved": bal["reserved"], "backorder_lines_filled": filled}
    return await _idempotent(session, principal, key, body, 201, run)


@router.put("/stock/reorder-points", tags=["stock"])
async def put_reorder_point(body: ReorderPoint, session: DbSession, _p: Annotated[Principal, Depends(CLERK)]):
    """Set a warehouse's reorder point for a part (low-stock alert threshold)."""
    await stock.warehouse(session, body.warehouse_id)
    await stock.part(session, body.part_no)
    bal = await stock.set_reorder_point(session, warehouse_id=body.warehouse_id, part_no=body.part_no,
                                        reorder_point=body.reorder_point, now=_now())
    return {**body.model_dump(), "available": bal["on_hand"] - bal["reserved"]}


@router.get("/stock/low", tags=["stock"])
async def low_stock(session: DbSession, _p: Annotated[Principal, Depends(OPS)],
                    limit: Annotated[int, Query(ge=1, le=1000)] = 200):
    """Balances below their reorder point."""
    rows = (await session.execute(sa.text(
        "SELECT warehouse_id::text, part_no, on_hand, reserved, on_hand - reserved AS available, reorder_point "
        "FROM stock_balances WHERE reorder_point > 0 AND on_hand - reserved < reorder_point "
        "ORDER BY warehouse_id, part_no LIMIT :l"), {"l": limit})).mappings().all()
    return out([dict(r) for r in rows])


# --- part requests -----------------------------------------------------------------------------
@router.post("/part-requests", status_code=201, tags=["requests"])
async def create_request(body: RequestCreate, request: Request, principal: Annotated[Principal, Depends(REQUESTERS)],
                         key: IdemKey = None):
    """Request parts (engineer for a job, dealer for itself); stock is reserved or the request is backordered.

    One database function call on the raw asyncpg pool, group-committed (allocate.py, migration parts_0003).
    An engineer's request is first checked against the job's engineer as dispatch last said (job_engineers.py)."""
    await job_engineers.check_own_job(request.app.state.pg, principal, body.job_id)
    return await allocate.create_request(request.app.state.allocations, _settings(request), principal, body, key)


def _caller_scope(principal: Principal, *, dealer_rows: str) -> tuple[list[str], dict[str, Any]]:
    """WHERE clauses limiting a listing to what the caller may see: staff all, dealers and engineers their own."""
    if principal.has(*svc.STAFF):
        return ["TRUE"], {}
    if principal.has(R.DEALER) and principal.dealer_id:
        return [dealer_rows], {"d": principal.dealer_id}
    if principal.has(R.ENGINEER) and principal.engineer_id:
        return ["engineer_id = :e"], {"e": principal.engineer_id}
    raise Forbidden("the token names no dealer or engineer")


@router.get("/part-requests", tags=["requests"])
async def list_requests(session: DbSession, principal: Annotated[Principal, Depends(REQ_READ)],
                        status: Annotated[Literal["allocated", "backordered", "shipped", "delivered", "cancelled"]
                                          | None, Query()] = None,
                        job_id: Annotated[str | None, Query(max_length=64)] = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100):
    """Requests the caller may see, newest first."""
    where, params = _caller_scope(principal, dealer_rows="(dealer_id = :d AND requester_kind = 'dealer')")
    params.update({"l": limit, "s": status, "j": job_id})
    if status:
        where.append("status = :s")
    if job_id:
        where.append("job_id = :j")
    rows = (await session.execute(sa.text(
        f"SELECT id::text, requester_kind, job_id, dealer_id, engineer_id, coverage, urgent, status, ship_by, "
        f"created_at FROM part_requests WHERE {' AND '.join(where)} ORDER BY created_at DESC LIMIT :l"),
        params)).mappings().all()
    return out([dict(r) for r in rows])


@router.get("/part-requests/{request_id}", tags=["requests"])
async def get_request(request_id: uuid.UUID, session: DbSession, principal: Annotated[Principal, Depends(REQ_READ)]):
    """One request with lines, reservations and shipment."""
    svc.check_access(principal, await svc.load(session, str(request_id)))
    return out(await svc.view(session, str(request_id)))


@router.post("/part-requests/{request_id}/payment", tags=["requests"])
async def record_payment(request_id: uuid.UUID, body: Payment, request: Request, session: DbSession,
                         _p: Annotated[Principal, Depends(PAY)]):
    """Payment received for a paid request (R-P2)."""
    await svc.record_payment(session, _settings(request), str(request_id), body.reference, _now())
    return out(await svc.view(session, str(request_id)))


@router.post("/part-requests/{request_id}/documents", tags=["requests"])
async def attach_document(request_id: uuid.UUID, body: Document, request: Request, session: DbSession,
                          principal: Annotated[Principal, Depends(REQUESTERS)]):
    """Attach the parts-replacement list or the old part's waybill (R-P3)."""
    await svc.attach_document(session, _settings(request), principal, str(request_id), body.kind, body.reference,
                              _now())
    return out(await svc.view(session, str(request_id)))


@router.post("/part-requests/{request_id}/ship", tags=["requests"])
async def ship_request(request_id: uuid.UUID, body: Shipment, request: Request, session: DbSession,
                       _p: Annotated[Principal, Depends(CLERK)]):
    """Ship an allocated request whose gates are open; the requester is notified the same day (event)."""
    drawn = await svc.ship(session, _settings(request), str(request_id), carrier=body.carrier,
                           tracking_no=body.tracking_no, standard_freight=body.standard_freight,
                           urgent_freight=body.urgent_freight, now=_now())
    # parts_budget: the R-P7 draw of a dealer's own request (enforced false: no budget for that quarter)
    return out({**await svc.view(session, str(request_id)), "parts_budget": drawn})


@router.post("/part-requests/{request_id}/deliver", tags=["requests"])
async def deliver_request(request_id: uuid.UUID, session: DbSession,
                          principal: Annotated[Principal, Depends(REQUESTERS)]):
    """Record delivery."""
    await svc.deliver(session, principal, str(request_id), _now())
    return out(await svc.view(session, str(request_id)))


@router.post("/part-requests/{request_id}/cancel", tags=["requests"])
async def cancel_request(request_id: uuid.UUID, request: Request, session: DbSession,
                         principal: Annotated[Principal, Depends(REQUESTERS)]):
    """Cancel an unshipped request and release its reservations."""
    svc.check_access(principal, await svc.load(session, str(request_id)))
    if not await svc.release_request(session, _settings(request), str(request_id), _now(), "cancelled by requester"):
        raise Conflict("request already shipped or cancelled", code="request_closed")
    return out(await svc.view(session, str(request_id)))


# --- dealer parts budget (R-P7) ------------------------------------------------------------------
@router.put("/dealers/{dealer_id}/parts-budget/{quarter}", tags=["budget"])
async def put_parts_budget(dealer_id: DealerId, quarter: QuarterPath, body: PartsBudgetPut, request: Request,
                           response: Response, session: DbSession,
                           principal: Annotated[Principal, Depends(BUDGET_SET)]):
    """Record the dealer's remittance (回款) for a quarter; the budget is ``percent`` of it (default
    PARTS_BUDGET_PERCENT). A new remittance re-computes the budget; what shipments already used stays."""
    row, created = await budget.put(session, _settings(request), dealer_id=dealer_id, quarter=quarter,
                                    remittance=body.remittance, percent=body.percent, actor=principal.sub,
                                    now=_now())
    response.status_code = 201 if created else 200
    return out(row)


@router.get("/dealers/{dealer_id}/parts-budget/{quarter}", tags=["budget"])
async def get_parts_budget(dealer_id: DealerId, quarter: QuarterPath, session: DbSession,
                           principal: Annotated[Principal, Depends(BUDGET_READ)]):
    """The dealer's parts budget for a quarter: budget, used (list-price value shipped), remaining, excess."""
    if not principal.has(*svc.STAFF) and dealer_id != principal.dealer_id:
        raise Forbidden("dealers see only their own parts budget", field="dealer_id")
    return out(await budget.get(session, dealer_id, quarter))


# --- ops -----------------------------------------------------------------------------------------
@router.get("/ops/ship-commitments", tags=["ops"])
async def ship_commitments(request: Request, session: DbSession, _p: Annotated[Principal, Depends(OPS)],
                           state: Annotated[Literal["at_risk", "breached"], Query()] = "at_risk",
                           limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    """Open requests at risk of missing (or past) their ship-by time (R-P1), earliest first."""
    return await ops.commitment_list(session, _settings(request), state, _now(), limit)


@router.get("/returns", tags=["returns"])
async def list_returns(session: DbSession, principal: Annotated[Principal, Depends(REQ_READ)],
                       status: Annotated[Literal["due", "received", "missed"] | None, Query()] = None,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100):
    """Expected old-part returns the caller may see."""
    where, params = _caller_scope(principal, dealer_rows="dealer_id = :d")
    params.update({"s": status, "l": limit})
    if status:
        where.append("status = :s")
    rows = (await session.execute(sa.text(
        f"SELECT id::text, request_id::text, job_id, dealer_id, engineer_id, part_no, quantity, old_serial, "
        f"cost_price, due_on, status, appraisal, received_at, chargeback_amount FROM expected_returns "
        f"WHERE {' AND '.join(where)} ORDER BY due_on LIMIT :l"), params)).mappings().all()
    return out([dict(r) for r in rows])


@router.post("/returns/{return_id}/receive", tags=["returns"])
async def receive_return(return_id: uuid.UUID, body: ReturnReceipt, request: Request, session: DbSession,
                         principal: Annotated[Principal, Depends(CLERK)]):
    """An old part arrived: appraisal reusable (back to stock, refurbished) or scrap (R-P4)."""
    return await ops.receive_return(session, _settings(request), str(return_id), appraisal=body.appraisal,
                                    warehouse_id=body.warehouse_id, actor=principal.sub, now=_now())


@router.get("/base-stock/suggestions", tags=["ops"])
async def base_stock(request: Request, session: DbSession, principal: Annotated[Principal, Depends(BASE)],
                     dealer_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None):
    """R-P5 base stock per compatible part from the dealer's recent registered sales."""
    if not principal.has(R.OPS, R.PARTS_CLERK, R.ADMIN):
        if dealer_id and dealer_id != principal.dealer_id:
            raise Forbidden("dealers see only their own base stock")
        dealer_id = principal.dealer_id
    if not dealer_id:
        raise Conflict("dealer_id is required", field="dealer_id", status=422)
    today = _now().astimezone(ZoneInfo(_settings(request).business_timezone)).date()
    return await ops.base_stock(session, _settings(request), dealer_id, today)
