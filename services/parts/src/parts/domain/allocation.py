"""Choosing where a request line is filled from: nearest warehouse that can fill it; split if allowed.

This rule has a twin: new requests are allocated inside the database by ``parts.allocate_request``
(PL/pgSQL, migration ``parts_0003``, called from ``requests/hotpath.py``); :func:`choose` serves backorder
refill (``requests/backorders.py``). Change both together: the parity test
``tests/parts/test_allocation_path.py::test_database_choice_matches_domain_choose`` checks on random
warehouses, stock and ship-to points (with and without split) that both pick exactly the same warehouses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Candidate:
    warehouse_id: str
    lat: float
    lon: float
    available: int


def choose(
    *, quantity: int, candidates: list[Candidate], ship_to: tuple[float, float] | None, allow_split: bool = False
) -> list[tuple[str, int]]:
    """Picks for one line as (warehouse_id, quantity); empty means backorder (nothing is partially taken).

    Nearest single warehouse with enough stock wins (ties: warehouse id). Only when none can fill it
    alone and the policy allows, the line is split nearest-first across warehouses.
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")

    def distance(c: Candidate) -> tuple[float, str]:
        d = haversine_km(ship_to[0], ship_to[1], c.lat, c.lon) if ship_to else 0.0
        return (d, c.warehouse_id)

    ordered = sorted((c for c in candidates if c.available > 0), key=distance)
    for c in ordered:
        if c.available >= quantity:
            return [(c.warehouse_id, quantity)]
    if not allow_split or sum(c.available for c in ordered) < quantity:
        return []
    picks, left = [], quantity
    for c in ordered:
        take = min(c.available, left)
        picks.append((c.warehouse_id, take))
        left -= take
        if left == 0:
            break
    return picks
