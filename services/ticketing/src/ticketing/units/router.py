"""HTTP for the installed base."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.schemas import BusinessDate

from ..access import CanReadServiceRecords, CanRegisterCards, CanWriteServiceRecords
from ..domain.warranty import UNIT
from ..fields import SERIAL_PATTERN, Address, Component, CustomerName, DealerId, Exclusion, Phone, ProductLine
from . import maintenance, service
from .schemas import (
    CardRegistration,
    DelayCreate,
    DelayRead,
    ExtensionCreate,
    ExtensionRead,
    ImportResult,
    OwnerTransfer,
    UnitChangeResult,
    UnitCreate,
    UnitDatesUpdate,
    UnitHistory,
    UnitPage,
    UnitRead,
    WarrantyRead,
)

router = APIRouter(prefix="/v1/units", tags=["installed base"])
SerialPath = Annotated[str, Path(pattern=SERIAL_PATTERN)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such unit, or not this dealer's (problem+json)"},
    409: {"description": "the unit or its card already exists (problem+json)"},
}


@router.post("", status_code=201, response_model=UnitRead, responses={409: _ERRORS[409]},
             summary="Register a unit in the installed base (call_center, admin)")
async def create_unit(body: UnitCreate, session: DbSession, p: CanWriteServiceRecords) -> Any:
    return await service.create_unit(session, unit=body, viewer=p, today=clock.business_today())


@router.post("/import", response_model=ImportResult,
             summary="Bulk import units from CSV (call_center, admin): all rows or none",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
             responses={413: {"description": "more than 10,000 rows"}})
async def import_units(request: Request, session: DbSession, _p: CanWriteServiceRecords) -> Any:
    """Header row with UnitCreate field names; at most 10,000 rows; any error rejects the whole file."""
    imported = await service.import_units(session, raw=await request.body(), today=clock.business_today())
    return {"imported": imported}


@router.get("", response_model=UnitPage,
            summary="Search units by customer, phone, address, dealer, product line (call_center, admin, ops; "
                    "dealer: own units); contact masked by role")
async def search_units(
    session: DbSession, p: CanReadServiceRecords,
    customer_name: Annotated[CustomerName | None, Query(min_length=1)] = None,
    phone: Annotated[Phone | None, Query(description="any run of at least 3 digits of the phone number")] = None,
    address: Annotated[Address | None, Query(min_length=2)] = None,
    dealer_id: DealerId | None = None, product_line: ProductLine | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Any:
    return await maintenance.search(session, viewer=p, customer_name=customer_name, phone=phone, address=address,
                                    dealer_id=dealer_id, product_line=product_line, limit=limit, offset=offset)


@router.get("/{serial}", response_model=UnitRead, responses={404: _ERRORS[404]},
            summary="One unit (call_center, admin, ops; dealer: own units)")
async def get_unit(serial: SerialPath, session: DbSession, p: CanReadServiceRecords) -> Any:
    return await service.get_unit(session, serial=serial, viewer=p)


@router.get("/{serial}/warranty", response_model=WarrantyRead, responses={404: _ERRORS[404]},
            summary="Warranty position on a date (call_center, admin, ops; dealer: own units)")
async def get_warranty(
    serial: SerialPath, session: DbSession, p: CanReadServiceRecords, on: BusinessDate | None = None,
    component: Component = UNIT,
    exclusions: Annotated[list[Exclusion], Query(max_length=20)] = [],  # noqa: B006 - FastAPI query list
) -> Any:
    return await service.warranty_of(session, serial=serial, viewer=p, on=on or clock.business_today(),
                                     component=component, exclusions=exclusions)


@router.post("/{serial}/warranty-card", response_model=UnitRead, responses=_ERRORS,
             summary="Record the returned warranty card (R-W10) (call_center, admin; dealer: own units); emits "
                     "UnitRegistered")
async def register_card(serial: SerialPath, body: CardRegistration, session: DbSession,
                        p: CanRegisterCards) -> Any:
    return await service.register_card(session, serial=serial, registered_on=body.registered_on, viewer=p)


@router.post("/{serial}/extensions", status_code=201, response_model=ExtensionRead, responses={404: _ERRORS[404]},
             summary="Sell the policy's paid extension (R-W6) (call_center, admin); emits ExtensionPurchased")
async def buy_extension(serial: SerialPath, body: ExtensionCreate, session: DbSession,
                        p: CanWriteServiceRecords) -> Any:
    return await service.buy_extension(session, serial=serial, paid_on=body.paid_on, viewer=p)


@router.post("/{serial}/delays", status_code=201, response_model=DelayRead, responses={404: _ERRORS[404]},
             summary="Record a service delay (R-W7: seller-caused delays extend the warranty) (call_center, admin)")
async def add_delay(serial: SerialPath, body: DelayCreate, session: DbSession, p: CanWriteServiceRecords) -> Any:
    return await service.add_delay(session, serial=serial, delay=body, viewer=p)


@router.patch("/{serial}/dates", response_model=UnitChangeResult, responses={404: _ERRORS[404]},
              summary="Change the delivery acceptance / installation dates (call_center, admin): audited; the open "
                      "tickets' coverage is determined again")
async def update_dates(serial: SerialPath, body: UnitDatesUpdate, session: DbSession,
                       p: CanWriteServiceRecords) -> Any:
    return await maintenance.update_dates(session, serial=serial, body=body, viewer=p,
                                          today=clock.business_today(), now=clock.now())


@router.put("/{serial}/owner", response_model=UnitChangeResult, responses={404: _ERRORS[404]},
            summary="Transfer the unit to a new owner (call_center, admin): the previous owner stays in its history")
async def transfer_owner(serial: SerialPath, body: OwnerTransfer, session: DbSession,
                         p: CanWriteServiceRecords) -> Any:
    return await maintenance.transfer_owner(session, serial=serial, body=body, viewer=p, now=clock.now())


@router.get("/{serial}/history", response_model=UnitHistory, responses={404: _ERRORS[404]},
            summary="A unit's history in one answer: tickets, repairs and parts, extensions, delays, changes "
                    "(call_center, admin, ops; dealer: own units)")
async def unit_history(serial: SerialPath, session: DbSession, p: CanReadServiceRecords) -> Any:
    return await maintenance.history(session, serial=serial, viewer=p)
