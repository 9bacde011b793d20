"""A unit shipped for a 三包 remedy (issue 15): ticketing's ``ticketing.unit.remedy_completed`` with a new serial
(exchange, unit replacement) becomes a part request for the whole unit, created by the one creation path
(``hotpath._allocation`` → ``parts.allocate_request``), so it is allocated, gated and clocked like any other.

The request model has no "whole unit" line: the unit is one line whose part number is the unit's catalogue number
(``unit_part_no`` of the event, else the product line code) — the catalogue must list the model as a part. It is a
warranty request created by the manufacturer (``requester_kind = clerk``, so it draws on no dealer parts budget,
R-P7) for the dealer of the unit, shipped to the ticket's address; the R-P3 gate applies as to any warranty
replacement (the replacement list and the old unit's waybill) and the R-P1 ship-by clock starts when it opens.
One request per remedy: the Idempotency-Key ``remedy:<remedy id>`` (scoped to the caller ``ticketing``) makes a
redelivered or replayed event a replay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..config import PartsSettings
from . import hotpath
from .schemas import Line, RequestCreate, ShipTo

REQUESTER = "ticketing"


async def ship_replacement_unit(session: AsyncSession, settings: PartsSettings, p: Any, *,
                                now: datetime) -> str | None:
    """The part request for the unit shipped in the old one's place; None when the remedy ships no unit."""
    if p.new_serial is None:
        return None
    body = RequestCreate(
        lines=[Line(part_no=p.unit_part_no or p.product_line, quantity=1)], coverage="warranty",
        ship_to=ShipTo(address=(p.ship_to_address or f"owner of unit {p.serial}")[:300]),
        ticket_id=p.ticket_id, dealer_id=p.dealer_id)
    _outcome, request_id = await hotpath.create_in_session(
        session, settings, body, sub=REQUESTER, key=f"remedy:{p.remedy_id}", kind="clerk", dealer_id=p.dealer_id,
        now=now)
    return request_id
