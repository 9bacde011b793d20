"""HTTP of the parts catalogue (``/v1/catalogue/parts``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.schemas import Limit, Offset

from ..access import CanEditCatalogue, CanReadCatalogue, CanRepublishCatalogue
from . import service
from .schemas import PARTNO_PATTERN, PartCreate, PartRead, PartUpdate, ProductLine, RepublishRead

router = APIRouter(prefix="/v1/catalogue", tags=["catalogue"])
_ERRORS: dict[int | str, dict[str, Any]] = {409: {"description": "Part number taken"},
                                             422: {"description": "Invalid body or unknown part"}}
PartNoPath = Annotated[str, Path(max_length=40, pattern=PARTNO_PATTERN)]


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
async def get_part(part_no: PartNoPath, session: DbSession, _p: CanReadCatalogue) -> dict[str, Any]:
    """One part."""
    return await service.get(session, part_no)


@router.patch("/parts/{part_no}", response_model=PartRead,
              responses={404: {"description": "No such part"}, 422: {"description": "Invalid body"}})
async def update_part(part_no: PartNoPath, body: PartUpdate, session: DbSession,
                      _p: CanEditCatalogue) -> dict[str, Any]:
    """Change a part's name, product lines, prices, return rule or warranty months; ``active: false`` withdraws it,
    ``true`` reinstates it. Announced as ``parts.catalog.part_changed`` (a new version) when something changed."""
    return await service.update(session, part_no, body, now=clock.now())


@router.post("/republish", response_model=RepublishRead)
async def republish(session: DbSession, _p: CanRepublishCatalogue) -> dict[str, Any]:
    """Announce every catalogue part again as it is now (admin, one-off): for a consumer that started after the
    parts were created. Consumers keep the newest version, so a repeat changes nothing."""
    return {"published": await service.republish(session)}
