"""HTTP for product lines and warranty policies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from aftersales_shared import clock
from aftersales_shared.app import DbSession

from ..access import CanManageCatalog, CanReadServiceRecords
from ..fields import LINE_CODE_PATTERN
from . import service
from .schemas import ComponentListIn, ComponentListRead, PolicyCreate, PolicyRead, ProductLineCreate, ProductLineRead

router = APIRouter(prefix="/v1/product-lines", tags=["product lines and policies"])
LineCodePath = Annotated[str, Path(pattern=LINE_CODE_PATTERN)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such product line (problem+json)"},
    409: {"description": "the product line exists (problem+json)"},
}


@router.post("", status_code=201, response_model=ProductLineRead, responses={409: _ERRORS[409]},
             summary="Create a product line (admin)")
async def create_product_line(body: ProductLineCreate, session: DbSession, p: CanManageCatalog) -> Any:
    return await service.create_product_line(session, line=body, actor=p.sub, now=clock.now())


@router.get("", response_model=list[ProductLineRead], summary="List product lines (call_center, admin, dealer, ops)")
async def list_product_lines(session: DbSession, _p: CanReadServiceRecords) -> Any:
    return await service.list_product_lines(session)


@router.post("/{code}/policies", status_code=201, response_model=PolicyRead, responses={404: _ERRORS[404]},
             summary="Add a new warranty policy version (admin)")
async def create_policy(code: LineCodePath, body: PolicyCreate, session: DbSession, p: CanManageCatalog) -> Any:
    return await service.create_policy(session, code=code, policy=body, actor=p.sub)


@router.get("/{code}/policies", response_model=list[PolicyRead], responses={404: _ERRORS[404]},
            summary="Policy versions of a product line (call_center, admin, dealer, ops)")
async def list_policies(code: LineCodePath, session: DbSession, _p: CanReadServiceRecords) -> Any:
    return await service.list_policies(session, code=code)


@router.put("/{code}/components", response_model=ComponentListRead, responses={404: _ERRORS[404]},
            summary="Replace the product line's component list with their catalogue part numbers (admin); "
                    "announced to dispatch, which checks diagnoses against it")
async def put_components(code: LineCodePath, body: ComponentListIn, session: DbSession,
                         p: CanManageCatalog) -> Any:
    return await service.put_components(session, code=code, components=body.components, actor=p.sub,
                                        now=clock.now())


@router.get("/{code}/components", response_model=ComponentListRead, responses={404: _ERRORS[404]},
            summary="The product line's component list (call_center, admin, dealer, ops)")
async def get_components(code: LineCodePath, session: DbSession, _p: CanReadServiceRecords) -> Any:
    return await service.get_components(session, code=code)
