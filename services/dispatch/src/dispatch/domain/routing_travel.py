"""Travel models of the route planner: integer distance units and whole seconds between points.

PyVRP wants integer matrices, so every model turns a pair of points into ``(distance units, seconds)`` with ONE
vectorised function; the single-leg call (:meth:`leg`) goes through that same function, so the planner's
matrices, the insertion and the verifier can never disagree by a rounding.

- :class:`HaversineTravel`: (lat, lon) points; great-circle km x road factor; metres; seconds at a zone speed.
- :class:`EuclideanTravel`: (x, y) points; ``floor(d * scale)`` distance units (``scale=10`` with truncation is the
  DIMACS convention of the Solomon / Gehring-Homberger best-known solutions) and the same number of ticks of time.
- :class:`MatrixTravel`: a given matrix (e.g. from a road-routing engine) over known points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

Point = tuple[float, float]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
EARTH_RADIUS_KM = 6371.0088


class TravelModel(Protocol):
    """Integer distance units and whole seconds between points (must satisfy ``leg(a, a) == (0, 0)``)."""

    @property
    def units_per_km(self) -> float:
        """Distance units per km: converts money per km into the solver's cost units."""
        ...

    def legs(self, a: FloatArray, b: FloatArray) -> tuple[IntArray, IntArray]:
        """Element-wise legs between two (n, 2) arrays of points: (distance units, seconds)."""
        ...

    def proximity(self, origin: Point, points: FloatArray) -> FloatArray:
        """A cheap monotone-ish closeness key (smaller = nearer) from ``origin`` to each point, for pre-filters."""
        ...


def as_points(points: Sequence[Point]) -> FloatArray:
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def leg(travel: TravelModel, a: Point, b: Point) -> tuple[int, int]:
    """One leg, through the same vectorised code as the matrices."""
    d, t = travel.legs(as_points([a]), as_points([b]))
    return int(d[0]), int(t[0])


def matrices(travel: TravelModel, points: Sequence[Point]) -> tuple[IntArray, IntArray]:
    """Full (n, n) distance and duration matrices over ``points``."""
    p = as_points(points)
    n = len(p)
    a = np.repeat(p, n, axis=0)
    b = np.tile(p, (n, 1))
    d, t = travel.legs(a, b)
    dist, dur = d.reshape(n, n), t.reshape(n, n)
    np.fill_diagonal(dist, 0)
    np.fill_diagonal(dur, 0)
    return dist, dur


def haversine_km_arrays(a: FloatArray, b: FloatArray) -> FloatArray:
    lat1, lon1 = np.radians(a[:, 0]), np.radians(a[:, 1])
    lat2, lon2 = np.radians(b[:, 0]), np.radians(b[:, 1])
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))), dtype=np.float64)


@dataclass(frozen=True)
class HaversineTravel:
    """(lat, lon) points: great-circle km x ``road_factor``, in metres, driven at ``speed_kmh``."""

    speed_kmh: float = 30.0
    road_factor: float = 1.3

    def __post_init__(self) -> None:
        if self.speed_kmh <= 0 or self.road_factor <= 0:
            raise ValueError("speed and road factor must be positive")

    @property
    def units_per_km(self) -> float:
        return 1000.0

    def legs(self, a: FloatArray, b: FloatArray) -> tuple[IntArray, IntArray]:
        km = haversine_km_arrays(a, b) * self.road_factor
        metres = np.rint(km * 1000.0).astype(np.int64)
        seconds = np.rint(km / self.speed_kmh * 3600.0).astype(np.int64)
        return metres, seconds

    def proximity(self, origin: Point, points: FloatArray) -> FloatArray:
        # equirectangular approximation: good enough to rank engineers by closeness, ~10x cheaper than haversine
        k = np.cos(np.radians(origin[0]))
        dy = points[:, 0] - origin[0]
        dx = (points[:, 1] - origin[1]) * k
        return np.asarray(dx * dx + dy * dy, dtype=np.float64)


@dataclass(frozen=True)
class EuclideanTravel:
    """(x, y) points: ``floor(d * scale)`` distance units (or rounded), and ``seconds_per_unit`` s per unit."""

    scale: float = 1.0
    seconds_per_unit: float = 1.0
    truncate: bool = True
    km_per_coordinate_unit: float = 1.0

    @property
    def units_per_km(self) -> float:
        return self.scale / self.km_per_coordinate_unit

    def legs(self, a: FloatArray, b: FloatArray) -> tuple[IntArray, IntArray]:
        d = np.sqrt(((a - b) ** 2).sum(axis=1)) * self.scale
        units = (np.floor(d) if self.truncate else np.rint(d)).astype(np.int64)
        if self.seconds_per_unit == 1.0:
            return units, units.copy()
        return units, np.rint(units * self.seconds_per_unit).astype(np.int64)

    def proximity(self, origin: Point, points: FloatArray) -> FloatArray:
        return np.asarray(((points - np.asarray(origin)) ** 2).sum(axis=1), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class MatrixTravel:
    """A given matrix over known points (``index`` maps each point to its row); unknown points raise KeyError."""

    index: Mapping[Point, int]
    distance: IntArray
    duration: IntArray
    units_per_km_: float = 1000.0
    _coords: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.index)
        if self.distance.shape != (n, n) or self.duration.shape != (n, n):
            raise ValueError("matrix shape must be (len(index), len(index))")
        coords = np.zeros((n, 2))
        for p, i in self.index.items():
            coords[i] = p
        object.__setattr__(self, "_coords", coords)

    @property
    def units_per_km(self) -> float:
        return self.units_per_km_

    def _rows(self, pts: FloatArray) -> IntArray:
        return np.fromiter((self.index[(float(x), float(y))] for x, y in pts), dtype=np.int64, count=len(pts))

    def legs(self, a: FloatArray, b: FloatArray) -> tuple[IntArray, IntArray]:
        ia, ib = self._rows(a), self._rows(b)
        return self.distance[ia, ib].astype(np.int64), self.duration[ia, ib].astype(np.int64)

    def proximity(self, origin: Point, points: FloatArray) -> FloatArray:
        i = self.index[(float(origin[0]), float(origin[1]))]
        return np.asarray(self.distance[self._rows(points), i], dtype=np.float64)
