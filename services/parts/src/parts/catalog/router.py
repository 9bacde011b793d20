"""HTTP of the parts catalogue (``/v1/catalogue/parts``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Limit, Offset

from ..access import CanEditCatalogue, CanReadCatalogue
from . import service
from .schemas import PARTNO_PATTERN, PartCreate, PartRead, ProductLine

router = APIRouter(prefix="/v1/catalogue", tags=["catalogue"])
_ERRORS: dict[int | str, dict[str, Any]] = {409: {"description": "Part number taken"},
                                             422: {"description": "Invalid body or unknown part"}}


@router.post("/parts", status_code=201, response_model=PartRead, responses=_ERRORS)
async def create_part(body: PartCreate, session: DbSession, _p: CanEditCatalogue) -> dict[str, Any]:
    """Add a part to the catalogue."""
    return await service.create(session, body, now=clock.now())


@router.get("/parts", response_model=list[PartRead])
async def list_parts(session: DbSession, _p: CanReadCatalogue,
                     product_line: Annotated[ProductLine | None, Query()] = None,
                     limit: Annotated[Limit, Query()] = 100,
                     offset: Annotated[Offset, Query()] = 0) -> list[dict[str, Any]]:
    """Catalogue, optionally for one product line."""
    return await service.list_parts(session, product_line=product_line, limit=limit, offset=offset)


@router.get("/parts/{part_no}", response_model=PartRead, responses=_ERRORS)
async def get_part(part_no: Annotated[str, Path(max_length=40, pattern=PARTNO_PATTERN)], session: DbSession,
                   _p: CanReadCatalogue) -> dict[str, Any]:
    """One part."""
    return await service.get(session, part_no)
