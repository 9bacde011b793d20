"""Test helper (issue 15): a service hears the parts catalogue announce a part, through its real consumer handler
and a real ``parts.catalog.part_changed`` event, in one unit of work (as its consumer would) — for tests whose
subject is not the catalogue itself but needs catalogue part numbers or list prices held by ticketing or dispatch.
Tests of the flow itself go through the parts API and Kafka."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ..db import unit_of_work
from ..events.parts import PartChanged


def part_changed(part_no: str, *, list_price: str = "100.00", version: int = 1, active: bool = True,
                 name: str | None = None, product_lines: Iterable[str] = ()) -> PartChanged:
    now = datetime.now(UTC)
    return PartChanged(aggregate_id=part_no, payload={
        "part_no": part_no, "name": name or f"part {part_no}", "list_price": list_price,
        "product_lines": list(product_lines), "parts_warranty_months": 12, "version": version, "active": active,
        "updated_at": now})


async def hear(app: Any, specs: Iterable[Any], *events: PartChanged) -> None:
    """Feed ``events`` to the app's handler of their type (``specs``: the service's ``consumer_specs(settings)``)."""
    handlers = {t: h for spec in specs for t, h in spec.handlers.items()}
    for event in events:
        async with unit_of_work(app.state.sessions) as session:
            await handlers[event.type](session, event)
